"""The ports: everything an agent may ask of the platform, as small Protocols.

An agent's `run(ctx)` sees the platform only through `ctx`, a StepContext.
Its own methods are the control plane's (safe points, checkpoints, action
limits, effects, upstream outputs); the rest are ports, each owned and
implemented by one domain and composed by the step runner
(reachly/orchestration/runner.py):

=================  ====================  =====================================
``ctx.job``        JobPort               reachly.orchestration (runner)
``ctx.sink``       TestSinkPort          reachly.orchestration (testing_sink)
``ctx.sender``     SenderAccountPort     reachly.campaigns (step_ports)
``ctx.leads``      LeadPort              reachly.campaigns (step_ports)
``ctx.llm``        LLMPort               reachly.llm (step_ports)
``ctx.webhooks``   WebhookPort           reachly.webhooks (step_ports)
=================  ====================  =====================================

Plain data crosses a port (dicts, lists, str, int, float; money as decimal
strings); no model instance, no queryset, no Redis client. Agents import
nothing of `reachly` but `reachly.observability` and `reachly.core` (the
layers contract in pyproject.toml), so a port is their only way in.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class JobPort(Protocol):
    """The step's own job (orchestration), for the planning agent."""

    def step_keys(self) -> list[str]:
        """The keys of every step of the job, in creation order."""
        ...

    def graph_errors(self, steps: list[dict[str, Any]]) -> dict[str, str]:
        """Check `steps` (the API's step format: ``key``, ``agent``, optional
        ``input``, ``depends_on``, ``priority``, ``sender_account``,
        ``max_attempts``) as additions to this job, with the job's existing
        keys taken and available as dependencies. Returns ``steps[i].field``
        → message, empty when the graph is valid; raises nothing."""
        ...

    def extend(self, steps: list[dict[str, Any]]) -> list[str]:
        """Add `steps` (format as in `graph_errors`) to the job and return
        their keys. Idempotent: steps an earlier run already added are not
        added again. Raises agents.base.InvalidGraph when the graph would be
        invalid."""
        ...

    def step_key_pattern(self) -> str:
        """The regular expression a step key must match (for a JSON schema)."""
        ...

    def priorities(self) -> list[int]:
        """The priority levels a step may have (lower runs first)."""
        ...


class TestSinkPort(Protocol):
    """The test agent's external system (orchestration's SinkRecord table):
    where benchmarks and crash tests count effects that really happened."""

    def record(self, item: int) -> dict[str, Any]:
        """Record that this step processed `item`; returns ``{"item": item}``."""
        ...

    def find(self, item: int) -> dict[str, Any] | None:
        """``{"item": item}`` when this step already recorded `item`, else None."""
        ...


class SenderAccountPort(Protocol):
    """The step's sender account (campaigns). Every method is a no-op or
    None on a step without an account, except `credentials`."""

    def data(self) -> dict[str, Any] | None:
        """The account as plain data without secrets, or None: ``id``,
        ``name``, ``network``, ``login``, ``timezone`` (IANA name),
        ``status``, ``cooling_down_until`` (aware UTC datetime or None),
        ``working_hours_start`` / ``working_hours_end`` (local times or
        None), ``daily_invite_cap`` / ``daily_message_cap`` /
        ``daily_visit_cap`` (ints). Read once per step."""
        ...

    def session_load(self) -> dict[str, Any] | None:
        """The saved browser session (Playwright storage state), decrypted,
        or None when there is none."""
        ...

    def session_save(self, state: dict[str, Any]) -> None:
        """Save the browser session (storage state); stored encrypted."""
        ...

    def credentials(self) -> tuple[str, str | None]:
        """(login, password or None), decrypted. Raises PermanentError when
        the step has no sender account."""
        ...

    def cool_down(self, seconds: float, reason: str) -> None:
        """The target pushed back: the account rests for `seconds` (other
        accounts go on). The caller then raises RateLimited so its step
        waits too."""
        ...

    def needs_login(self, reason: str) -> None:
        """Sign-in failed: nothing more is admitted on the account until
        someone gives it a working password or session."""
        ...


class LeadPort(Protocol):
    """The tenant's leads (campaigns)."""

    def get(self, ids: list[int]) -> list[dict[str, Any]]:
        """The tenant's leads with these ids, in the given order (unknown ids
        and other tenants' leads are left out): ``id``, ``campaign_id``,
        ``profile_url``, ``first_name``, ``last_name``, ``full_name``,
        ``company``, ``title``, ``email``, ``custom_fields`` (dict),
        ``status``, ``status_detail``."""
        ...

    def update(self, lead_id: int, status: str, detail: str = "") -> None:
        """Set a lead's status (a Lead.Status value) with a short reason,
        recorded against this step's job and sender account. Raises
        ValueError for an unknown status."""
        ...


