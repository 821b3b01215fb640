"""One progress rule (issue 10: three definitions disagreed on a job with 0 steps)."""

from __future__ import annotations

import pytest

from reachly.orchestration.events import progress
from reachly.orchestration.graph import PRIORITIES, Priority
from reachly.orchestration.models import Job, JobStatus


@pytest.mark.parametrize(
    ("total", "succeeded", "status", "expected"),
    [(0, 0, JobStatus.SUCCEEDED, 100.0), (0, 0, JobStatus.RUNNING, 0.0), (3, 1, JobStatus.RUNNING, 33.3)],
)
def test_the_model_and_the_live_events_give_the_same_percentage(total, succeeded, status, expected):
    job = Job(total_steps=total, succeeded_steps=succeeded, failed_steps=0, cancelled_steps=0, status=status)
    row = {
        "total_steps": total,
        "succeeded_steps": succeeded,
        "failed_steps": 0,
        "cancelled_steps": 0,
        "status": status,
    }
    assert job.percent == progress(row)["percent"] == expected


def test_one_priority_type_serves_every_door():
    from reachly.api.campaigns import PRIORITIES as CAMPAIGN_CHOICES
    from reachly.api.jobs import PRIORITIES as JOB_CHOICES
    from reachly.web.forms import PRIORITIES as FORM_CHOICES

    assert PRIORITIES == (1, 5, 10)
    assert [v for v, _ in JOB_CHOICES] == [v for v, _ in CAMPAIGN_CHOICES] == [v for v, _ in FORM_CHOICES] == [1, 5, 10]
    assert Priority.URGENT < Priority.NORMAL < Priority.BATCH
