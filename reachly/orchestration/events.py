"""Events: every state change of a job, numbered per job.

Sequence numbers come from the job row (`last_seq`), bumped in the same
transaction as the change it records. The row lock orders a job's events:
sequence order is commit order, so a client that has seen seq N and asks for
"after N" never misses an event that commits later with a smaller number.

Events are handed to the live layer only after commit (reachly.live).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction

from reachly.core import sql
from reachly.orchestration.progress import percent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NewEvent:
    type: str
    data: dict[str, Any]
    step_id: int | None = None


EventsArg = list[NewEvent] | Callable[[dict[str, Any]], list[NewEvent]]


def emit(
    job_id: int, events: EventsArg, *, job_updates: str = "", params: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Record events for a job, in one transaction with the caller's change.

    `job_updates` is extra SQL for the job row's SET clause (progress
    counters; values as %(name)s placeholders in `params`) applied in the
    same statement that takes the numbers. Never the job's status: status
    changes are the named statements of transitions.py (ValueError).
    `events` may be a function of the updated job row (to carry progress)
    when it is known to make exactly one event.
    Returns the updated job row (id, tenant_id, status, counters, last_seq).
    """
    assert transaction.get_connection().in_atomic_block, "emit() must run inside a transaction"
    if _SETS_STATUS.search(job_updates):
        raise ValueError("emit() does not change a job's status: use reachly.orchestration.transitions")
    n = 1 if callable(events) else len(events)
    extra = f", {job_updates}" if job_updates else ""
    job = sql.fetchone(
        f"""
        UPDATE orchestration_job SET last_seq = last_seq + %(n)s {extra}
        WHERE id = %(job_id)s
        RETURNING {JOB_RETURNING.format(t="orchestration_job")}
        """,
        {"n": n, "job_id": job_id, **(params or {})},
    )
    if job is None:
        raise LookupError(f"job {job_id} does not exist")
    if callable(events):
        events = events(job)
        assert len(events) == 1, "an event factory must make exactly one event"
    record(job, events)
    return job


# `status = ...` in a SET list (not status_reason, not a qualified x.status).
_SETS_STATUS = re.compile(r"(?<![\w.])status\s*=", re.IGNORECASE)

JOB_RETURNING = (
    "{t}.id, {t}.tenant_id, {t}.status, {t}.total_steps, {t}.succeeded_steps, {t}.failed_steps,"
    " {t}.cancelled_steps, {t}.last_seq, now() AS ts"
)
# The columns of an event inserted inside one SQL statement (the hot
# transitions.CLAIM and transitions.SUCCEED), to publish.
EVENT_RETURNING = "job_id, tenant_id, seq, type, step_id, data, ts"


def publish_after_commit(rows: list[dict[str, Any]]) -> None:
    """Publish events inserted by SQL (rows with EVENT_RETURNING columns,
    as JSON) once the surrounding transaction commits.

    Only for the hot single-statement transitions (a step started or
    succeeded), whose statement may have committed already: in-transaction
    subscribers never see these events, so none may be subscribable
    (webhooks' public events all go through `record`)."""
    published = [
        {
            "type": r["type"],
            "job": r["job_id"],
            "tenant": r["tenant_id"],
            "seq": r["seq"],
            "ts": datetime.fromisoformat(r["ts"]).isoformat() if isinstance(r["ts"], str) else r["ts"].isoformat(),
            **({"step": r["step_id"]} if r.get("step_id") else {}),
            **r["data"],
        }
        for r in rows
    ]
    transaction.on_commit(lambda: _publish(published))


def record(job: dict[str, Any], events: list[NewEvent]) -> None:
    """Insert events numbered up to `job["last_seq"]`, which the caller has
    already bumped by len(events) in this transaction; hand them to the
    in-transaction subscribers now and publish them after commit."""
    if not events:
        return
    first = job["last_seq"] - len(events) + 1
    rows = [
        (job["id"], job["tenant_id"], first + i, e.type, e.step_id, json.dumps(e.data), job["ts"])
        for i, e in enumerate(events)
    ]
    with transaction.get_connection().cursor() as cur:
        cur.executemany(
            "INSERT INTO orchestration_event (job_id, tenant_id, seq, type, step_id, data, ts)"
            " VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s)",
            rows,
        )
    published = [_wire(job, first + i, e, job["ts"]) for i, e in enumerate(events)]
    for fn in _in_transaction:
        fn(published)
    transaction.on_commit(lambda: _publish(published))


def _wire(job: dict[str, Any], seq: int, event: NewEvent, ts: datetime) -> dict[str, Any]:
    """The event as clients receive it (shared/DESIGN.md, WebSocket contract)."""
    return {
        "type": event.type,
        "job": job["id"],
        "tenant": job["tenant_id"],
        "seq": seq,
        "ts": ts.isoformat(),
        **({"step": event.step_id} if event.step_id else {}),
        **event.data,
    }


def progress(job: Mapping[str, Any]) -> dict[str, Any]:
    """A job row's progress (a dict, or a .values() row: only read)."""
    total = job["total_steps"] or 0
    done = job["succeeded_steps"]
    return {
        "total": total,
        "done": done,
        "failed": job["failed_steps"],
        "cancelled": job["cancelled_steps"],
        "percent": percent(total, done, job.get("status")),
    }


# After-commit subscribers: functions taking the committed events of one
# transaction (in wire format). The live layer and outgoing webhooks plug in
# here; a failing subscriber is logged and never affects the others.
_subscribers: list[Callable[[list[dict[str, Any]]], None]] = []


def subscribe(fn: Callable[[list[dict[str, Any]]], None]) -> Callable[[list[dict[str, Any]]], None]:
    """Decorator: call `fn(events)` after every commit that recorded events."""
    if fn not in _subscribers:
        _subscribers.append(fn)
    return fn


# In-transaction subscribers: called with the events (wire format) inside the
# transaction that records them, so what they write commits or rolls back
# with the events: a crash between commit and an after-commit hook loses
# nothing. Outgoing webhooks plug in here. A subscriber must leave the
# caller's transaction usable: write in a savepoint, handle its own errors.
_in_transaction: list[Callable[[list[dict[str, Any]]], None]] = []


def subscribe_in_transaction(fn: Callable[[list[dict[str, Any]]], None]) -> Callable[[list[dict[str, Any]]], None]:
    """Decorator: call `fn(events)` in every transaction that records events."""
    if fn not in _in_transaction:
        _in_transaction.append(fn)
    return fn


def _publish(events: list[dict[str, Any]]) -> None:
    for fn in list(_subscribers):
        try:
            fn(events)
        except Exception:
            log.exception("event subscriber %s failed", getattr(fn, "__name__", fn))
