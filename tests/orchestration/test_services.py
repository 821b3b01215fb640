"""The service API: validation that names the field, and the job state machine."""

import pytest

from reachly.orchestration import graph
from reachly.orchestration.graph import GraphError, StepSpec
from reachly.orchestration.models import Event, Step
from reachly.orchestration.services import (
    job_cancel,
    job_extend,
    job_pause,
    job_resume,
    job_start,
    step_retry,
)
from reachly.orchestration.states import IllegalTransition
from reachly.tenants.models import Plan
from tests.factories import SenderAccountFactory, TenantFactory, test_steps

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _plans(plans):
    pass


def test_a_job_and_its_steps_are_created_together_with_dependencies_linked():
    job = job_start(
        tenant=TenantFactory(),
        steps=[
            StepSpec("a", "test"),
            StepSpec("b", "test", depends_on=["a"]),
            StepSpec("c", "test", depends_on=["a", "b"]),
        ],
    )
    steps = {s.key: s for s in Step.objects.filter(job=job)}
    assert steps["a"].status == "ready" and steps["b"].status == "blocked"
    assert (steps["b"].pending_deps, steps["c"].pending_deps) == (1, 2)
    assert sorted(steps["a"].downstream) == sorted([steps["b"].id, steps["c"].id])
    assert job.total_steps == 3
    assert list(Event.objects.filter(job=job).values_list("seq", "type")) == [(1, "job.status")]


@pytest.mark.parametrize(
    ("steps", "field", "message"),
    [
        ([], "steps", "at least one step"),
        ([{"key": "a", "agent": "nope"}], "steps[0].agent", "unknown agent"),
        ([{"key": "a", "agent": "test"}, {"key": "a", "agent": "test"}], "steps[1].key", "duplicate key"),
        ([{"key": "a", "agent": "test", "depends_on": ["zz"]}], "steps[0].depends_on", "unknown step key"),
        ([{"key": "a", "agent": "test", "priority": 3}], "steps[0].priority", "1 (urgent)"),
        ([{"key": "a", "agent": "test", "colour": "red"}], "steps[0].colour", "unknown field"),
        ([{"agent": "test"}], "steps[0].key", "required"),
        (
            [
                {"key": "a", "agent": "test", "depends_on": ["b"]},
                {"key": "b", "agent": "test", "depends_on": ["a"]},
            ],
            "steps[0].depends_on",
            "cycle",
        ),
    ],
)
def test_an_invalid_graph_is_rejected_naming_the_field(steps, field, message):
    with pytest.raises(GraphError) as err:
        job_start(tenant=TenantFactory(), steps=graph.from_dicts(steps))
    assert field in err.value.errors
    assert message in err.value.errors[field]


def test_agents_outside_the_plan_and_foreign_accounts_are_refused():
    free = TenantFactory(plan=Plan.objects.get(code="free"))
    other_tenants_account = SenderAccountFactory()
    with pytest.raises(GraphError) as err:
        job_start(
            tenant=free,
            steps=[
                StepSpec("plan", "activity_planner"),
                StepSpec("go", "test", sender_account_id=other_tenants_account.id),
                StepSpec("reach", "outreach"),
            ],
        )
    assert "not enabled" in err.value.errors["steps[0].agent"]
    assert "no sender account" in err.value.errors["steps[1].sender_account"]
    assert "needs a sender account" in err.value.errors["steps[2].sender_account"]


def test_the_job_state_machine_refuses_illegal_transitions_with_the_reason():
    job = job_start(tenant=TenantFactory(), steps=test_steps(2))
    with pytest.raises(IllegalTransition, match="cannot resume a job that is running"):
        job_resume(job)
    job_pause(job)
    assert set(Step.objects.filter(job=job).values_list("status", flat=True)) == {"paused"}
    job_resume(job)
    assert set(Step.objects.filter(job=job).values_list("status", flat=True)) == {"ready"}
    job_cancel(job)
    assert set(Step.objects.filter(job=job).values_list("status", flat=True)) == {"cancelled"}
    with pytest.raises(IllegalTransition, match="cannot resume a job that is cancelled"):
        job_resume(job)
    with pytest.raises(IllegalTransition):
        job_pause(job)


def test_retrying_a_failed_step_reopens_its_failed_job():
    job = job_start(tenant=TenantFactory(), steps=test_steps(1))
    step = Step.objects.get(job=job)
    Step.objects.filter(pk=step.pk).update(status="failed", attempts=5, error={"message": "boom"})
    type(job).objects.filter(pk=job.pk).update(status="failed", failed_steps=1)
    job.refresh_from_db()

    step_retry(step)
    step.refresh_from_db()
    job.refresh_from_db()
    assert (step.status, step.attempts, step.error) == ("ready", 0, None)
    assert (job.status, job.failed_steps) == ("running", 0)


def test_extending_a_job_links_new_steps_under_old_ones():
    job = job_start(tenant=TenantFactory(), steps=[StepSpec("plan", "test")])
    plan = Step.objects.get(job=job, key="plan")
    job_extend(job, [StepSpec("write", "test", depends_on=["plan"]), StepSpec("send", "test", depends_on=["write"])])
    plan.refresh_from_db()
    write = Step.objects.get(job=job, key="write")
    assert plan.downstream == [write.id]
    assert write.status == "blocked" and write.pending_deps == 1
    job.refresh_from_db()
    assert job.total_steps == 3
    with pytest.raises(GraphError, match="already has a step"):
        job_extend(job, [StepSpec("write", "test")])


def test_a_campaigns_and_a_tenants_jobs_are_controlled_together():
    from reachly.orchestration.services import campaign_pause, campaign_resume, tenant_cancel
    from tests.factories import CampaignFactory

    campaign = CampaignFactory()
    tenant = campaign.tenant
    jobs = [job_start(tenant=tenant, campaign=campaign, steps=test_steps(2)) for _ in range(2)]
    other = job_start(tenant=tenant, steps=test_steps(2))

    assert len(campaign_pause(campaign)) == 2
    assert {j.status for j in type(other).objects.filter(campaign=campaign)} == {"paused"}
    other.refresh_from_db()
    assert other.status == "running"
    assert len(campaign_resume(campaign)) == 2
    assert len(tenant_cancel(tenant)) == 3
    assert set(type(other).objects.filter(tenant=tenant).values_list("status", flat=True)) == {"cancelled"}
    assert all(j.pk for j in jobs)


def test_a_job_that_stalled_with_nothing_scheduled_is_failed_with_the_reason(settings):
    from datetime import timedelta

    from django.utils import timezone

    from reachly.orchestration import reaper

    settings.REACHLY_JOB_STALL_SECONDS = 60
    stalled = job_start(tenant=TenantFactory(), steps=test_steps(1))
    waiting = job_start(tenant=TenantFactory(), steps=test_steps(1))
    type(stalled).objects.filter(pk__in=[stalled.pk, waiting.pk]).update(
        last_progress_at=timezone.now() - timedelta(minutes=5)
    )
    # A step waiting on a limit or a backoff is not stalled.
    Step.objects.filter(job=waiting).update(next_attempt_at=timezone.now() + timedelta(minutes=5))

    assert reaper.fail_stalled_jobs() == [stalled.pk]
    stalled.refresh_from_db()
    assert stalled.status == "failed" and "no progress" in stalled.status_reason
    assert Event.objects.filter(job=stalled, type="job.status", data__status="failed").exists()
