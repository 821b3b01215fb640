"""LLM steps through the control plane, on real Celery workers.

Providers are a real local HTTP server speaking the OpenAI and Anthropic
wire formats (tests/llm/fake_server.py); the workers get its URLs through
their environment, like any deployment would.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from agents.llm import pricing, prompts, tokens
from agents.llm.roles import _lead_for_prompt, topic_of
from reachly.campaigns.jobs import campaign_job_start
from reachly.llm.models import LLMCall
from reachly.llm.services import tenant_llm_budget_set
from reachly.orchestration import usage
from reachly.orchestration.graph import StepSpec
from reachly.orchestration.models import Effect, Step, StepAttempt, UsageCounter
from reachly.orchestration.services import job_start
from reachly.tenants.models import Plan
from tests.conftest import wait_for
from tests.factories import CampaignFactory, LeadFactory, TenantFactory, allow
from tests.helpers import step_statuses, wait_job
from tests.llm.fake_server import FakeLLMServer, Reply

pytestmark = pytest.mark.workers

BRIEF = "Talk to engineering leaders about data pipelines."


@pytest.fixture
def server():
    s = FakeLLMServer().start()
    yield s
    s.stop()


def _copy_job(tenant, n_leads=2, **lead_fields):
    campaign = CampaignFactory(tenant=tenant, brief=BRIEF)
    leads = [LeadFactory(campaign=campaign, **lead_fields) for _ in range(n_leads)]
    job = job_start(
        tenant=tenant,
        campaign=campaign,
        steps=[
            StepSpec(
                "write-copy",
                "copywriter",
                {"campaign": campaign.id, "brief": BRIEF, "leads": [lead.id for lead in leads]},
            )
        ],
    )
    return job, leads


def _waiting(step_filter, text):
    def check():
        step = Step.objects.get(**step_filter)
        return step if step.status == "ready" and text in step.wait_reason else None

    return check


def test_a_429_from_the_primary_completes_the_step_on_the_fallback_billed_once_across_a_retry(workers, server):
    """OpenAI answers 429 (Retry-After: 30): the chain goes on to Anthropic.
    Anthropic answers lead 1, then is down (500) for lead 2: the step fails
    its attempt and is retried; lead 1 is not asked or billed again."""
    server.script("openai", [], default=Reply(429, retry_after=30))
    server.script("anthropic", [Reply(), Reply(500), Reply(500)], default=Reply())
    env = {
        "REACHLY_LLM_CHAIN": "openai,anthropic",
        "REACHLY_LLM_OPENAI_BASE_URL": server.url("openai"),
        "REACHLY_LLM_ANTHROPIC_BASE_URL": server.url("anthropic"),
        "OPENAI_API_KEY": "sk-test",
        "ANTHROPIC_API_KEY": "ak-test",
        "REACHLY_LLM_INLINE_RETRIES": "1",
        "REACHLY_LLM_INLINE_RETRY_MAX_SECONDS": "1",
    }
    workers.start(["control"], beat=True)
    workers.start("agent.copywriter", extra_env=env)
    tenant = TenantFactory()
    job, leads = _copy_job(tenant)

    wait_job(job, timeout=90)

    step = Step.objects.get(job=job, key="write-copy")
    assert step.attempts == 1  # one failed attempt (Anthropic down for lead 2), then success
    assert set(step.output["notes"]) == {str(lead.id) for lead in leads}
    assert all(len(note) <= 300 for note in step.output["notes"].values())
    # The primary was asked once; its 429 sent this process to the fallback.
    assert len(server.received("openai")) == 1
    # Anthropic: lead 1 once; lead 2 twice down (one inline retry), then once more.
    assert [r["status"] for r in server.received("anthropic")] == [200, 500, 500, 200]
    for lead in leads:
        asked = [r for r in server.received("anthropic") if f'"id": {lead.id},' in r["body"]["messages"][0]["content"]]
        assert len([r for r in asked if r["status"] == 200]) == 1

    calls = list(LLMCall.objects.filter(step=step).order_by("id"))
    assert [(c.provider, c.outcome, c.fallback) for c in calls] == [
        ("openai", "rate_limited", False),
        ("anthropic", "ok", True),
        ("anthropic", "unavailable", True),
        ("anthropic", "ok", True),
    ]
    paid = [c for c in calls if c.outcome == "ok"]
    assert {(c.prompt_tokens, c.completion_tokens, c.model) for c in paid} == {(100, 50, "claude-3-5-haiku-20241022")}
    each = pricing.cost("claude-3-5-haiku-20241022", 100, 50)
    assert [c.cost for c in paid] == [each, each]
    counter = UsageCounter.objects.get(tenant=tenant, agent="copywriter", month=usage.month_start())
    assert (counter.llm_tokens, counter.llm_cost) == (300, 2 * each)
    assert Effect.objects.filter(step=step, state="done").count() == 2


def test_a_tokens_per_minute_denial_makes_the_step_wait_not_fail(workers):
    workers.start(["control"], beat=True)
    workers.start("agent.copywriter")
    tenant = TenantFactory()
    job, leads = _copy_job(tenant, first_name="Ann", last_name="Lee", company="Acme", title="CTO")
    lead = {"id": leads[0].id, "first_name": "Ann", "last_name": "Lee", "title": "CTO", "company": "Acme"}
    system, user = prompts.render(
        "copywriter.outreach", {"lead": _lead_for_prompt(lead), "topic": topic_of({"brief": BRIEF}), "brief": BRIEF}
    )
    reserve = tokens.estimate_messages(system, [{"role": "user", "content": user}]) + 400
    # Room for one call per minute, not two.
    Plan.objects.filter(code="agency").update(llm_tokens_per_minute=int(reserve * 1.5))

    step = wait_for(_waiting({"job": job, "key": "write-copy"}, "LLM tokens per minute on local"), timeout=60)

    assert step.attempts == 0 and step.error is None
    assert StepAttempt.objects.filter(step=step, outcome="rate_limited").exists()
    assert step.next_attempt_at > timezone.now()
    assert LLMCall.objects.filter(step=step, outcome="ok").count() == 1
    job.refresh_from_db()
    assert job.status == "running"

    # A bigger plan, and the step is due again (instead of waiting a minute).
    Plan.objects.filter(code="agency").update(llm_tokens_per_minute=100_000)
    Step.objects.filter(pk=step.pk).update(next_attempt_at=timezone.now())
    wait_job(job, timeout=60)
    assert LLMCall.objects.filter(step=step, outcome="ok").count() == 2  # lead 1 not paid again
    counter = UsageCounter.objects.get(tenant=tenant, agent="copywriter")
    assert counter.llm_tokens == sum(c.prompt_tokens + c.completion_tokens for c in LLMCall.objects.filter(step=step))


def test_a_spent_monthly_budget_makes_llm_steps_wait_until_it_is_raised(workers):
    workers.start(["control"], beat=True)
    workers.start("agent.copywriter")
    tenant = TenantFactory(llm_monthly_budget=Decimal("1.00"))
    usage.add(tenant.id, "copywriter", llm_tokens=1000, llm_cost=Decimal("1.50"))
    job, _leads = _copy_job(tenant, n_leads=1)

    step = wait_for(_waiting({"job": job, "key": "write-copy"}, "monthly LLM budget"), timeout=60)

    assert step.wait_reason == (
        "rate limited by monthly LLM budget: $1.50 of $1.00 spent; "
        "LLM steps wait until the budget is raised or the month turns"
    )
    assert step.attempts == 0 and not LLMCall.objects.filter(tenant=tenant).exists()
    assert (step.next_attempt_at - timezone.now()).total_seconds() > 60

    tenant_llm_budget_set(tenant, Decimal("10.00"))
    wait_job(job, timeout=60)
    assert LLMCall.objects.filter(tenant=tenant, outcome="ok").count() == 1


def test_the_planners_graph_runs_end_to_end_on_the_local_provider(workers):
    workers.start(["control"], beat=True)
    workers.start(["agent.activity_planner", "agent.copywriter", "agent.data_analyst"], concurrency=2)
    tenant = TenantFactory()  # Agency: the planner is enabled
    campaign = CampaignFactory(tenant=tenant, brief=BRIEF)  # leads, no sender accounts
    leads = [LeadFactory(campaign=campaign) for _ in range(3)]

    job = campaign_job_start(campaign)
    wait_job(job, timeout=90)

    assert step_statuses(job) == {"plan": "succeeded", "write-copy": "succeeded", "summarise": "succeeded"}
    steps = {s.key: s for s in Step.objects.filter(job=job)}
    assert steps["plan"].output["keys"] == ["write-copy", "summarise"]
    assert steps["summarise"].depends_on == ["write-copy"]
    notes = steps["write-copy"].output["notes"]
    for lead in leads:
        assert lead.first_name in notes[str(lead.id)] and len(notes[str(lead.id)]) <= 300
    summary = steps["summarise"].output
    assert summary["metrics"]["leads"]["total"] == 3
    assert summary["summary"].startswith(f'Job "{campaign.name}": ')
    calls = LLMCall.objects.filter(job=job)
    assert {(c.agent, c.provider, c.outcome) for c in calls} == {
        ("activity_planner", "local", "ok"),
        ("copywriter", "local", "ok"),
        ("data_analyst", "local", "ok"),
    }
    assert calls.count() == 1 + 3 + 1
    counters = {c.agent: c for c in UsageCounter.objects.filter(tenant=tenant)}
    for agent in ("activity_planner", "copywriter", "data_analyst"):
        billed = sum(c.prompt_tokens + c.completion_tokens for c in calls.filter(agent=agent))
        assert counters[agent].llm_tokens == billed > 0 and counters[agent].llm_cost == 0
    job.refresh_from_db()
    assert (job.total_steps, job.succeeded_steps) == (3, 3)


def test_a_planner_answering_invalid_json_is_reprompted_then_rejected_with_a_clear_error(workers, server):
    answer = Reply(text="Sure! First, write copy. Then reach out to everyone.", model="gpt-4.1-mini-2025-04-14")
    server.script("openai", [], default=answer)
    env = {"REACHLY_LLM_CHAIN": "openai", "REACHLY_LLM_OPENAI_BASE_URL": server.url("openai")}
    workers.start(["control"], beat=True)
    workers.start("agent.activity_planner", extra_env=env)
    tenant = TenantFactory()
    allow(tenant, "activity_planner", model_override="gpt-4.1-mini")
    campaign = CampaignFactory(tenant=tenant, brief=BRIEF)
    LeadFactory(campaign=campaign)

    job = campaign_job_start(campaign)
    wait_job(job, "failed", timeout=60)

    step = Step.objects.get(job=job, key="plan")
    assert step.status == "failed" and step.attempts == 1  # permanent: not retried
    assert step.error["type"] == "PermanentError" and not step.error["retryable"]
    assert step.error["message"].startswith(
        "planner.graph: the model's answer was still invalid after 3 tries: the answer is not JSON"
    )
    assert step.error["details"]["tries"] == 3
    sent = server.received("openai")
    assert len(sent) == 3 and {r["body"]["model"] for r in sent} == {"gpt-4.1-mini"}
    assert "That answer was invalid" in sent[2]["body"]["messages"][-1]["content"]
    # Each answer was paid for (the provider did answer), once.
    calls = LLMCall.objects.filter(step=step)
    assert [(c.outcome, c.model) for c in calls] == [("ok", "gpt-4.1-mini-2025-04-14")] * 3
    assert {c.cost for c in calls} == {pricing.cost("gpt-4.1-mini", 100, 50)} != {Decimal(0)}
    assert list(step_statuses(job)) == ["plan"]  # nothing was added to the job
