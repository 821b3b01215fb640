"""Pause, resume and cancel reach running steps; dead workers and a flushed
broker lose nothing and do nothing twice. Real worker processes throughout."""

import itertools
import time
from collections import Counter

import pytest

from reachly.orchestration.graph import StepSpec
from reachly.orchestration.models import SinkRecord, Step, StepAttempt
from reachly.orchestration.services import job_cancel, job_pause, job_resume, job_start
from tests.conftest import wait_for
from tests.factories import TenantFactory, test_steps
from tests.helpers import wait_job

pytestmark = pytest.mark.workers


def sink_items(job) -> Counter:
    return Counter(SinkRecord.objects.filter(job_id=job.id).values_list("item", flat=True))


def test_pause_stops_at_a_safe_point_and_resume_processes_every_lead_exactly_once(workers):
    workers.start("control", beat=True)
    workers.start("agent.test")
    job = job_start(
        tenant=TenantFactory(), steps=[StepSpec("leads", "test", {"items": 20, "sleep": 0.1, "effect": True})]
    )
    wait_for(lambda: len(sink_items(job)) >= 5, timeout=30, what="5 leads processed")

    job_pause(job)
    step = wait_for(lambda: Step.objects.filter(job=job, status="paused").first(), timeout=2, what="the step to pause")
    # It stopped between two leads, with its progress checkpointed.
    stopped_at = step.checkpoint["next"]
    assert 5 <= stopped_at < 20
    time.sleep(0.5)
    assert len(sink_items(job)) == stopped_at, "nothing happens while paused"
    assert StepAttempt.objects.get(step=step, outcome="paused")

    job_resume(job)
    wait_job(job, timeout=30)
    items = sink_items(job)
    assert sorted(items) == list(range(20))
    assert set(items.values()) == {1}, "a lead was processed twice"
    step.refresh_from_db()
    assert step.output["processed"] == list(range(20))


def test_cancel_leaves_nothing_running(workers):
    workers.start("control", beat=True)
    workers.start("agent.test")
    workers.start("agent.test")
    job = job_start(tenant=TenantFactory(), steps=test_steps(6, items=50, sleep=0.1, effect=True))
    wait_for(lambda: Step.objects.filter(job=job, status="running").count() == 2, timeout=30, what="2 running")

    job_cancel(job)
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert not Step.objects.filter(job=job).exclude(status="cancelled").exists()
    # Within a second the workers reach a safe point and stop doing anything.
    time.sleep(1.0)
    before = sum(sink_items(job).values())
    time.sleep(1.0)
    assert sum(sink_items(job).values()) == before
    assert not StepAttempt.objects.filter(step__job=job, outcome="running").exists()


def test_a_worker_killed_mid_step_is_reaped_and_no_effect_happens_twice(workers):
    workers.start("control", beat=True)
    first = workers.start("agent.test")
    job = job_start(
        tenant=TenantFactory(), steps=[StepSpec("leads", "test", {"items": 12, "sleep": 0.2, "effect": True})]
    )
    wait_for(lambda: len(sink_items(job)) >= 4, timeout=30, what="4 effects")

    first.kill9()
    workers.start("agent.test")
    wait_job(job, timeout=60)

    items = sink_items(job)
    assert sorted(items) == list(range(12))
    assert set(items.values()) == {1}, f"duplicate effects: {items}"
    outcomes = list(StepAttempt.objects.filter(step__job=job).order_by("started_at").values_list("outcome", flat=True))
    assert outcomes == ["lease_lost", "succeeded"]


def test_a_job_survives_flushall_on_the_broker(workers, broker_client):
    workers.start("control", beat=True)
    workers.start("agent.test")
    workers.start("agent.test")
    job = job_start(tenant=TenantFactory(), steps=test_steps(40, sleep=0.1))
    wait_for(lambda: Step.objects.filter(job=job, status="succeeded").count() >= 8, timeout=30, what="8 steps done")

    broker_client.flushall()  # every queued message, binding and flag is gone

    wait_job(job, timeout=90)
    assert Step.objects.filter(job=job, status="succeeded").count() == 40


