"""Step transitions, as the database sees them.

Every function here is one short transaction: a conditional UPDATE of the
step (the condition is the state machine; for a worker it also names its
fencing token, so a worker whose lease expired cannot write), the job's
counters and sequence number, and the events. Locks are taken steps first,
then the job row, on every path, so these never deadlock with each other or
with pause/resume/cancel.

The status-changing statements themselves are named in transitions.py; the
transitions they may make are declared in states.py.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction

from reachly.core import sql
from reachly.orchestration import transitions
from reachly.orchestration.events import NewEvent, emit, progress, publish_after_commit, record

WAITING_STATUSES = ("ready", "enqueued", "running")


@dataclass
class Claimed:
    """What a worker needs to run a step it has claimed."""

    id: int
    job_id: int
    tenant_id: int
    key: str
    agent: str
    input: dict[str, Any]
    checkpoint: dict[str, Any]
    attempts: int
    max_attempts: int
    fencing_token: int
    sender_account_id: int | None
    depends_on: list[str]


@dataclass
class Outcome:
    """The result of a transition: the new status and which agents' queues
    may now have work (for the dispatcher trigger)."""

    status: str
    roles: set[str] = field(default_factory=set)


def backoff(attempt: int) -> float:
    """Seconds before retry number `attempt` (1-based): exponential with
    "equal jitter", so retries spread out but never come back immediately."""
    ceiling: float = min(settings.REACHLY_RETRY_MAX_SECONDS, settings.REACHLY_RETRY_BASE_SECONDS * 2 ** (attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def _step_event(
    step: dict[str, Any], status: str, job_progress: dict[str, Any] | None = None, **extra: Any
) -> NewEvent:
    data = {"key": step["key"], "agent": step["agent"], "status": status, **extra}
    if job_progress is not None:
        data["progress"] = job_progress
    return NewEvent("step.status", data, step_id=step["id"])


# ---------------------------------------------------------------------------
# Worker side
# ---------------------------------------------------------------------------


def claim(step_id: int, worker: str, started_at: datetime) -> Claimed | None:
    """enqueued → running, with a new fencing token and a fresh lease.

    None when the message was stale (the step already ran, was paused or
    cancelled, or another worker claimed it first).
    """
    row = transitions.claim(step_id, worker, settings.REACHLY_LEASE_SECONDS, started_at)
    if row is None:
        _park_if_job_stopped(step_id)
        return None
    publish_after_commit([row["event"]])
    return Claimed(**{k: row[k] for k in Claimed.__dataclass_fields__})


def _park_if_job_stopped(step_id: int) -> None:
    """An admitted step of a job paused or cancelled meanwhile follows its job."""
    transitions.follow_stopped_job(step_id)


def defer_enqueued(step_id: int, retry_after: float, reason: str) -> bool:
    """A limit said "not now" before the step started: back to ready, due
    again after `retry_after` seconds. No attempt is used, no worker waits."""
    return bool(transitions.defer(step_id, max(retry_after, 0.0), reason[:255]))


def renew(leases: dict[int, int]) -> dict[int, str | None]:
    """Heartbeat: extend the leases we still hold.

    Returns, for every step id asked about, its job's status, or None when
    the lease is no longer ours (reaped, cancelled): the step must stop.
    """
    if not leases:
        return {}
    rows = sql.fetchall(
        """
        UPDATE orchestration_step s
           SET lease_expires_at = now() + make_interval(secs => %(lease)s), heartbeat_at = now()
          FROM orchestration_job j, unnest(%(ids)s::bigint[], %(tokens)s::bigint[]) AS l(id, token)
         WHERE s.id = l.id AND s.fencing_token = l.token AND s.status = 'running' AND j.id = s.job_id
        RETURNING s.id, j.status
        """,
        {"ids": list(leases), "tokens": list(leases.values()), "lease": settings.REACHLY_LEASE_SECONDS},
    )
    found = {r["id"]: r["status"] for r in rows}
    return {step_id: found.get(step_id) for step_id in leases}


def save_checkpoint(step_id: int, token: int, state: dict[str, Any]) -> bool:
    return bool(
        sql.execute(
            "UPDATE orchestration_step SET checkpoint = %s::jsonb"
            " WHERE id = %s AND fencing_token = %s AND status = 'running'",
            [json.dumps(state), step_id, token],
        )
    )


def _end_attempt(step_id: int, token: int, outcome: str, error: str = "") -> None:
    sql.execute(
        "UPDATE orchestration_stepattempt SET outcome = %s, error = %s, finished_at = now()"
        " WHERE step_id = %s AND fencing_token = %s",
        [outcome, error, step_id, token],
    )


def succeed(step_id: int, token: int, output: dict[str, Any]) -> Outcome | None:
    """running → succeeded; unblock dependents; maybe finish the job."""
    step = transitions.succeed(step_id, token, json.dumps(output))
    if step is None:
        return None
    publish_after_commit([step["event"]])
    if step["job_status"] in ("running", "paused") and step["succeeded_steps"] == step["total_steps"]:
        with transaction.atomic():
            _finish_job(step["job_id"], "succeeded", "")
    elif step["job_status"] == "running" and step["failed_steps"]:
        # The last step able to run may be this one, after another failed.
        with transaction.atomic():
            _maybe_fail_job(step["job_id"])
    return Outcome("succeeded", {step["agent"], *step["unblocked"]})


def fail(step_id: int, token: int, attempts: int, error: dict[str, Any], retryable: bool) -> Outcome | None:
    """running → ready (retry after backoff) or failed (no attempts left)."""
    delay = backoff(attempts + 1)
    with transaction.atomic():
        step = transitions.fail(step_id, token, retryable, delay, json.dumps(error))
        if step is None:
            return None
        _end_attempt(step_id, token, "failed", error.get("message", "")[:10_000])
        return _after_failure(step, error)


def _after_failure(step: dict[str, Any], error: dict[str, Any]) -> Outcome:
    """Events and job bookkeeping once a step failed or was scheduled to retry."""
    if step["status"] == "ready":
        emit(
            step["job_id"],
            [
                _step_event(
                    step,
                    "retrying",
                    attempt=step["attempts"],
                    max_attempts=step["max_attempts"],
                    next_attempt_at=step["next_attempt_at"].isoformat(),
                    error=error.get("message", ""),
                )
            ],
        )
        return Outcome("ready", {step["agent"]})
    emit(
        step["job_id"],
        lambda job: [_step_event(step, "failed", progress(job), error=error.get("message", ""))],
        job_updates="failed_steps = failed_steps + 1, last_progress_at = now()",
    )
    _maybe_fail_job(step["job_id"])
    return Outcome("failed", {step["agent"]})


def _maybe_fail_job(job_id: int) -> None:
    """A running job with failures and nothing left that can run has failed.

    (Blocked steps left then all descend from a failed step.)
    """
    busy = sql.fetchone(
        "SELECT EXISTS (SELECT 1 FROM orchestration_step WHERE job_id = %s AND status = ANY(%s)) AS busy",
        [job_id, list(WAITING_STATUSES)],
    )
    assert busy is not None  # SELECT EXISTS returns one row
    if not busy["busy"]:
        _finish_job(job_id, "failed", "one or more steps failed")


def _finish_job(job_id: int, status: str, reason: str) -> None:
    """A running or paused job → succeeded / failed (`status`), with its
    event; nothing when it had finished already (a cancel came first).
    Inside the caller's transaction."""
    job = transitions.finish_job(job_id, status, reason)
    if job is not None:
        record(job, [NewEvent("job.status", {"status": status, "reason": reason, "progress": progress(job)})])


