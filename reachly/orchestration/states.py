"""The control plane's state machine: which status changes exist, and the
error for a job action that is not possible.

`STEP_TRANSITIONS` and `JOB_TRANSITIONS` name every status change of a step
and of a job: the statuses it may start from and the status it leads to.
The statements that perform them are in `reachly/orchestration/transitions.py`,
each saying which transitions it performs; tests/orchestration/
test_transitions_table.py reads their SQL and checks it against these tables.

A statement whose `SET status` is a CASE performs several transitions (one
per outcome); a transition whose target equals its source (park, republish)
changes when or why a step waits, not its status.

Rows are created, not transitioned, in their first status: a job `running`,
a step `blocked` (dependencies not done), `ready`, or `paused` (added to a
paused job).
"""

from __future__ import annotations

from typing import NamedTuple

from reachly.orchestration.models import JobStatus
from reachly.orchestration.models import StepStatus as S


class IllegalTransition(Exception):
    """The requested change is not possible from the current state (HTTP 409)."""

    def __init__(self, action: str, status: str):
        self.action = action
        self.status = status
        super().__init__(f"cannot {action} a job that is {status}")


class Transition(NamedTuple):
    """A status change: the statuses it may start from and where it leads."""

    sources: tuple[str, ...]
    target: str


STEP_TRANSITIONS: dict[str, Transition] = {
    # A dependency succeeded: one fewer to wait for (more remain), or none
    # left (ready, or paused when its job is paused).
    "dependency_met": Transition((S.BLOCKED,), S.BLOCKED),
    "unblock": Transition((S.BLOCKED,), S.READY),
    "unblock_paused": Transition((S.BLOCKED,), S.PAUSED),
    # The dispatcher: admit into the agent's queue; or park a tenant's due
    # steps (agent disabled, tenant suspended, monthly limit spent) until a
    # later time, and unpark them when the plan, allocation or LLM budget
    # changes.
    "admit": Transition((S.READY,), S.ENQUEUED),
    "park": Transition((S.READY,), S.READY),
    "unpark": Transition((S.READY,), S.READY),
    # The reconciler: an admitted step whose message was lost is published again.
    "republish": Transition((S.ENQUEUED,), S.ENQUEUED),
    # A worker: a limit said "not now" before the start (no attempt used);
    # or the claim, with a new fencing token and lease.
    "defer": Transition((S.ENQUEUED,), S.READY),
    "claim": Transition((S.ENQUEUED,), S.RUNNING),
    # A running step ends: done; an error with attempts left (due again
    # after a backoff); no attempts left or not retryable; a limit between
    # two actions; stopped at a safe point for its sender account's pause
    # or its worker's shutdown (no attempt spent); its lease expired (the
    # worker died: an attempt spent).
    "succeed": Transition((S.RUNNING,), S.SUCCEEDED),
    "backoff": Transition((S.RUNNING,), S.READY),
    "fail": Transition((S.RUNNING,), S.FAILED),
    "wait": Transition((S.RUNNING,), S.READY),
    "release": Transition((S.RUNNING,), S.READY),
    "reap": Transition((S.RUNNING,), S.READY),
    # Job control. Pause parks what waits at once (ready, enqueued; an
    # enqueued step claimed after the pause follows its job), a running step
    # at its next safe point or when its lease is reaped; blocked steps stay
    # blocked and become paused when unblocked. Cancel takes every
    # unfinished step at once.
    "pause": Transition((S.READY, S.ENQUEUED, S.RUNNING), S.PAUSED),
    "resume": Transition((S.PAUSED,), S.READY),
    "cancel": Transition((S.BLOCKED, S.READY, S.ENQUEUED, S.RUNNING, S.PAUSED), S.CANCELLED),
    # An operator retries a failed step from scratch (its attempts reset).
    "retry": Transition((S.FAILED,), S.READY),
    "retry_paused": Transition((S.FAILED,), S.PAUSED),
}

JOB_TRANSITIONS: dict[str, Transition] = {
    "pause": Transition((JobStatus.RUNNING,), JobStatus.PAUSED),
    "resume": Transition((JobStatus.PAUSED,), JobStatus.RUNNING),
    "cancel": Transition((JobStatus.RUNNING, JobStatus.PAUSED), JobStatus.CANCELLED),
    # Its last step succeeded (a running step of a paused job may be the last).
    "succeed": Transition((JobStatus.RUNNING, JobStatus.PAUSED), JobStatus.SUCCEEDED),
    # Steps failed and none can run any more; or (running only) no progress
    # for REACHLY_JOB_STALL_SECONDS with nothing scheduled.
    "fail": Transition((JobStatus.RUNNING, JobStatus.PAUSED), JobStatus.FAILED),
    # Retrying failed steps reopens a finished-with-failures job.
    "reopen": Transition((JobStatus.FAILED,), JobStatus.RUNNING),
}

# Action (a door's request: API, web, admin) -> the job statuses it may
# start from. Pause, resume and cancel are the job transitions of those
# names; retry acts on failed steps of a job that is not finished, or
# reopens a failed one.
JOB_ACTIONS: dict[str, tuple[str, ...]] = {
    "pause": JOB_TRANSITIONS["pause"].sources,
    "resume": JOB_TRANSITIONS["resume"].sources,
    "cancel": JOB_TRANSITIONS["cancel"].sources,
    "retry": (JobStatus.RUNNING, JobStatus.PAUSED, *JOB_TRANSITIONS["reopen"].sources),
}


def check(action: str, status: str) -> None:
    """Raise IllegalTransition unless a job in `status` allows `action`
    (a key of JOB_ACTIONS; KeyError for another)."""
    if status not in JOB_ACTIONS[action]:
        raise IllegalTransition(action, status)