def test_failures_are_retried_with_backoff_then_fail_the_job_with_the_error_kept(workers):
    workers.start("control", beat=True)
    workers.start("agent.test")
    job = job_start(
        tenant=TenantFactory(),
        steps=[
            StepSpec("flaky", "test", {"fail": "retryable", "fail_times": 2}, max_attempts=4),
            StepSpec("broken", "test", {"fail": "retryable"}, max_attempts=3),
            StepSpec("after", "test", depends_on=["broken"]),
        ],
    )
    wait_job(job, "failed", timeout=60)

    flaky, broken, after = (Step.objects.get(job=job, key=k) for k in ("flaky", "broken", "after"))
    assert (flaky.status, flaky.attempts) == ("succeeded", 2)
    assert (broken.status, broken.attempts) == ("failed", 3)
    assert "failure on attempt 3" in broken.error["message"]
    assert after.status == "blocked"  # never ran: its dependency failed
    starts = list(StepAttempt.objects.filter(step=broken).order_by("started_at").values_list("started_at", flat=True))
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(starts)]
    assert all(gap >= 0.1 for gap in gaps), f"retries came back too fast: {gaps}"
    types = list(job.events.values_list("data__status", flat=True))
    assert types.count("retrying") == 4 and types[-1] == "failed"


def test_pausing_a_sender_account_stops_its_step_while_other_accounts_carry_on(workers):
    from reachly.campaigns.accounts import sender_account_pause, sender_account_resume
    from tests.factories import SenderAccountFactory

    workers.start("control", beat=True)
    workers.start("agent.test")
    workers.start("agent.test")
    tenant = TenantFactory()
    paused, busy = SenderAccountFactory(tenant=tenant), SenderAccountFactory(tenant=tenant)
    spec = {"items": 30, "sleep": 0.1, "effect": True}
    job = job_start(
        tenant=tenant,
        steps=[
            StepSpec("a", "test", spec, sender_account_id=paused.id),
            StepSpec("b", "test", spec, sender_account_id=busy.id),
        ],
    )
    wait_for(lambda: Step.objects.filter(job=job, status="running").count() == 2, timeout=30, what="both running")

    sender_account_pause(paused)
    step_a = wait_for(
        lambda: Step.objects.filter(job=job, key="a", status="ready").first(), timeout=2, what="a to stop"
    )
    assert step_a.wait_reason == "sender account paused" and step_a.attempts == 0
    time.sleep(0.5)
    assert Step.objects.get(job=job, key="a").status == "ready", "a paused account's step is not admitted"
    assert Step.objects.get(job=job, key="b").status in ("running", "succeeded")

    sender_account_resume(paused)
    wait_job(job, timeout=60)
    assert set(sink_items(job).values()) == {2}  # both steps did each item once


def test_messages_waiting_behind_a_busy_worker_are_not_republished(workers, broker_client):
    """Issue 12: the reconciler republished every step enqueued for longer
    than REACHLY_REPUBLISH_AFTER_SECONDS, even while its message was waiting
    behind a busy worker: `agent.test` grew to 13 messages for 1 waiting step
    (KEDA scales on that length). Only steps of an empty queue are
    republished now (the FLUSHALL test above shows lost ones still are)."""
    workers.start("control", beat=True, extra_env={"REACHLY_REPUBLISH_AFTER_SECONDS": "0.5"})
    workers.start("agent.test", concurrency=1)
    job = job_start(tenant=TenantFactory(), steps=[StepSpec(f"s{i}", "test", {"sleep": 1.5}) for i in range(6)])
    lengths = []

    def sample() -> bool:
        waiting = Step.objects.filter(job=job, status="enqueued").count()
        lengths.append((broker_client.llen("agent.test"), waiting))
        return Step.objects.filter(job=job, status="succeeded").count() >= 4

    # Several reconciler passes (beat runs one every second) while 5 steps wait.
    wait_for(sample, timeout=60, interval=0.2, what="4 steps done")
    assert all(queued <= waiting for queued, waiting in lengths), str(lengths)
    wait_job(job, timeout=60)
