"""The `test` agent's external system (see models.SinkRecord), and its port
(agents/ports.py: TestSinkPort)."""

from __future__ import annotations

from typing import Any

from reachly.orchestration.models import SinkRecord


def record(step_id: int, job_id: int, item: int) -> dict[str, Any]:
    """Record that step `step_id` of job `job_id` processed `item`."""
    SinkRecord.objects.create(step_id=step_id, job_id=job_id, item=item)
    return {"item": item}


def find(step_id: int, item: int) -> dict[str, Any] | None:
    """``{"item": item}`` when step `step_id` recorded `item`, else None."""
    if SinkRecord.objects.filter(step_id=step_id, item=item).exists():
        return {"item": item}
    return None


class TestSinkAdapter:
    """TestSinkPort for one step."""

    __test__ = False  # not a pytest test class

    def __init__(self, step_id: int, job_id: int):
        self.step_id = step_id
        self.job_id = job_id

    def record(self, item: int) -> dict[str, Any]:
        return record(self.step_id, self.job_id, item)

    def find(self, item: int) -> dict[str, Any] | None:
        return find(self.step_id, item)
