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
from decimal import Decimal
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


class LLMPort(Protocol):
    """What an LLM agent (agents/llm/client.py) needs from the control plane:
    its settings, the tokens-per-minute limit and the ledger of provider
    calls. Plain data in and out; the database and Redis stay behind it."""

    def llm_settings(self) -> dict[str, Any]:
        """The step's LLM configuration, read anew on every call (a raised
        budget counts at once). Keys:

        * ``providers``: provider name → config dict (``type``, ``model``,
          endpoint, key...); ``chain``: provider names to try, in order;
          ``chain_override`` / ``model_override``: the allocation's overrides
          ("" when none);
        * ``tokens_per_minute``: the tenant's tokens per minute per provider
          (int, or None for no limit);
        * ``budget``: the monthly budget in USD as a decimal string, or None
          for no budget; ``spent``: USD spent this month, decimal string;
          ``budget_recheck_seconds``: float seconds a step waits on a spent
          budget;
        * ``max_tokens`` (int, completion tokens per call), ``max_reprompts``
          (int), ``prices`` (model → prices), ``timeouts`` (``connect`` /
          ``read``, float seconds), ``inline_retries`` (int) and
          ``inline_retry_max_seconds`` (float); also ``tenant_id``, ``role``.
        """
        ...

    def llm_tokens_acquire(self, provider: str, tokens: int, tokens_per_minute: int | None) -> Callable[[], None]:
        """Reserve `tokens` (prompt plus completion, an estimate of the most
        the call may use) of the tenant's `tokens_per_minute` on `provider`
        (None or 0: only operator rules apply), through the global limiter.

        Returns the refund: call it when the call did not happen or failed,
        so the tokens count for nothing. Raises RateLimited when denied;
        its `retry_after` is -1 when the request alone exceeds the limit
        (waiting cannot help).
        """
        ...

    def llm_call_record(
        self,
        *,
        task: str,
        provider: str,
        model: str,
        outcome: str,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        cost: Decimal | str = "0",
        latency_ms: int = 0,
        fallback: bool = False,
        error: str = "",
        effect_key: str = "",
        completion: str = "",
    ) -> dict[str, Any]:
        """Record one provider call of this step, once; a successful one
        (`outcome` "ok") is added to the month's usage.

        `task` is the prompt template's name; `outcome` one of "ok",
        "rate_limited", "unavailable", "error"; `cost` in USD (a Decimal or
        its string, default 0); `latency_ms` in milliseconds; `fallback`
        says an earlier provider of the chain refused; `error` the refusal;
        `effect_key` and `completion` (the answer's text) for a successful
        call. Recording the same successful `effect_key` twice keeps the
        first. Returns the recorded call: ``text``, ``provider``, ``model``,
        ``prompt_tokens``, ``completion_tokens``, ``cost`` (USD, decimal
        string), ``fallback``, ``call_id``. Raises ValueError for an unknown
        outcome.
        """
        ...

    def llm_call_find(self, effect_key: str) -> dict[str, Any] | None:
        """This step's recorded successful call under `effect_key`, shaped as
        `llm_call_record` returns it, or None (the effect ledger's verify)."""
        ...


class JobPort(Protocol):
    """The step's own job, for the planning and analysing agents."""

    def job_summary(self) -> dict[str, Any]:
        """The job's results and metrics so far, as plain data: ``job`` (id,
        name, status, step counts, ``started_at`` ISO 8601 or None),
        ``steps`` (agent → status → count), ``llm`` (calls, tokens, cost in
        USD as a decimal string, calls by provider, refused calls) and, for
        a campaign's job, ``campaign`` and ``leads`` (total, by status; both
        None otherwise)."""
        ...

    def job_step_keys(self) -> list[str]:
        """The keys of every step of the job, in creation order."""
        ...

    def job_extend(self, steps: list[dict[str, Any]]) -> list[str]:
        """Add `steps` (the API's step format: ``key``, ``agent``, optional
        ``input``, ``depends_on``, ``priority``, ``sender_account``,
        ``max_attempts``) to the job and return their keys. Idempotent: steps an
        earlier run already added are not added again. Raises GraphError
        (reachly.orchestration.graph) when the graph would be invalid."""
        ...


class StepContext(LLMPort, JobPort, Protocol):
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
