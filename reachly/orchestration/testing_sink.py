"""The `test` agent's external system (see models.SinkRecord)."""

from __future__ import annotations

from typing import Any

from reachly.orchestration.models import SinkRecord


def record(step_id: int, job_id: int, item: int) -> dict[str, Any]:
    SinkRecord.objects.create(step_id=step_id, job_id=job_id, item=item)
    return {"item": item}


def find(step_id: int, item: int) -> dict[str, Any] | None:
    if SinkRecord.objects.filter(step_id=step_id, item=item).exists():
        return {"item": item}
    return None
