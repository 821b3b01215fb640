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

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from agents.ports import StepContext


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


class InvalidGraph(PermanentError):
    """Steps an agent asked to add to its job form an invalid graph.
    `errors` maps ``steps[i].field`` to a message, as the API reports it."""

    def __init__(self, errors: dict[str, str]):
        first = next(iter(errors.items()), ("steps", "invalid"))
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"{first[0]}: {first[1]}{more}", details={"errors": errors})
        self.errors = errors


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


class Agent(Protocol):
    """An agent implementation: `run` does the step's work through the
    ports of `ctx` (agents/ports.py) and returns its output, a JSON-safe
    dict. It raises the errors above to tell the control plane what to do."""

    def run(self, ctx: StepContext) -> dict[str, Any]: ...
