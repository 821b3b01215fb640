"""The context of a step on log lines and Sentry events.

Bound per task by celery_hooks (from the message's kwargs), and per step by
the step runner (`bind_step`), because a batch message (`reachly.run_steps`)
runs several steps, each of which must log under its own ids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

import structlog

from reachly.observability import sentry

STEP_FIELDS = ("tenant_id", "campaign_id", "job_id", "step_id", "agent")


# The control plane's "job id -> campaign id" read, registered by
# OrchestrationConfig.ready(): observability sits below the domain apps and
# reads no table of theirs itself. It raises LookupError for an unknown job.
_campaign_lookup: Callable[[int], int | None] | None = None


def provide_campaign_lookup(lookup: Callable[[int], int | None]) -> None:
    """Register `lookup(job_id) -> campaign id or None` (raising LookupError
    for an unknown job); called once per process by the control plane."""
    global _campaign_lookup
    _campaign_lookup = lookup
    _campaign_of.cache_clear()


@lru_cache(maxsize=10_000)
def _campaign_of(job_id: int) -> int | None:
    # Raises (so nothing is cached) when the job is not there or the read fails.
    if _campaign_lookup is None:
        raise LookupError("no campaign lookup registered")
    return _campaign_lookup(job_id)


def campaign_of(job_id: int) -> int | None:
    """A job's campaign id (None: none, or unknown now). A job's campaign
    never changes, so it is read once per job and process (an LRU cache of
    10,000 jobs); a failed read is not cached and never fails a step."""
    try:
        return _campaign_of(job_id)
    except Exception:  # noqa: BLE001 - logging context must never fail a step
        return None


def step_fields(message: dict[str, Any]) -> dict[str, Any]:
    """Context fields of one step message ({"step", "job", "tenant", "agent", ...})."""
    job = message.get("job")
    return {
        "tenant_id": message.get("tenant"),
        "campaign_id": campaign_of(job) if job else None,
        "job_id": job,
        "step_id": message.get("step"),
        "agent": message.get("agent"),
    }


def common_fields(messages: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """What every step of a batch shares (the agent always; often tenant and job)."""
    rows = [step_fields(m) for m in messages]
    if not rows:
        return {}
    return {k: rows[0][k] if all(r[k] == rows[0][k] for r in rows) else None for k in STEP_FIELDS}


def bind(fields: dict[str, Any]) -> None:
    """Put these fields on the following log lines and Sentry events."""
    structlog.contextvars.bind_contextvars(**fields)
    sentry.set_tags(
        tenant=fields.get("tenant_id"),
        campaign=fields.get("campaign_id"),
        job=fields.get("job_id"),
        step=fields.get("step_id"),
        agent=fields.get("agent"),
    )


def bind_step(message: dict[str, Any]) -> None:
    """Called by the step runner before it runs each step."""
    try:
        bind(step_fields(message))
    except Exception:  # noqa: BLE001 - never let context fail a step
        pass
