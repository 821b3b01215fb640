"""Step transitions, as the database sees them.

Every function here is one short transaction: a conditional UPDATE of the
step (the condition is the state machine; for a worker it also names its
fencing token, so a worker whose lease expired cannot write), the job's
counters and sequence number, and the events. Locks are taken steps first,
then the job row, on every path, so these never deadlock with each other or
with pause/resume/cancel.

Statuses and transitions are described in models.py.
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
from reachly.orchestration.events import (
    EVENT_RETURNING,
    PROGRESS_SQL,
    NewEvent,
    emit,
    progress,
    publish_after_commit,
)

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
    # One statement, so one round trip and an implicit transaction: the step,
    # its attempt, the job's next event number and the event. Steps are
    # locked before the job, as on every path.
    row = sql.fetchone(
        f"""
        WITH s AS (
            UPDATE orchestration_step s
               SET status = 'running', fencing_token = s.fencing_token + 1,
                   lease_owner = %(worker)s, heartbeat_at = now(),
                   lease_expires_at = now() + make_interval(secs => %(lease)s),
                   started_at = COALESCE(s.started_at, now()), wait_reason = ''
             WHERE s.id = %(id)s AND s.status = 'enqueued'
               AND EXISTS (SELECT 1 FROM orchestration_job j WHERE j.id = s.job_id AND j.status = 'running')
            RETURNING s.id, s.job_id, s.tenant_id, s.key, s.agent, s.input, s.checkpoint, s.attempts,
                      s.max_attempts, s.fencing_token, s.sender_account_id, s.depends_on
        ), a AS (
            INSERT INTO orchestration_stepattempt (step_id, fencing_token, worker, outcome, error, started_at)
            SELECT s.id, s.fencing_token, %(worker)s, 'running', '', %(started)s FROM s
        ), j AS (
            UPDATE orchestration_job j SET last_seq = j.last_seq + 1 FROM s WHERE j.id = s.job_id
            RETURNING j.id, j.tenant_id, j.last_seq, now() AS ts
        ), e AS (
            INSERT INTO orchestration_event (job_id, tenant_id, seq, type, step_id, data, ts)
            SELECT j.id, j.tenant_id, j.last_seq, 'step.status', s.id,
                   jsonb_build_object('key', s.key, 'agent', s.agent, 'status', 'running',
                                      'attempt', s.attempts + 1), j.ts
              FROM s, j
            RETURNING {EVENT_RETURNING}
        )
        SELECT s.*, row_to_json(e)::jsonb AS event FROM s, e
        """,
        {"id": step_id, "worker": worker, "lease": settings.REACHLY_LEASE_SECONDS, "started": started_at},
    )
    if row is None:
        _park_if_job_stopped(step_id)
        return None
    publish_after_commit([row["event"]])
    return Claimed(**{k: row[k] for k in Claimed.__dataclass_fields__})


def _park_if_job_stopped(step_id: int) -> None:
    """An admitted step of a job paused or cancelled meanwhile follows its job."""
    sql.execute(
        """
        UPDATE orchestration_step s
           SET status = CASE j.status WHEN 'paused' THEN 'paused' ELSE 'cancelled' END,
               enqueued_at = NULL
          FROM orchestration_job j
         WHERE s.id = %s AND s.status = 'enqueued' AND j.id = s.job_id
           AND j.status IN ('paused', 'cancelled')
        """,
        [step_id],
    )


def defer_enqueued(step_id: int, retry_after: float, reason: str) -> bool:
    """A limit said "not now" before the step started: back to ready, due
    again after `retry_after` seconds. No attempt is used, no worker waits."""
    return bool(
        sql.execute(
            """
            UPDATE orchestration_step
               SET status = 'ready', enqueued_at = NULL, wait_reason = %(reason)s,
                   next_attempt_at = now() + make_interval(secs => %(after)s)
             WHERE id = %(id)s AND status = 'enqueued'
            """,
            {"id": step_id, "after": max(retry_after, 0.0), "reason": reason[:255]},
        )
    )


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


_RELEASE = "lease_owner = '', lease_expires_at = NULL"


def succeed(step_id: int, token: int, output: dict[str, Any]) -> Outcome | None:
    """running → succeeded; unblock dependents; maybe finish the job."""
    # One statement: the step, its dependents, its attempt, the job's
    # counters and next event number, and the event.
    step = sql.fetchone(
        f"""
        WITH s AS (
            UPDATE orchestration_step
               SET status = 'succeeded', output = %(output)s::jsonb, finished_at = now(),
                   error = NULL, wait_reason = '', {_RELEASE}
             WHERE id = %(id)s AND fencing_token = %(token)s AND status = 'running'
            RETURNING id, job_id, tenant_id, key, agent, downstream
        ), d AS (
            UPDATE orchestration_step d
               SET pending_deps = d.pending_deps - 1,
                   status = CASE WHEN d.pending_deps > 1 THEN 'blocked'
                                 WHEN jd.status = 'paused' THEN 'paused' ELSE 'ready' END,
                   next_attempt_at = CASE WHEN d.pending_deps = 1 THEN now() ELSE d.next_attempt_at END
              FROM s, orchestration_job jd
             WHERE d.id = ANY(s.downstream) AND d.status = 'blocked' AND jd.id = d.job_id
            RETURNING d.agent, d.status
        ), a AS (
            UPDATE orchestration_stepattempt a SET outcome = 'succeeded', finished_at = now()
              FROM s WHERE a.step_id = s.id AND a.fencing_token = %(token)s
        ), j AS (
            UPDATE orchestration_job j
               SET last_seq = j.last_seq + 1, succeeded_steps = j.succeeded_steps + 1, last_progress_at = now()
              FROM s WHERE j.id = s.job_id
            RETURNING j.id, j.tenant_id, j.status, j.total_steps, j.succeeded_steps, j.failed_steps,
                      j.last_seq, now() AS ts, {PROGRESS_SQL.format(j="j")} AS progress
        ), e AS (
            INSERT INTO orchestration_event (job_id, tenant_id, seq, type, step_id, data, ts)
            SELECT j.id, j.tenant_id, j.last_seq, 'step.status', s.id,
                   jsonb_build_object('key', s.key, 'agent', s.agent, 'status', 'succeeded',
                                      'progress', j.progress), j.ts
              FROM s, j
            RETURNING {EVENT_RETURNING}
        )
        SELECT s.id, s.job_id, s.agent, j.status AS job_status, j.total_steps, j.succeeded_steps,
               j.failed_steps, row_to_json(e)::jsonb AS event,
               ARRAY(SELECT DISTINCT d.agent FROM d WHERE d.status = 'ready') AS unblocked
          FROM s, j, e
        """,
        {"id": step_id, "token": token, "output": json.dumps(output)},
    )
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
        step = sql.fetchone(
            f"""
            UPDATE orchestration_step
               SET attempts = attempts + 1,
                   status = CASE WHEN %(retryable)s::boolean AND attempts + 1 < max_attempts
                                 THEN 'ready' ELSE 'failed' END,
                   next_attempt_at = now() + make_interval(secs => %(delay)s),
                   finished_at = CASE WHEN %(retryable)s::boolean AND attempts + 1 < max_attempts
                                      THEN NULL ELSE now() END,
                   error = %(error)s::jsonb,
                   wait_reason = CASE WHEN %(retryable)s::boolean AND attempts + 1 < max_attempts
                                      THEN 'retry after error' ELSE '' END,
                   {_RELEASE}
             WHERE id = %(id)s AND fencing_token = %(token)s AND status = 'running'
            RETURNING id, job_id, tenant_id, key, agent, status, attempts, max_attempts, next_attempt_at
            """,
            {"id": step_id, "token": token, "retryable": retryable, "delay": delay, "error": json.dumps(error)},
        )
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
    emit(
        job_id,
        lambda job: [NewEvent("job.status", {"status": status, "reason": reason, "progress": progress(job)})],
        job_updates="status = %(status)s, status_reason = %(reason)s, finished_at = now()",
        params={"status": status, "reason": reason},
    )


def stop(step_id: int, token: int, reason: str, state: dict[str, Any] | None) -> Outcome | None:
    """A running step stopped at a safe point: paused with its job, back to
    ready when only its sender account was paused or its worker is shutting
    down (no attempt spent: another worker resumes it), or cancelled."""
    new_status = {"pause": "paused", "cancel": "cancelled", "account_pause": "ready", "shutdown": "ready"}[reason]
    wait_reason = {"account_pause": "sender account paused", "shutdown": "worker shutting down"}.get(reason, "")
    with transaction.atomic():
        step = sql.fetchone(
            f"""
            UPDATE orchestration_step
               SET status = %(status)s::varchar, checkpoint = COALESCE(%(state)s::jsonb, checkpoint),
                   next_attempt_at = now(), {_RELEASE},
                   finished_at = CASE WHEN %(status)s::varchar = 'cancelled' THEN now() ELSE NULL END,
                   wait_reason = %(wait_reason)s
             WHERE id = %(id)s AND fencing_token = %(token)s AND status = 'running'
            RETURNING id, job_id, tenant_id, key, agent
            """,
            {
                "id": step_id,
                "token": token,
                "status": new_status,
                "wait_reason": wait_reason,
                "state": json.dumps(state) if state else None,
            },
        )
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
        step = sql.fetchone(
            f"""
            UPDATE orchestration_step
               SET status = 'ready', checkpoint = COALESCE(%(state)s::jsonb, checkpoint),
                   next_attempt_at = now() + make_interval(secs => %(after)s),
                   wait_reason = %(reason)s, {_RELEASE}
             WHERE id = %(id)s AND fencing_token = %(token)s AND status = 'running'
            RETURNING id, job_id, tenant_id, key, agent, next_attempt_at
            """,
            {
                "id": step_id,
                "token": token,
                "after": max(retry_after, 0.0),
                "reason": reason[:255],
                "state": json.dumps(state) if state else None,
            },
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
            if row["job_status"] == "paused":
                target = "'paused'"
            elif row["job_status"] == "cancelled":
                target = "'cancelled'"
            else:
                target = "CASE WHEN attempts + 1 < max_attempts THEN 'ready' ELSE 'failed' END"
            step = sql.fetchone(
                f"""
                UPDATE orchestration_step
                   SET status = {target}, attempts = attempts + 1, fencing_token = fencing_token + 1,
                       next_attempt_at = now() + make_interval(secs => %(delay)s),
                       error = %(error)s::jsonb, wait_reason = 'worker lost', {_RELEASE}
                 WHERE id = %(id)s
                RETURNING id, job_id, tenant_id, key, agent, status, attempts, max_attempts, next_attempt_at
                """,
                {"id": row["id"], "delay": backoff(row["attempts"] + 1), "error": json.dumps(error)},
            )
            assert step is not None  # the row is locked above (FOR UPDATE): the UPDATE finds it
            _end_attempt(row["id"], row["fencing_token"], "lease_lost", error["message"])
            if step["status"] in ("ready", "failed"):
                outcomes.append(_after_failure(step, error))
            else:
                emit(step["job_id"], [_step_event(step, step["status"])])
    return outcomes
