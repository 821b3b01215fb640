"""Every statement that changes a step's or a job's status, by name.

The state machine is declared in states.py (STEP_TRANSITIONS,
JOB_TRANSITIONS); each `Query` here says which of those transitions it
performs, and tests/orchestration/test_transitions_table.py reads its
WHERE and SET clauses to check that it does only that. So the SQL is whole
text: no statement is assembled from fragments (a fragment could change
what the test reads), values travel as parameters. Choosing between two
whole statements (`stop`, `reap`, `job_finish`) is the callers' way to vary.

The functions run one statement and return its rows; the bookkeeping
around them (events, job counters, triggers, locks taken first) stays with
the callers in lifecycle.py, services.py, dispatcher.py, reaper.py,
reconciler.py and reachly.llm.services. They must be called inside the
caller's transaction when the docstring says so; none commits on its own,
except that a single statement outside a transaction is its own one.

Lock order, on every path: steps first, then the job row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from reachly.core import sql


class Query(NamedTuple):
    """A named statement and the transitions (names in STEP_TRANSITIONS /
    JOB_TRANSITIONS) it performs on steps and on the job."""

    sql: str
    step: tuple[str, ...] = ()
    job: tuple[str, ...] = ()


Row = dict[str, Any]

# ---------------------------------------------------------------------------
# Worker side
# ---------------------------------------------------------------------------

# One statement, so one round trip and an implicit transaction: the step,
# its attempt, the job's next event number and the event. Steps are locked
# before the job, as on every path. The RETURNING lists are
# events.EVENT_RETURNING (the test checks they agree).
CLAIM = Query(
    """
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
        RETURNING job_id, tenant_id, seq, type, step_id, data, ts
    )
    SELECT s.*, row_to_json(e)::jsonb AS event FROM s, e
    """,
    step=("claim",),
)


def claim(step_id: int, worker: str, lease_seconds: float, started_at: datetime) -> Row | None:
    """enqueued → running (job running), with its attempt and event.

    Returns the step's columns (lifecycle.Claimed's fields) and `event` (the
    inserted event row as JSON), or None when the step is not enqueued or
    its job is not running. Its own transaction when run outside one.
    """
    return sql.fetchone(CLAIM.sql, {"id": step_id, "worker": worker, "lease": lease_seconds, "started": started_at})


# A message claimed after its job was paused or cancelled: the step follows
# its job (paused steps are resumed with the job; cancelled ones are not).
FOLLOW_STOPPED_JOB = Query(
    """
    UPDATE orchestration_step s
       SET status = CASE j.status WHEN 'paused' THEN 'paused' ELSE 'cancelled' END,
           enqueued_at = NULL
      FROM orchestration_job j
     WHERE s.id = %s AND s.status = 'enqueued' AND j.id = s.job_id
       AND j.status IN ('paused', 'cancelled')
    """,
    step=("pause", "cancel"),
)


def follow_stopped_job(step_id: int) -> int:
    """enqueued → paused / cancelled, as its job; the number of rows (0 or 1)."""
    return sql.execute(FOLLOW_STOPPED_JOB.sql, [step_id])


DEFER = Query(
    """
    UPDATE orchestration_step
       SET status = 'ready', enqueued_at = NULL, wait_reason = %(reason)s,
           next_attempt_at = now() + make_interval(secs => %(after)s)
     WHERE id = %(id)s AND status = 'enqueued'
    """,
    step=("defer",),
)


def defer(step_id: int, after_seconds: float, reason: str) -> int:
    """enqueued → ready, due in `after_seconds` (≥ 0); rows changed (0 or 1).
    `reason` is stored as the wait reason (at most 255 characters)."""
    return sql.execute(DEFER.sql, {"id": step_id, "after": after_seconds, "reason": reason})


# One statement: the step, its dependents, its attempt, the job's counters
# and next event number, and the event. The progress object is
# events.progress() in SQL (progress.percent; the test checks they agree).
SUCCEED = Query(
    """
    WITH s AS (
        UPDATE orchestration_step
           SET status = 'succeeded', output = %(output)s::jsonb, finished_at = now(),
               error = NULL, wait_reason = '', lease_owner = '', lease_expires_at = NULL
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
                  j.last_seq, now() AS ts,
                  jsonb_build_object('total', j.total_steps, 'done', j.succeeded_steps, 'failed', j.failed_steps,
                                     'cancelled', j.cancelled_steps, 'percent',
                                     CASE WHEN j.total_steps > 0
                                          THEN round(100.0 * j.succeeded_steps / j.total_steps, 1)::float
                                          WHEN j.status = 'succeeded' THEN 100.0 ELSE 0.0 END) AS progress
    ), e AS (
        INSERT INTO orchestration_event (job_id, tenant_id, seq, type, step_id, data, ts)
        SELECT j.id, j.tenant_id, j.last_seq, 'step.status', s.id,
               jsonb_build_object('key', s.key, 'agent', s.agent, 'status', 'succeeded',
                                  'progress', j.progress), j.ts
          FROM s, j
        RETURNING job_id, tenant_id, seq, type, step_id, data, ts
    )
    SELECT s.id, s.job_id, s.agent, j.status AS job_status, j.total_steps, j.succeeded_steps,
           j.failed_steps, row_to_json(e)::jsonb AS event,
           ARRAY(SELECT DISTINCT d.agent FROM d WHERE d.status = 'ready') AS unblocked
      FROM s, j, e
    """,
    step=("succeed", "dependency_met", "unblock", "unblock_paused"),
)


def succeed(step_id: int, token: int, output_json: str) -> Row | None:
    """running → succeeded for the holder of fencing `token`; dependents one
    dependency nearer (blocked / ready / paused). `output_json` is the
    output as JSON text.

    Returns id, job_id, agent, job_status, total_steps, succeeded_steps,
    failed_steps, event (JSON) and unblocked (agents with steps now ready),
    or None when the token no longer holds the step.
    """
    return sql.fetchone(SUCCEED.sql, {"id": step_id, "token": token, "output": output_json})


# The outcome is decided in SQL from the row's own counters, so a stale
# attempts count in the worker cannot grant an extra attempt.
FAIL = Query(
    """
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
           lease_owner = '', lease_expires_at = NULL
     WHERE id = %(id)s AND fencing_token = %(token)s AND status = 'running'
    RETURNING id, job_id, tenant_id, key, agent, status, attempts, max_attempts, next_attempt_at
    """,
    step=("backoff", "fail"),
)


def fail(step_id: int, token: int, retryable: bool, delay_seconds: float, error_json: str) -> Row | None:
    """running → ready (retryable, attempts left: due in `delay_seconds`) or
    failed, for the holder of `token`; one attempt spent.

    Returns id, job_id, tenant_id, key, agent, status, attempts,
    max_attempts, next_attempt_at; None when the token no longer holds it.
    """
    return sql.fetchone(
        FAIL.sql,
        {"id": step_id, "token": token, "retryable": retryable, "delay": delay_seconds, "error": error_json},
    )


# A running step stopped at a safe point: one statement per outcome.
STOP_PAUSE = Query(
    """
    UPDATE orchestration_step
       SET status = 'paused', checkpoint = COALESCE(%(state)s::jsonb, checkpoint),
           next_attempt_at = now(), lease_owner = '', lease_expires_at = NULL,
           finished_at = NULL, wait_reason = ''
     WHERE id = %(id)s AND fencing_token = %(token)s AND status = 'running'
    RETURNING id, job_id, tenant_id, key, agent
    """,
    step=("pause",),
)
STOP_CANCEL = Query(
    """
    UPDATE orchestration_step
       SET status = 'cancelled', checkpoint = COALESCE(%(state)s::jsonb, checkpoint),
           next_attempt_at = now(), lease_owner = '', lease_expires_at = NULL,
           finished_at = now(), wait_reason = ''
     WHERE id = %(id)s AND fencing_token = %(token)s AND status = 'running'
    RETURNING id, job_id, tenant_id, key, agent
    """,
    step=("cancel",),
)
# Its sender account was paused or its worker shuts down: another worker
# resumes it from the checkpoint, no attempt spent.
STOP_RELEASE = Query(
    """
    UPDATE orchestration_step
       SET status = 'ready', checkpoint = COALESCE(%(state)s::jsonb, checkpoint),
           next_attempt_at = now(), lease_owner = '', lease_expires_at = NULL,
           finished_at = NULL, wait_reason = %(wait_reason)s
     WHERE id = %(id)s AND fencing_token = %(token)s AND status = 'running'
    RETURNING id, job_id, tenant_id, key, agent
    """,
    step=("release",),
)
_STOPS = {"paused": STOP_PAUSE, "cancelled": STOP_CANCEL, "ready": STOP_RELEASE}


def stop(step_id: int, token: int, target: str, wait_reason: str, state_json: str | None) -> Row | None:
    """running → `target` ("paused", "cancelled" or "ready"; KeyError for
    another) for the holder of `token`, keeping `state_json` (JSON text) as
    the checkpoint when given. `wait_reason` is used for "ready" only.

    Returns id, job_id, tenant_id, key, agent; None when the token no
    longer holds the step.
    """
    return sql.fetchone(
        _STOPS[target].sql, {"id": step_id, "token": token, "wait_reason": wait_reason, "state": state_json}
    )


WAIT = Query(
    """
    UPDATE orchestration_step
       SET status = 'ready', checkpoint = COALESCE(%(state)s::jsonb, checkpoint),
           next_attempt_at = now() + make_interval(secs => %(after)s),
           wait_reason = %(reason)s, lease_owner = '', lease_expires_at = NULL
     WHERE id = %(id)s AND fencing_token = %(token)s AND status = 'running'
    RETURNING id, job_id, tenant_id, key, agent, next_attempt_at
    """,
    step=("wait",),
)


def wait(step_id: int, token: int, after_seconds: float, reason: str, state_json: str | None) -> Row | None:
    """running → ready, due in `after_seconds` (≥ 0), for the holder of
    `token`; no attempt spent. Returns id, job_id, tenant_id, key, agent,
    next_attempt_at; None when the token no longer holds the step."""
    return sql.fetchone(
        WAIT.sql, {"id": step_id, "token": token, "after": after_seconds, "reason": reason, "state": state_json}
    )


# ---------------------------------------------------------------------------
# The reaper: leases expired
# ---------------------------------------------------------------------------

# The fencing token is bumped: the old worker, if only slow, can no longer
# write. The row is locked by the caller (SELECT ... FOR UPDATE) first.
REAP = Query(
    """
    UPDATE orchestration_step
       SET status = CASE WHEN attempts + 1 < max_attempts THEN 'ready' ELSE 'failed' END,
           attempts = attempts + 1, fencing_token = fencing_token + 1,
           next_attempt_at = now() + make_interval(secs => %(delay)s),
           error = %(error)s::jsonb, wait_reason = 'worker lost', lease_owner = '', lease_expires_at = NULL
     WHERE id = %(id)s AND status = 'running'
    RETURNING id, job_id, tenant_id, key, agent, status, attempts, max_attempts, next_attempt_at
    """,
    step=("reap", "fail"),
)
REAP_FOR_PAUSED_JOB = Query(
    """
    UPDATE orchestration_step
       SET status = 'paused', attempts = attempts + 1, fencing_token = fencing_token + 1,
           next_attempt_at = now() + make_interval(secs => %(delay)s),
           error = %(error)s::jsonb, wait_reason = 'worker lost', lease_owner = '', lease_expires_at = NULL
     WHERE id = %(id)s AND status = 'running'
    RETURNING id, job_id, tenant_id, key, agent, status, attempts, max_attempts, next_attempt_at
    """,
    step=("pause",),
)
REAP_FOR_CANCELLED_JOB = Query(
    """
    UPDATE orchestration_step
       SET status = 'cancelled', attempts = attempts + 1, fencing_token = fencing_token + 1,
           next_attempt_at = now() + make_interval(secs => %(delay)s),
           error = %(error)s::jsonb, wait_reason = 'worker lost', lease_owner = '', lease_expires_at = NULL
     WHERE id = %(id)s AND status = 'running'
    RETURNING id, job_id, tenant_id, key, agent, status, attempts, max_attempts, next_attempt_at
    """,
    step=("cancel",),
)


def reap(step_id: int, job_status: str, delay_seconds: float, error_json: str) -> Row | None:
    """A running step whose lease expired: paused or cancelled with its job
    (`job_status`), else ready (due in `delay_seconds`) or failed (no
    attempts left); one attempt spent, fencing token bumped. Lock the row
    first (inside the caller's transaction).

    Returns id, job_id, tenant_id, key, agent, status, attempts,
    max_attempts, next_attempt_at; None when the step is not running.
    """
    query = {"paused": REAP_FOR_PAUSED_JOB, "cancelled": REAP_FOR_CANCELLED_JOB}.get(job_status, REAP)
    return sql.fetchone(query.sql, {"id": step_id, "delay": delay_seconds, "error": error_json})


# ---------------------------------------------------------------------------
# Job control: the steps (taken before the job row), then the job
# ---------------------------------------------------------------------------

PAUSE_JOB_STEPS = Query(
    """
    UPDATE orchestration_step SET status = 'paused', enqueued_at = NULL
     WHERE job_id = %s AND status IN ('ready', 'enqueued')
    """,
    step=("pause",),
)


def pause_job_steps(job_id: int) -> int:
    """A job's waiting steps (ready, enqueued) → paused; how many. Running
    ones stop at their next safe point (the stop flag)."""
    return sql.execute(PAUSE_JOB_STEPS.sql, [job_id])


RESUME_JOB_STEPS = Query(
    """
    UPDATE orchestration_step SET status = 'ready', next_attempt_at = now()
     WHERE job_id = %s AND status = 'paused' RETURNING agent
    """,
    step=("resume",),
)


def resume_job_steps(job_id: int) -> list[Row]:
    """A job's paused steps → ready, due now; one row (agent) per step."""
    return sql.fetchall(RESUME_JOB_STEPS.sql, [job_id])


# Running steps lose their lease (fencing token bumped): their workers stop
# at the next safe point and can no longer write.
CANCEL_JOB_STEPS = Query(
    """
    UPDATE orchestration_step
       SET status = 'cancelled', fencing_token = fencing_token + 1, finished_at = now(),
           lease_owner = '', lease_expires_at = NULL, enqueued_at = NULL
     WHERE job_id = %s AND status IN ('blocked', 'ready', 'enqueued', 'running', 'paused')
    RETURNING id, fencing_token - 1 AS old_token
    """,
    step=("cancel",),
)


def cancel_job_steps(job_id: int) -> list[Row]:
    """Every unfinished step of a job → cancelled; one row per step (id,
    old_token: the fencing token its attempt ran under)."""
    return sql.fetchall(CANCEL_JOB_STEPS.sql, [job_id])


RETRY_STEPS = Query(
    """
    UPDATE orchestration_step s
       SET status = CASE WHEN j.status = 'paused' THEN 'paused' ELSE 'ready' END,
           attempts = 0, error = NULL, next_attempt_at = now(), finished_at = NULL, wait_reason = ''
      FROM orchestration_job j
     WHERE s.id = ANY(%s) AND s.job_id = %s AND j.id = s.job_id AND s.status = 'failed'
    RETURNING s.id, s.job_id, s.tenant_id, s.key, s.agent, s.status
    """,
    step=("retry", "retry_paused"),
)


def retry_steps(job_id: int, step_ids: list[int]) -> list[Row]:
    """Failed steps of one job → ready (paused if the job is), attempts
    reset; one row (id, job_id, tenant_id, key, agent, status) per step
    changed: fewer than `step_ids` when some were not failed."""
    return sql.fetchall(RETRY_STEPS.sql, [step_ids, job_id])


# Each job statement takes the job's next event number (the caller records
# one event with events.record) and returns the row events.emit returns:
# events.JOB_RETURNING's columns (the test checks they agree).
PAUSE_JOB = Query(
    """
    UPDATE orchestration_job SET status = 'paused', status_reason = %(reason)s, last_seq = last_seq + 1
     WHERE id = %(id)s AND status = 'running'
    RETURNING id, tenant_id, status, total_steps, succeeded_steps, failed_steps, cancelled_steps, last_seq,
              now() AS ts
    """,
    job=("pause",),
)
RESUME_JOB = Query(
    """
    UPDATE orchestration_job
       SET status = 'running', status_reason = %(reason)s, last_progress_at = now(), last_seq = last_seq + 1
     WHERE id = %(id)s AND status = 'paused'
    RETURNING id, tenant_id, status, total_steps, succeeded_steps, failed_steps, cancelled_steps, last_seq,
              now() AS ts
    """,
    job=("resume",),
)
CANCEL_JOB = Query(
    """
    UPDATE orchestration_job
       SET status = 'cancelled', status_reason = %(reason)s, finished_at = now(),
           cancelled_steps = cancelled_steps + %(cancelled)s, last_seq = last_seq + 1
     WHERE id = %(id)s AND status IN ('running', 'paused')
    RETURNING id, tenant_id, status, total_steps, succeeded_steps, failed_steps, cancelled_steps, last_seq,
              now() AS ts
    """,
    job=("cancel",),
)
_JOB_CONTROLS = {"pause": PAUSE_JOB, "resume": RESUME_JOB, "cancel": CANCEL_JOB}


def control_job(job_id: int, action: str, reason: str, cancelled_steps: int = 0) -> Row | None:
    """The job row for `action` ("pause", "resume", "cancel"; KeyError for
    another), after its steps; `cancelled_steps` is added to the job's
    counter by a cancel. Returns the job row (events.JOB_RETURNING columns)
    with its next event number taken, or None when the job's status does
    not allow the action."""
    return sql.fetchone(_JOB_CONTROLS[action].sql, {"id": job_id, "reason": reason, "cancelled": cancelled_steps})


SUCCEED_JOB = Query(
    """
    UPDATE orchestration_job
       SET status = 'succeeded', status_reason = %(reason)s, finished_at = now(), last_seq = last_seq + 1
     WHERE id = %(id)s AND status IN ('running', 'paused')
    RETURNING id, tenant_id, status, total_steps, succeeded_steps, failed_steps, cancelled_steps, last_seq,
              now() AS ts
    """,
    job=("succeed",),
)
FAIL_JOB = Query(
    """
    UPDATE orchestration_job
       SET status = 'failed', status_reason = %(reason)s, finished_at = now(), last_seq = last_seq + 1
     WHERE id = %(id)s AND status IN ('running', 'paused')
    RETURNING id, tenant_id, status, total_steps, succeeded_steps, failed_steps, cancelled_steps, last_seq,
              now() AS ts
    """,
    job=("fail",),
)
_JOB_ENDS = {"succeeded": SUCCEED_JOB, "failed": FAIL_JOB}


def finish_job(job_id: int, status: str, reason: str) -> Row | None:
    """A running or paused job → `status` ("succeeded" or "failed"; KeyError
    for another), with `reason`. Returns the job row (JOB_RETURNING columns)
    with its next event number taken; None when it had finished already
    (a cancel came first)."""
    return sql.fetchone(_JOB_ENDS[status].sql, {"id": job_id, "reason": reason})


# Stalled: only a running job (a paused one waits for people, not steps).
FAIL_STALLED_JOB = Query(
    """
    UPDATE orchestration_job
       SET status = 'failed', status_reason = %(reason)s, finished_at = now(), last_seq = last_seq + 1
     WHERE id = %(id)s AND status = 'running'
    RETURNING id, tenant_id, status, total_steps, succeeded_steps, failed_steps, cancelled_steps, last_seq,
              now() AS ts
    """,
    job=("fail",),
)


def fail_stalled_job(job_id: int, reason: str) -> Row | None:
    """A running job → failed; the job row (JOB_RETURNING columns) with its
    next event number taken, or None when it is no longer running."""
    return sql.fetchone(FAIL_STALLED_JOB.sql, {"id": job_id, "reason": reason})


REOPEN_JOB = Query(
    """
    UPDATE orchestration_job
       SET status = 'running', finished_at = NULL, status_reason = 'retrying failed steps',
           last_seq = last_seq + 1
     WHERE id = %(id)s AND status = 'failed'
    RETURNING id, tenant_id, status, total_steps, succeeded_steps, failed_steps, cancelled_steps, last_seq,
              now() AS ts
    """,
    job=("reopen",),
)


def reopen_job(job_id: int) -> Row | None:
    """A failed job → running (its failed steps are being retried); the job
    row (JOB_RETURNING columns) with its next event number taken, or None
    when it is not failed."""
    return sql.fetchone(REOPEN_JOB.sql, {"id": job_id})


# ---------------------------------------------------------------------------
# The dispatcher and the reconciler
# ---------------------------------------------------------------------------

ADMIT = Query(
    """
    UPDATE orchestration_step
       SET status = 'enqueued', enqueued_at = statement_timestamp(), counted = true, wait_reason = ''
     WHERE id = ANY(%s) AND status = 'ready'
    RETURNING id, job_id, tenant_id, agent, sender_account_id
    """,
    step=("admit",),
)


def admit(step_ids: list[int]) -> list[Row]:
    """Ready steps → enqueued (counted for the month); one row (id, job_id,
    tenant_id, agent, sender_account_id) per step admitted. Raises
    IntegrityError when a sender account would have two active steps."""
    return sql.fetchall(ADMIT.sql, [step_ids])


PARK = Query(
    """
    UPDATE orchestration_step SET next_attempt_at = %s, wait_reason = %s
     WHERE agent = %s AND tenant_id = %s AND status = 'ready' AND next_attempt_at <= statement_timestamp()
    """,
    step=("park",),
)


def park(role: str, tenant_id: int, until: datetime | None, reason: str) -> int:
    """A tenant's due ready steps for agent `role` wait until `until` (None:
    until unparked), with `reason`; how many."""
    return sql.execute(PARK.sql, [until, reason, role, tenant_id])


UNPARK = Query(
    """
    UPDATE orchestration_step SET next_attempt_at = statement_timestamp(), wait_reason = ''
     WHERE tenant_id = %s AND status = 'ready' AND wait_reason LIKE 'not admitted:%%'
    """,
    step=("unpark",),
)


def unpark(tenant_id: int) -> int:
    """A tenant's steps parked by the dispatcher are due now; how many."""
    return sql.execute(UNPARK.sql, [tenant_id])


UNPARK_WAITING_FOR = Query(
    """
    UPDATE orchestration_step SET next_attempt_at = now()
     WHERE tenant_id = %s AND status = 'ready' AND agent = ANY(%s) AND wait_reason LIKE %s
    """,
    step=("unpark",),
)


def unpark_waiting_for(tenant_id: int, roles: list[str], reason_like: str) -> int:
    """A tenant's ready steps of `roles` whose wait reason matches the LIKE
    pattern `reason_like` are due now; how many."""
    return sql.execute(UNPARK_WAITING_FOR.sql, [tenant_id, roles, reason_like])


# Moved whole from reconciler.py (the sender-account lane work changes the
# time zone lookup in RETURNING). The row is locked in `stale`; the status
# is checked again in the UPDATE so the statement says its own from-status.
REPUBLISH = Query(
    """
    WITH stale AS (
        SELECT id FROM orchestration_step
         WHERE id = ANY(%s) AND status = 'enqueued'
         FOR UPDATE SKIP LOCKED)
    UPDATE orchestration_step s SET enqueued_at = now()
      FROM stale WHERE s.id = stale.id AND s.status = 'enqueued'
    RETURNING s.id, s.job_id, s.tenant_id, s.agent, s.sender_account_id,
              (SELECT a.timezone FROM orchestration_lane a WHERE a.account_id = s.sender_account_id) AS tz
    """,
    step=("republish",),
)


def republish(step_ids: list[int]) -> list[Row]:
    """Enqueued steps (not locked by someone else) count as admitted now;
    one row (id, job_id, tenant_id, agent, sender_account_id, tz) per step,
    to publish again."""
    return sql.fetchall(REPUBLISH.sql, [step_ids])
