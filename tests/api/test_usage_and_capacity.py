"""GET /agents/, GET /usage/ and GET /monitoring/capacity."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from reachly.core import redis as rds
from reachly.monitoring import capacity
from reachly.orchestration.graph import StepSpec
from reachly.orchestration.models import RateLimit, Step, UsageCounter
from reachly.orchestration.services import job_start
from reachly.orchestration.usage import month_start
from tests.api.conftest import error, make_user
from tests.factories import allow

pytestmark = pytest.mark.django_db


def test_agents_lists_every_role_with_this_tenants_allocation_limits_and_usage(alice, charlie):
    allow(alice.tenant, "copywriter", monthly_limit=500, max_concurrent=3)
    allow(alice.tenant, "seo_specialist", enabled=False)
    RateLimit.objects.create(agent="copywriter", subject="steps", limit=7, period="minute")
    RateLimit.objects.create(agent="copywriter", subject="steps", limit=1, period="second", tenant=charlie.tenant)
    UsageCounter.objects.create(tenant=alice.tenant, agent="copywriter", month=month_start(), steps=12, actions=4)

    agents = {a["role"]: a for a in alice.client.get("/api/v1/agents/").json()}
    assert {"activity_planner", "copywriter", "outreach", "webhook_delivery", "notification"} <= set(agents)
    copywriter = agents["copywriter"]
    assert (copywriter["enabled"], copywriter["max_concurrent"], copywriter["monthly_limit"]) == (True, 3, 500)
    assert copywriter["limits"] == [{"subject": "steps", "limit": 7, "period": "minute", "action": "", "per": "global"}]
    assert copywriter["usage"] == {"steps": 12, "actions": 4, "llm_tokens": 0, "llm_cost": "0.000000"}
    assert copywriter["queue"] == "agent.copywriter" and copywriter["kind"] == "llm"
    assert agents["seo_specialist"]["enabled"] is False and agents["seo_specialist"]["in_plan"] is True
    assert agents["webhook_delivery"]["limits"] == [
        {"subject": "steps", "limit": 20, "period": "second", "action": "", "per": "global"},
        {"subject": "actions", "limit": 20, "period": "second", "action": "deliver", "per": "global"},
    ]


def test_usage_reports_this_month_per_agent_against_the_plans_limits(alice):
    allow(alice.tenant, "copywriter", monthly_limit=100)
    month = month_start()
    UsageCounter.objects.create(
        tenant=alice.tenant, agent="copywriter", month=month, steps=10, actions=3, llm_tokens=5000, llm_cost="1.25"
    )
    UsageCounter.objects.create(tenant=alice.tenant, agent="outreach", month=month, steps=30, actions=90)
    last_month = (month - timedelta(days=1)).replace(day=1)
    UsageCounter.objects.create(tenant=alice.tenant, agent="copywriter", month=last_month, steps=999)

    body = alice.client.get("/api/v1/usage/").json()
    assert body["month"] == month.isoformat() and body["plan"] == "agency"
    by_agent = {a["agent"]: a for a in body["agents"]}
    assert by_agent["copywriter"] | {"agent": None} == {
        "agent": None,
        "enabled": True,
        "steps": 10,
        "actions": 3,
        "llm_tokens": 5000,
        "llm_cost": "1.250000",
        "monthly_limit": 100,
        "remaining": 90,
        "percent_used": 10.0,
    }
    assert by_agent["outreach"]["steps"] == 30 and by_agent["outreach"]["monthly_limit"] is None
    totals = body["totals"]
    assert (totals["steps"], totals["actions"], totals["llm_tokens"], totals["llm_cost"]) == (40, 93, 5000, "1.250000")
    assert (totals["monthly_step_limit"], totals["steps_remaining"]) == (200_000, 199_960)
    assert Decimal(totals["llm_budget"]) == 1000 and Decimal(totals["llm_budget_remaining"]) == Decimal("998.75")
    assert isinstance(date.fromisoformat(body["month"]), date)


def _steps(tenant, n: int, status: str, agent: str = "test", due_ago: float = 0.0, **fields):
    job = job_start(tenant=tenant, steps=[StepSpec(f"{status}{i}", agent) for i in range(n)])
    Step.objects.filter(job=job).update(
        status=status, next_attempt_at=timezone.now() - timedelta(seconds=due_ago), **fields
    )
    return job


def _announce_worker(hostname: str, queues: list[str], concurrency: int = 4) -> None:
    info = {"hostname": hostname, "pid": 1234, "queues": queues, "concurrency": concurrency, "seen": 0}
    info["seen"] = timezone.now().timestamp()
    rds.client().set(rds.key("workers", hostname), json.dumps(info), ex=15)


def test_a_tenant_sees_its_own_steps_and_no_worker_hosts(alice, charlie):
    _steps(alice.tenant, 2, "running")
    _steps(alice.tenant, 1, "enqueued")
    _steps(charlie.tenant, 5, "running")
    _steps(alice.tenant, 3, "ready", due_ago=-600, wait_reason="not admitted: monthly limit reached")
    _announce_worker("general@host-a", ["agent.test"])

    response = alice.client.get("/api/v1/monitoring/capacity")
    assert response.status_code == 200
    body = response.json()
    assert body["scope"] == {"all_tenants": False, "tenant": "alice-co"}
    assert body["active"] == [
        {"agent": "test", "tenant": "alice-co", "tenant_id": alice.tenant.pk, "enqueued": 1, "running": 2}
    ]
    test_queue = next(q for q in body["queues"] if q["name"] == "agent.test")
    queue_counts = (test_queue["running"], test_queue["enqueued"], test_queue["scheduled"], test_queue["waiting"])
    assert queue_counts == (2, 1, 3, 3)
    assert test_queue["consumers"] == 4
    assert body["limits"][0]["steps"] == 3 and "monthly limit" in body["limits"][0]["reason"]
    assert [(t["slug"], t["running"], t["waiting"]) for t in body["tenants"]] == [("alice-co", 2, 3)]
    assert body["workers"] == [] and body["workers_live"] == 1
    messages = body["recommendations"]
    assert any("this month's limit" in m for m in messages), messages
    assert "charlie-co" not in response.content.decode()


def test_staff_see_every_tenant_the_infrastructure_and_advice(alice, charlie, broker_client):
    _steps(alice.tenant, 1, "running")
    _steps(charlie.tenant, 2, "running")
    _steps(charlie.tenant, 120, "ready", due_ago=900)  # a backlog, due for 15 minutes
    _announce_worker("general@host-a", ["agent.test"], concurrency=2)
    from reachly.celery import app

    before = capacity.snapshot()
    with app.producer_or_acquire() as producer:
        app.send_task("reachly.noop", queue="agent.test", producer=producer)
    staff = APIClient()
    staff.force_login(make_user("operator", is_staff=True))
    body = staff.get("/api/v1/monitoring/capacity").json()

    assert body["scope"] == {"all_tenants": True, "tenant": None}
    assert {(a["tenant"], a["running"]) for a in body["active"]} == {("alice-co", 1), ("charlie-co", 2)}
    test_queue = next(q for q in body["queues"] if q["name"] == "agent.test")
    before_depth = next(q for q in before["queues"] if q["name"] == "agent.test")["depth"]
    assert test_queue["depth"] == before_depth + 1
    assert test_queue["ready"] == 120 and test_queue["oldest_ready_seconds"] >= 600
    backlog = [(t["slug"], t["ready"], t["running"]) for t in body["tenants"]]
    assert backlog == [("charlie-co", 120, 2), ("alice-co", 0, 1)]
    assert [w["hostname"] for w in body["workers"]] == ["general@host-a"]
    db = body["database"]
    assert db["connections"] >= 1 and db["max_connections"] >= db["connections"] and db["status"] == "healthy"
    assert body["redis"]["connected_clients"] >= 1
    messages = body["recommendations"]
    assert any(m.startswith("agent.test backlog 120 > 100 for 15 min: add general workers") for m in messages), messages
    # Nobody consumes control here: that is the first thing to fix.
    assert messages[0].startswith("no live worker consumes control") and body["status"] == "critical"


def test_the_capacity_selector_flags_a_queue_nobody_consumes(plans):
    from tests.factories import TenantFactory

    tenant = TenantFactory()
    _steps(tenant, 3, "ready", agent="copywriter", due_ago=60)
    snap = capacity.snapshot()
    assert any(
        m.startswith("agent.copywriter: 3 steps waiting and no live worker consumes it: start the general")
        for m in snap["recommendations"]
    ), snap["recommendations"]
    assert capacity.snapshot(tenant=tenant)["scope"]["tenant"] == tenant.slug


def test_capacity_needs_a_tenant_or_staff(plans):
    client = APIClient()
    client.force_login(make_user("stranger"))
    response = client.get("/api/v1/monitoring/capacity")
    assert response.status_code == 403 and error(response)["code"] == "permission_denied"
