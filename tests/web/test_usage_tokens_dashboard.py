"""The usage charts (pictures from the event log and the LLM calls), API
tokens (the key shown once), and the dashboard."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from reachly import limiter
from reachly.llm.models import LLMCall
from reachly.llm.services import llm_call_record
from reachly.orchestration.graph import StepSpec
from reachly.orchestration.models import Event, Job, Step
from reachly.orchestration.services import job_start
from reachly.tenants.models import ApiToken
from tests.factories import SenderAccountFactory
from tests.web.conftest import field_errors

pytestmark = pytest.mark.django_db


def event(job: Job, seq: int, kind: str, when, **data) -> None:
    Event.objects.create(job=job, tenant_id=job.tenant_id, seq=seq, type=kind, data=data, ts=when)


def bars(html: str, chart: str) -> list[str]:
    """The aria-labels of one chart's bars (one per day)."""
    start = html.index(f">{chart} <span")
    section = html[start : html.index("</figure>", start)]
    return re.findall(r'<a href="\?day=[^"]+" aria-label="([^"]+)"', section)


def test_usage_draws_30_days_of_steps_actions_tokens_and_cost(alice, alices_world):
    job = alices_world.job
    now = timezone.now()
    yesterday = now - timedelta(days=1)
    event(job, 100, "step.status", now, key="a", agent="test", status="succeeded")
    event(job, 101, "step.status", now, key="b", agent="test", status="failed")
    event(job, 102, "step.status", yesterday, key="c", agent="copywriter", status="succeeded")
    event(job, 103, "step.status", now, key="d", agent="test", status="running")  # not a finished step
    event(job, 104, "lead.status_changed", now, lead=1, status="invited")
    event(job, 105, "lead.status_changed", now, lead=1, status="messaged")
    event(job, 106, "lead.status_changed", now, lead=1, status="skipped")  # not an action
    llm_call_record(
        tenant_id=alice.tenant.pk, agent="copywriter", provider="openai", model="gpt", outcome="ok",
        prompt_tokens=1000, completion_tokens=500, cost=Decimal("0.0125"), job_id=job.pk,
    )  # fmt: skip
    llm_call_record(tenant_id=alice.tenant.pk, agent="copywriter", provider="openai", model="gpt", outcome="error")

    html = alice.client.get("/usage/").content.decode()
    assert html.count("<svg viewBox=") == 4
    steps = bars(html, "Steps finished")
    assert len(steps) == 30
    assert steps[-1].endswith("Succeeded 1, Failed 1") and steps[-2].endswith("Succeeded 1, Failed 0")
    assert bars(html, "Outreach actions")[-1].endswith("Invitations 1, Messages 1")
    assert bars(html, "LLM tokens")[-1].endswith("Tokens 1,500")
    assert bars(html, "LLM cost")[-1].endswith("Cost $0.0125")
    # Today is selected: its breakdown per agent.
    breakdown = html[html.index("data-day-breakdown") :]
    assert '<td>copywriter</td><td class="num">0</td><td class="num">0</td><td class="num">1</td>' in breakdown

    day = (timezone.localdate() - timedelta(days=1)).isoformat()
    html = alice.client.get(f"/usage/?day={day}").content.decode()
    assert 'aria-current="date"' in html
    assert "1 step succeeded · 0 failed" in html


def test_usage_of_another_tenant_never_shows(alice, charlie, charlies_world):
    event(charlies_world.job, 100, "step.status", timezone.now(), key="a", agent="test", status="succeeded")
    html = alice.client.get("/usage/").content.decode()
    assert bars(html, "Steps finished")[-1].endswith("Succeeded 0, Failed 0")


def test_a_day_outside_the_30_days_is_refused_in_words(alice):
    response = alice.client.get("/usage/?day=2001-01-01")
    assert response.status_code == 200
    assert b"Choose a day between" in response.content
    assert b"Enter a valid date." in alice.client.get("/usage/?day=someday").content


def test_a_new_token_key_is_shown_once_and_works_on_the_api(alice):
    response = alice.client.post("/api-tokens/", {"name": "CRM sync"})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    key = re.search(r'id="new-key" type="text" value="(rly_[^"]+)"', response.content.decode())[1]
    api = Client(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/campaigns/").status_code == 200
    page = alice.client.get("/api-tokens/").content.decode()
    assert key not in page and "CRM sync" in page
    token = ApiToken.objects.get(tenant=alice.tenant, name="CRM sync")
    assert f"rly_{token.prefix}_…" in page
    # Revoked: the API refuses it at once.
    response = alice.client.post(f"/api-tokens/{token.pk}/revoke", follow=True)
    assert b"revoked" in response.content
    assert api.get("/api/v1/campaigns/").status_code == 401


def test_a_token_needs_a_name(alice):
    response = alice.client.post("/api-tokens/", {"name": ""})
    assert response.status_code == 400
    assert "This field is required." in field_errors(response, "name")
    assert not ApiToken.objects.filter(tenant=alice.tenant).exists()


def test_the_dashboard_shows_running_jobs_failures_and_todays_caps(alice, alices_world, charlies_world):
    failed_job = job_start(tenant=alice.tenant, steps=[StepSpec("only", "test")], name="Broken import")
    Step.objects.filter(job=failed_job).update(status="failed", error={"type": "PermanentError", "message": "bad CSV"})
    Job.objects.filter(pk=failed_job.pk).update(status="failed", failed_steps=1)
    account = SenderAccountFactory(tenant=alice.tenant, name="Mia", daily_message_cap=10)
    for _ in range(10):
        limiter.acquire([limiter.calendar_day(f"account:{account.pk}:message", 10, account.timezone)])

    html = alice.client.get("/").content.decode()
    running = html[html.index("data-running-jobs") : html.index("data-running-empty")]
    assert f'data-job-row="{alices_world.job.pk}"' in running
    assert f'data-job-row="{failed_job.pk}"' not in running
    assert f'data-job-row="{charlies_world.job.pk}"' not in html
    assert "Broken import" in html and "PermanentError: bad CSV" in html
    assert re.search(r'<div class="meter" data-level="full">\s*<span>Messages</span>', html)
    assert "10 / 10" in html
    assert re.search(r"data-running-count>1<", html)


def test_llm_calls_that_failed_cost_nothing_on_the_charts(alice):
    llm_call_record(tenant_id=alice.tenant.pk, agent="copywriter", provider="x", model="y", outcome="rate_limited")
    assert LLMCall.objects.count() == 1
    html = alice.client.get("/usage/").content.decode()
    assert bars(html, "LLM tokens")[-1].endswith("Tokens 0")
