"""LLM accounting in PostgreSQL, and how a campaign's job starts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from reachly.campaigns.jobs import campaign_job_start
from reachly.llm.models import LLMCall
from reachly.llm.selectors import llm_call_completion, llm_settings
from reachly.llm.services import llm_budget_release, llm_call_record, tenant_llm_budget_set
from reachly.orchestration.graph import GraphError, StepSpec
from reachly.orchestration.models import Step, UsageCounter
from reachly.orchestration.services import job_start
from reachly.tenants.models import Plan
from tests.factories import CampaignFactory, LeadFactory, SenderAccountFactory, TenantFactory, allow

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(plans):
    return TenantFactory(slug="alice")


def _step(tenant, agent="copywriter"):
    job = job_start(tenant=tenant, steps=[StepSpec("write-copy", agent, {"leads": []})])
    return Step.objects.get(job=job)


def test_a_successful_call_is_recorded_and_billed_once_even_if_recorded_twice(alice):
    step = _step(alice)
    call = dict(
        tenant_id=alice.id,
        job_id=step.job_id,
        step_id=step.id,
        agent="copywriter",
        provider="openai",
        model="gpt-4o-mini",
        outcome="ok",
        prompt_tokens=100,
        completion_tokens=50,
        cost="0.000045",
        effect_key="llm:copy:1:0",
        completion='{"note": "hi"}',
    )
    first = llm_call_record(**call)
    again = llm_call_record(**call)
    assert first == again
    assert LLMCall.objects.filter(outcome="ok").count() == 1
    usage = UsageCounter.objects.get(tenant=alice, agent="copywriter")
    assert (usage.llm_tokens, usage.llm_cost) == (150, Decimal("0.000045"))
    # The effect ledger's verify finds the completion after a crash.
    assert llm_call_completion(step.id, "llm:copy:1:0")["text"] == '{"note": "hi"}'
    assert llm_call_completion(step.id, "llm:copy:2:0") is None


def test_refused_calls_are_recorded_but_not_billed(alice):
    step = _step(alice)
    for _ in range(2):
        llm_call_record(
            tenant_id=alice.id,
            step_id=step.id,
            agent="copywriter",
            provider="openai",
            model="gpt-4o-mini",
            outcome="rate_limited",
            error="HTTP 429",
        )
    assert LLMCall.objects.filter(outcome="rate_limited").count() == 2
    assert not UsageCounter.objects.filter(tenant=alice).exclude(llm_tokens=0).exists()


def test_llm_settings_carry_the_plan_budget_and_the_allocation_overrides(alice):
    allow(alice, "copywriter", model_override="gpt-4o", adapter_override="anthropic,local")
    settings = llm_settings(alice.id, "copywriter")
    assert settings["tokens_per_minute"] == Plan.objects.get(code="agency").llm_tokens_per_minute
    assert (settings["budget"], settings["spent"]) == ("1000.00", "0")
    assert (settings["model_override"], settings["chain_override"]) == ("gpt-4o", "anthropic,local")
    assert settings["chain"] == ["local"]


def test_raising_the_budget_releases_the_steps_waiting_for_it(alice):
    step = _step(alice)
    Step.objects.filter(pk=step.pk).update(
        status="ready",
        wait_reason="rate limited by monthly LLM budget: $5.00 of $5.00 spent",
        next_attempt_at="2099-01-01T00:00:00Z",
    )
    other = _step(alice, agent="test")
    Step.objects.filter(pk=other.pk).update(
        status="ready", wait_reason="retry after error", next_attempt_at="2099-01-01T00:00:00Z"
    )
    tenant_llm_budget_set(alice, Decimal("50"))
    alice.refresh_from_db()
    assert alice.effective_llm_budget == Decimal("50")
    step.refresh_from_db()
    other.refresh_from_db()
    assert step.next_attempt_at.year < 2099 and other.next_attempt_at.year == 2099
    assert llm_budget_release(alice.id) == 1


# -- campaign_job_start --------------------------------------------------------------


def test_without_the_planner_a_campaign_gets_the_default_graph(plans):
    tenant = TenantFactory(plan=Plan.objects.get(code="pro"))  # no activity_planner on Pro
    campaign = CampaignFactory(tenant=tenant, settings={"batch_size": 2})
    a1, a2 = SenderAccountFactory(tenant=tenant), SenderAccountFactory(tenant=tenant)
    campaign.sender_accounts.set([a1, a2])
    leads = [LeadFactory(campaign=campaign).id for _ in range(5)]

    job = campaign_job_start(campaign, priority=10)

    steps = {s.key: s for s in Step.objects.filter(job=job)}
    assert set(steps) == {
        "write-copy",
        f"invite-{a1.id}-1",
        f"follow-up-{a1.id}-1",
        f"invite-{a1.id}-2",
        f"follow-up-{a1.id}-2",
        f"invite-{a2.id}-1",
        f"follow-up-{a2.id}-1",
        "summarise",
    }
    assert steps["write-copy"].input == {"campaign": campaign.id, "brief": campaign.brief, "leads": leads}
    invite = steps[f"invite-{a2.id}-1"]
    assert (invite.agent, invite.sender_account_id, invite.depends_on) == ("outreach", a2.id, ["write-copy"])
    assert invite.input == {"action": "invite", "leads": [leads[1], leads[3]], "notes_from": "write-copy"}
    follow = steps[f"follow-up-{a2.id}-1"]
    assert follow.input == {"action": "follow_up", "leads": [leads[1], leads[3]], "messages_from": "write-copy"}
    assert follow.depends_on == sorted([invite.key, "write-copy"])
    assert len(steps["summarise"].depends_on) == 6
    assert (job.campaign_id, job.total_steps, job.priority) == (campaign.id, 8, 10)


def test_with_the_planner_a_campaign_starts_with_one_urgent_planner_step(alice):
    campaign = CampaignFactory(tenant=alice)
    account = SenderAccountFactory(tenant=alice)
    campaign.sender_accounts.set([account])
    leads = [LeadFactory(campaign=campaign).id for _ in range(3)]

    job = campaign_job_start(campaign)

    (step,) = Step.objects.filter(job=job)
    assert (step.key, step.agent, step.priority, step.status) == ("plan", "activity_planner", 1, "ready")
    assert step.input == {
        "campaign": campaign.id,
        "brief": campaign.brief,
        "leads": leads,
        "sender_accounts": [account.id],
        "batch_size": 5,
    }


def test_a_campaign_without_leads_or_with_a_bad_batch_size_is_refused_naming_why(alice):
    campaign = CampaignFactory(tenant=alice)
    with pytest.raises(GraphError) as caught:
        campaign_job_start(campaign)
    assert caught.value.errors == {"leads": "the campaign has no leads: import some first"}
    LeadFactory(campaign=campaign)
    campaign.settings = {"batch_size": "lots"}
    with pytest.raises(GraphError) as caught:
        campaign_job_start(campaign)
    assert "settings.batch_size" in caught.value.errors
