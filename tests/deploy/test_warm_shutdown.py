"""A worker told to stop (SIGTERM: a rolling deploy, a KEDA scale-down, a
node drain) hands its running step back to the database at the next safe
point, checkpointed and without spending an attempt, and exits; another
worker resumes the step where it stopped. Real worker processes."""

from collections import Counter

import pytest

from reachly.orchestration.graph import StepSpec
from reachly.orchestration.models import SinkRecord, Step, StepAttempt
from reachly.orchestration.services import job_start
from tests.conftest import wait_for
from tests.factories import TenantFactory
from tests.helpers import wait_job

pytestmark = pytest.mark.workers

ITEMS = 40  # at 0.25 s each, the step would run ~10 s on one worker


def sink_items(job) -> Counter:
    return Counter(SinkRecord.objects.filter(job_id=job.id).values_list("item", flat=True))


@pytest.mark.parametrize("pool", ["prefork", "threads"])
def test_it_hands_the_running_step_back_and_another_worker_resumes_it(workers, pool):
    workers.start("control", beat=True)
    first = workers.start("agent.test", pool=pool)
    job = job_start(
        tenant=TenantFactory(), steps=[StepSpec("leads", "test", {"items": ITEMS, "sleep": 0.25, "effect": True})]
    )
    wait_for(lambda: len(sink_items(job)) >= 3, timeout=30, what="3 leads processed")

    first.proc.terminate()  # SIGTERM: Celery's warm shutdown
    wait_for(lambda: not first.alive(), timeout=30, what="the worker to exit")
    step = Step.objects.get(job=job)
    # It did not wait for the step to finish: the step went back to the
    # database, checkpointed, without spending an attempt.
    assert step.status in ("ready", "enqueued"), step.status
    assert step.wait_reason in ("worker shutting down", "")
    assert step.attempts == 0
    stopped_at = step.checkpoint["next"]
    assert 3 <= stopped_at < ITEMS
    assert list(StepAttempt.objects.filter(step=step).values_list("outcome", flat=True)) == ["paused"]

    workers.start("agent.test", pool=pool)
    wait_job(job, timeout=60)
    items = sink_items(job)
    assert sorted(items) == list(range(ITEMS))
    assert set(items.values()) == {1}, "a lead was processed twice"
    step.refresh_from_db()
    assert step.output["processed"] == list(range(ITEMS))
    outcomes = list(StepAttempt.objects.filter(step=step).order_by("started_at").values_list("outcome", flat=True))
    assert outcomes == ["paused", "succeeded"]


def test_a_restarted_worker_is_not_mistaken_for_a_stopping_one():
    """The marker is per main process and cleared at start: a container that
    restarts keeps /tmp and often its pid."""
    from reachly.orchestration import shutdown

    shutdown.request()  # as if a previous worker with this pid had stopped
    try:
        assert shutdown.requested()
    finally:
        shutdown.clear()
    assert not shutdown.requested()
