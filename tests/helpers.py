"""Helpers for tests that watch real workers."""

from __future__ import annotations

from reachly.orchestration.models import Job, Step
from tests.conftest import wait_for


def wait_job(job: Job, *statuses: str, timeout: float = 60.0) -> Job:
    statuses = statuses or ("succeeded",)

    def done() -> bool:
        job.refresh_from_db()
        return job.status in statuses

    try:
        wait_for(done, timeout=timeout, interval=0.1, what=f"job {job.id} to be {'/'.join(statuses)}")
    except AssertionError:
        counts = {}
        for s in Step.objects.filter(job=job):
            counts[s.status] = counts.get(s.status, 0) + 1
        raise AssertionError(f"job {job.id} is {job.status} with steps {counts}") from None
    return job


def step_statuses(job: Job) -> dict[str, str]:
    return dict(Step.objects.filter(job=job).values_list("key", "status"))
