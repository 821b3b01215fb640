"""The agent contract and the errors that tell the control plane what to do.

An agent gets a StepContext and returns a JSON-serialisable dict (the step's
output). It never sleeps on a limit and never loops past a stop request:

* before each external action it calls `ctx.acquire(action)`, which raises
  RateLimited when a global limit says "not now";
* between actions it calls `ctx.safe_point()`, which raises StopRequested
  when the job was paused or cancelled, and `ctx.checkpoint(state)` so a
  resumed or retried step continues where it stopped;
* every effect on the outside world goes through `ctx.effect(key, fn)`, so a
  re-run skips what was already done.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class AgentError(Exception):
    """A step failed. `retryable` says whether running it again can help."""

    retryable = True

    def __init__(self, message: str, *, retryable: bool | None = None, details: Any = None):
        super().__init__(message)
        if retryable is not None:
            self.retryable = retryable
        self.details = details


class PermanentError(AgentError):
    """Retrying cannot help (bad input, agent disabled, invalid output...)."""

    retryable = False


class RateLimited(Exception):
    """A limit denied an action; the step goes back to the database until
    `retry_after` seconds have passed. Not an error: no attempt is used."""

    def __init__(self, retry_after: float, scope: str):
        super().__init__(f"rate limited by {scope}, retry in {retry_after:.2f}s")
        self.retry_after = retry_after
        self.scope = scope


class StopRequested(Exception):
    """The job (or the step's sender account) was paused or cancelled."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason  # "pause" | "cancel"


class LeaseLost(Exception):
    """Another worker owns this step now (our lease expired); stop quietly."""


class StepContext(Protocol):
    step_id: int
    job_id: int
    tenant_id: int
    role: str
    input: dict[str, Any]
    state: dict[str, Any]  # the last checkpoint, {} on the first run
    attempt: int
    sender_account_id: int | None

    def safe_point(self) -> None: ...

    def checkpoint(self, state: dict[str, Any]) -> None: ...

    def acquire(self, action: str, weight: int = 1) -> None: ...

    def effect(
        self,
        key: str,
        fn: Callable[[], T],
        *,
        verify: Callable[[], T | None] | None = None,
    ) -> T: ...

    def upstream(self) -> dict[str, Any]:
        """Outputs of the steps this one depends on, by step key."""
        ...

    # Sender account and leads (browser agents). Plain data only.
    def account(self) -> dict[str, Any] | None: ...

    def session_load(self) -> dict[str, Any] | None: ...

    def session_save(self, state: dict[str, Any]) -> None: ...

    def credentials(self) -> tuple[str, str | None]: ...

    def account_cool_down(self, seconds: float, reason: str) -> None: ...

    def account_needs_login(self, reason: str) -> None: ...

    def leads(self, ids: list[int]) -> list[dict[str, Any]]: ...

    def lead_update(self, lead_id: int, status: str, detail: str = "") -> None: ...


class Agent(Protocol):
    def run(self, ctx: StepContext) -> dict[str, Any]: ...
