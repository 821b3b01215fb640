"""Which job transitions are allowed, and the error for the others."""

from __future__ import annotations

from reachly.orchestration.models import JobStatus


class IllegalTransition(Exception):
    """The requested change is not possible from the current state (HTTP 409)."""

    def __init__(self, action: str, status: str):
        self.action = action
        self.status = status
        super().__init__(f"cannot {action} a job that is {status}")


# action -> the statuses it may start from
JOB_ACTIONS: dict[str, tuple[str, ...]] = {
    "pause": (JobStatus.RUNNING,),
    "resume": (JobStatus.PAUSED,),
    "cancel": (JobStatus.RUNNING, JobStatus.PAUSED),
    # Retrying failed steps reopens a finished-with-failures job.
    "retry": (JobStatus.RUNNING, JobStatus.PAUSED, JobStatus.FAILED),
}


def check(action: str, status: str) -> None:
    if status not in JOB_ACTIONS[action]:
        raise IllegalTransition(action, status)
