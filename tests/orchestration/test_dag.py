"""A job's step graph runs on real workers: parallel where it can, in order where it must."""

import pytest

from reachly.orchestration.graph import StepSpec
from reachly.orchestration.models import Step, StepAttempt
from reachly.orchestration.services import job_start
from tests.factories import TenantFactory
from tests.helpers import wait_job

pytestmark = pytest.mark.workers


def _span(job, key):
    attempt = StepAttempt.objects.get(step__job=job, step__key=key, outcome="succeeded")
    return attempt.started_at, attempt.finished_at


def test_a_three_level_dag_runs_independent_steps_in_parallel_and_dependents_after(workers):
    workers.start("control", beat=True)
    workers.start("agent.test")
    workers.start("agent.test")
    tenant = TenantFactory()

    job = job_start(
        tenant=tenant,
        steps=[
            StepSpec("fetch-a", "test", {"sleep": 1.0}),
            StepSpec("fetch-b", "test", {"sleep": 1.0}),
            StepSpec("merge", "test", {"sleep": 0.2}, depends_on=["fetch-a", "fetch-b"]),
            StepSpec("report", "test", {}, depends_on=["merge"]),
            StepSpec("notify", "test", {}, depends_on=["merge"]),
        ],
    )
    wait_job(job, timeout=60)

    a_start, a_end = _span(job, "fetch-a")
    b_start, b_end = _span(job, "fetch-b")
    # Level 1 overlapped, on two different worker processes.
    assert a_start < b_end and b_start < a_end
    pids = {Step.objects.get(job=job, key=k).output["pid"] for k in ("fetch-a", "fetch-b")}
    assert len(pids) == 2
    # Level 2 waited for both, level 3 for level 2.
    m_start, m_end = _span(job, "merge")
    assert m_start >= max(a_end, b_end)
    for key in ("report", "notify"):
        assert _span(job, key)[0] >= m_end
    job.refresh_from_db()
    assert (job.succeeded_steps, job.total_steps, job.percent) == (5, 5, 100.0)
    # Every state change left a numbered event: 1 job start, 2 per step, 1 job end.
    seqs = list(job.events.values_list("seq", flat=True))
    assert seqs == list(range(1, 1 + 1 + 2 * 5 + 1))