def stop(step_id: int, token: int, reason: str, state: dict[str, Any] | None) -> Outcome | None:
    """A running step stopped at a safe point: paused with its job, back to
    ready when only its sender account was paused or its worker is shutting
    down (no attempt spent: another worker resumes it), or cancelled."""
    new_status = {"pause": "paused", "cancel": "cancelled", "account_pause": "ready", "shutdown": "ready"}[reason]
    wait_reason = {"account_pause": "sender account paused", "shutdown": "worker shutting down"}.get(reason, "")
    with transaction.atomic():
        step = transitions.stop(step_id, token, new_status, wait_reason, json.dumps(state) if state else None)
        if step is None:
            return None
        _end_attempt(step_id, token, "cancelled" if reason == "cancel" else "paused")
        updates = "cancelled_steps = cancelled_steps + 1" if new_status == "cancelled" else ""
        emit(step["job_id"], lambda job: [_step_event(step, new_status, progress(job))], job_updates=updates)
    return Outcome(new_status, {step["agent"]})


def wait(step_id: int, token: int, retry_after: float, reason: str, state: dict[str, Any] | None) -> Outcome | None:
    """A limit stopped a running step between two actions: keep its
    checkpoint and make it due again after `retry_after` seconds."""
    with transaction.atomic():
        step = transitions.wait(
            step_id, token, max(retry_after, 0.0), reason[:255], json.dumps(state) if state else None
        )
        if step is None:
            return None
        _end_attempt(step_id, token, "rate_limited", reason)
        emit(
            step["job_id"],
            [_step_event(step, "waiting", reason=reason, next_attempt_at=step["next_attempt_at"].isoformat())],
        )
    return Outcome("ready", {step["agent"]})


# ---------------------------------------------------------------------------
# Control-plane side
# ---------------------------------------------------------------------------


def reap_expired(batch: int = 200) -> list[Outcome]:
    """Steps whose lease expired (their worker died or hung) run again.

    Losing a worker counts as a failed attempt, so a step that kills its
    worker every time ends up failed instead of looping forever. The fencing
    token is bumped: the old worker, if it is only slow, can no longer write.
    """
    outcomes: list[Outcome] = []
    with transaction.atomic():
        expired = sql.fetchall(
            """
            SELECT s.id, s.fencing_token, s.attempts, j.status AS job_status
              FROM orchestration_step s JOIN orchestration_job j ON j.id = s.job_id
             WHERE s.status = 'running' AND s.lease_expires_at < now()
             ORDER BY s.lease_expires_at
             LIMIT %s
               FOR UPDATE OF s SKIP LOCKED
            """,
            [batch],
        )
        for row in expired:
            error: dict[str, Any] = {
                "type": "LeaseExpired",
                "message": "worker lost: the step's lease expired",
                "retryable": True,
            }
            step = transitions.reap(row["id"], row["job_status"], backoff(row["attempts"] + 1), json.dumps(error))
            assert step is not None  # the row is locked above (FOR UPDATE, running): the UPDATE finds it
            _end_attempt(row["id"], row["fencing_token"], "lease_lost", error["message"])
            if step["status"] in ("ready", "failed"):
                outcomes.append(_after_failure(step, error))
            else:
                emit(step["job_id"], [_step_event(step, step["status"])])
    return outcomes