class LLMPort(Protocol):
    """What an LLM agent (agents/llm/client.py) needs (llm): its settings,
    the tokens-per-minute limit, the ledger of provider calls and the
    provider cool-downs shared by every worker."""

    def settings(self) -> dict[str, Any]:
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

    def tokens_acquire(self, provider: str, tokens: int, tokens_per_minute: int | None) -> Callable[[], None]:
        """Reserve `tokens` (prompt plus completion, an estimate of the most
        the call may use) of the tenant's `tokens_per_minute` on `provider`
        (None or 0: only operator rules apply), through the global limiter.

        Returns the refund: call it when the call did not happen or failed,
        so the tokens count for nothing. Raises RateLimited when denied;
        its `retry_after` is -1 when the request alone exceeds the limit
        (waiting cannot help).
        """
        ...

    def call_record(
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

    def call_find(self, effect_key: str) -> dict[str, Any] | None:
        """This step's recorded successful call under `effect_key`, shaped as
        `call_record` returns it, or None (the effect ledger's verify)."""
        ...

    def provider_cool_down(self, provider: str, seconds: float) -> None:
        """`provider` answered 429: every worker skips it for `seconds` (a
        shorter cool-down never shortens a longer one)."""
        ...

    def provider_cooling(self, provider: str) -> float:
        """Seconds until `provider` may be asked again (0.0: now)."""
        ...

    def job_summary(self) -> dict[str, Any]:
        """The job's results and metrics so far, for the data analyst, as
        plain data: ``job`` (id, name, status, step counts, ``started_at``
        ISO 8601 or None), ``steps`` (agent → status → count), ``llm``
        (calls, tokens, cost in USD as a decimal string, calls by provider,
        refused calls) and, for a campaign's job, ``campaign`` and ``leads``
        (total, by status; both None otherwise)."""
        ...


class WebhookPort(Protocol):
    """The tenant's webhook endpoints (webhooks)."""

    def target(self, endpoint_id: int) -> dict[str, Any] | None:
        """Where to deliver for the tenant's endpoint `endpoint_id`:
        ``url`` (str), ``secret`` (str, decrypted), ``active`` (bool); None
        when the endpoint does not exist (deleted) or is another tenant's."""
        ...


class StepContext(Protocol):
    """One claimed step, as its agent sees it: identity, input, the last
    checkpoint, the control-plane methods and the ports."""

    step_id: int
    job_id: int
    tenant_id: int
    role: str
    input: dict[str, Any]
    state: dict[str, Any]  # the last checkpoint, {} on the first run
    attempt: int  # attempts used before this run (0 on the first)
    sender_account_id: int | None

    # The ports (read-only: a context may build them on first use).
    @property
    def job(self) -> JobPort: ...

    @property
    def sink(self) -> TestSinkPort: ...

    @property
    def sender(self) -> SenderAccountPort: ...

    @property
    def leads(self) -> LeadPort: ...

    @property
    def llm(self) -> LLMPort: ...

    @property
    def webhooks(self) -> WebhookPort: ...

    def safe_point(self) -> None:
        """Between actions: raises StopRequested when the job (or the step's
        sender account) was paused or cancelled or the worker shuts down,
        LeaseLost when another worker owns the step now."""
        ...

    def checkpoint(self, state: dict[str, Any]) -> None:
        """Save `state` (JSON-safe) so a resumed or retried run continues
        from it (as `ctx.state`). Raises LeaseLost when the step is no
        longer this run's."""
        ...

    def acquire(self, action: str, weight: int = 1) -> None:
        """Before one external action ("invite", "message", "visit", ...):
        the sender account's working hours and daily caps and every global
        limit on the action, in one limiter call. Raises RateLimited (with
        seconds to wait) when one says "not now"; counts `weight` actions
        in the tenant's usage when allowed."""
        ...

    def effect(self, key: str, fn: Callable[[], T], *, verify: Callable[[], T | None] | None = None) -> T:
        """Run `fn` once per `key` and return its (recorded) result; a re-run
        gets the recorded result without calling `fn`. Keys starting with
        "tenant:" are unique across the tenant's jobs (an invitation to a
        lead), others within this step. An effect "in doubt" (started, end
        not recorded) is settled by `verify` (None: not done). Raises
        LeaseLost when the step is no longer this run's
        (reachly/orchestration/effects.py)."""
        ...

    def upstream(self) -> dict[str, Any]:
        """Outputs of the steps this one depends on, by step key."""
        ...
