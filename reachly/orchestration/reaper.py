"""The reaper: recovers from dead workers and stalled jobs.

* A running step whose lease expired lost its worker (kill -9, OOM, a lost
  machine): it goes back to ready with a backoff (see lifecycle.reap_expired),
  and its effects ledger makes the re-run skip what was already done.
* A running job with nothing running and nothing scheduled that made no
  progress for REACHLY_JOB_STALL_SECONDS has failed: say so, rather than
  leave it "running" forever.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction

from reachly.core import sql
from reachly.orchestration import lifecycle, signals, transitions
from reachly.orchestration.events import NewEvent, progress, record


def reap() -> int:
    outcomes = lifecycle.reap_expired()
    roles = set().union(*(o.roles for o in outcomes)) if outcomes else set()
    signals.trigger_dispatch(roles, on_commit=False)
    return len(outcomes)


def _job_failed_events(reason: str, job: dict[str, Any]) -> list[NewEvent]:
    return [NewEvent("job.status", {"status": "failed", "reason": reason, "progress": progress(job)})]


def fail_stalled_jobs() -> list[int]:
    failed: list[int] = []
    stalled = sql.fetchall(
        """
        SELECT j.id FROM orchestration_job j
         WHERE j.status = 'running'
           AND j.last_progress_at < statement_timestamp() - make_interval(secs => %s)
           AND NOT EXISTS (SELECT 1 FROM orchestration_step s
                            WHERE s.job_id = j.id AND (s.status = 'running'
                               OR (s.status = 'ready' AND s.next_attempt_at > statement_timestamp())))
         LIMIT 100
        """,
        [settings.REACHLY_JOB_STALL_SECONDS],
    )
    for row in stalled:
        reason = f"no progress for {int(settings.REACHLY_JOB_STALL_SECONDS)}s and nothing scheduled"
        with transaction.atomic():
            job = transitions.fail_stalled_job(row["id"], reason)
            if job is not None:
                record(job, _job_failed_events(reason, job))
                failed.append(row["id"])
    return failed
