"""A job's progress percentage: the one definition (the model, the API, the
live events and the pages all use it)."""

from __future__ import annotations


def percent(total: int | None, succeeded: int, status: str | None = None) -> float:
    """Succeeded steps as a percentage of all, rounded to 0.1.

    A job with no steps is 100 % once it has succeeded (there was nothing
    left to do) and 0 % before; `status` is the job's status, when known.
    """
    if not total:
        return 100.0 if status == "succeeded" else 0.0
    return round(100.0 * succeeded / total, 1)
