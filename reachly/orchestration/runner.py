"""Running one admitted step inside a worker process.

1. Check the step-level global limits (one Redis round trip). Denied: the
   step goes back to the database, due after `retry_after`; the worker slot
   is free at once (principle 3: never hold a slot to wait).
2. Claim it: enqueued → running with a new fencing token. A stale or
   duplicate message claims nothing and ends here.
3. Hold the lease (heartbeat thread) and run the agent with a StepRun, the
   agent's only door to the control plane.
4. Record the outcome: succeeded, retry/failed, paused/cancelled at a safe
   point, or waiting on an action limit; then trigger the dispatcher for the
   queues that may now have work.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from billiard.exceptions import SoftTimeLimitExceeded

from agents import registry
from agents.base import AgentError, LeaseLost, RateLimited, StopRequested
from reachly.core import sql
from reachly.observability import context as ops_context
from reachly.observability import metrics
from reachly.orchestration import effects, leases, lifecycle, limiter, limits, shutdown, signals, usage

log = logging.getLogger(__name__)
T = TypeVar("T")

# How often a safe point asks Redis for stop flags (the heartbeat also
# checks PostgreSQL). Bounds the pause latency's share from polling.
STOP_CHECK_SECONDS = 0.05


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class StepRun:
    """The StepContext of agents.base, for one claimed step."""

    def __init__(self, claimed: lifecycle.Claimed, subject: limits.Subject, lease: leases.Lease):
        self.claimed = claimed
        self.step_id = claimed.id
        self.job_id = claimed.job_id
        self.tenant_id = claimed.tenant_id
        self.role = claimed.agent
        self.input = claimed.input or {}
        self.state: dict[str, Any] = dict(claimed.checkpoint or {})
        self.attempt = claimed.attempts
        self.sender_account_id = claimed.sender_account_id
        self.subject = subject
        self.lease = lease
        # The claim itself just checked that the job is running.
        self._last_stop_check = time.monotonic()
        self._account: dict[str, Any] | None = None

    # -- stop requests -----------------------------------------------------
    def safe_point(self) -> None:
        if self.lease.stop == "lost":
            raise LeaseLost(f"step {self.step_id}: lease lost")
        if self.lease.stop in ("pause", "cancel"):
            raise StopRequested(self.lease.stop)
        now = time.monotonic()
        if now - self._last_stop_check >= STOP_CHECK_SECONDS:
            self._last_stop_check = now
            try:
                reason = signals.stop_reason(self.job_id, self.sender_account_id)
            except Exception:  # Redis down: the heartbeat still reads PostgreSQL
                log.warning("stop flag check failed", exc_info=True)
                reason = None
            if reason:
                raise StopRequested(reason)
            # Deployment: the worker is shutting down (reachly/orchestration/shutdown.py).
            if shutdown.requested():
                raise StopRequested("shutdown")

    def checkpoint(self, state: dict[str, Any]) -> None:
        if not lifecycle.save_checkpoint(self.step_id, self.claimed.fencing_token, state):
            raise LeaseLost(f"step {self.step_id}: lease lost at checkpoint")
        self.state = dict(state)

    # -- limits --------------------------------------------------------------
    def account(self) -> dict[str, Any] | None:
        """The step's sender account as plain data (no secrets)."""
        if self.sender_account_id is None:
            return None
        if self._account is None:
            self._account = sql.fetchone(
                """
                SELECT id, name, network, login, timezone, status, cooling_down_until,
                       working_hours_start, working_hours_end,
                       daily_invite_cap, daily_message_cap, daily_visit_cap
                  FROM campaigns_senderaccount WHERE id = %s
                """,
                [self.sender_account_id],
            )
        return self._account

    def acquire(self, action: str, weight: int = 1) -> None:
        account = self.account()
        caps = None
        if account:
            wait = limits.outside_working_hours(
                account["timezone"], account["working_hours_start"], account["working_hours_end"]
            )
            if wait > 0:
                raise RateLimited(wait, f"outside working hours of account {account['id']}")
            caps = {
                "invite": account["daily_invite_cap"],
                "message": account["daily_message_cap"],
                "visit": account["daily_visit_cap"],
            }
        decision = limiter.acquire(limits.for_action(self.subject, action, caps))
        if not decision.allowed:
            scope = decision.denied_by.scope if decision.denied_by else "?"
            # -1: the cap is below one action (e.g. set to 0); look again in an hour.
            raise RateLimited(decision.retry_after if decision.retry_after >= 0 else 3600.0, scope)
        usage.add(self.tenant_id, self.role, actions=weight)

    # -- effects -------------------------------------------------------------
    def effect(self, key: str, fn: Callable[[], T], *, verify: Callable[[], T | None] | None = None) -> T:
        """Run `fn` once per key (see effects.py). Keys starting with
        "tenant:" are unique across the tenant's jobs (an invitation to a
        lead); others are unique within this step."""
        full_key = f"t{self.tenant_id}:{key}" if key.startswith("tenant:") else f"s{self.step_id}:{key}"
        return effects.once(
            key=full_key,
            tenant_id=self.tenant_id,
            job_id=self.job_id,
            step_id=self.step_id,
            fencing_token=self.claimed.fencing_token,
            fn=fn,
            verify=verify,
        )

    # -- sender account and leads (plain data in and out) ---------------------
    def session_load(self) -> dict[str, Any] | None:
        from reachly.campaigns.services import sender_account_session_load

        return sender_account_session_load(self.sender_account_id) if self.sender_account_id else None

    def session_save(self, state: dict[str, Any]) -> None:
        from reachly.campaigns.services import sender_account_session_save

        if self.sender_account_id:
            sender_account_session_save(self.sender_account_id, state)

    def credentials(self) -> tuple[str, str | None]:
        from reachly.campaigns.services import sender_account_credentials

        if not self.sender_account_id:
            raise AgentError("this step has no sender account", retryable=False)
        return sender_account_credentials(self.sender_account_id)

    def account_cool_down(self, seconds: float, reason: str) -> None:
        """The target pushed back: this account rests; other accounts go on.
        The caller then raises RateLimited so this step waits too."""
        from datetime import timedelta

        from django.utils import timezone

        from reachly.orchestration.services import sender_account_cool_down

        if self.sender_account_id:
            sender_account_cool_down(self.sender_account_id, timezone.now() + timedelta(seconds=seconds), reason)

    def leads(self, ids: list[int]) -> list[dict[str, Any]]:
        """The tenant's leads with these ids, as plain dicts, in the given order."""
        rows = sql.fetchall(
            """
            SELECT id, campaign_id, profile_url, first_name, last_name, full_name, company, title, email,
                   custom_fields, status, status_detail
              FROM campaigns_lead WHERE tenant_id = %s AND id = ANY(%s)
            """,
            [self.tenant_id, list(ids)],
        )
        by_id = {r["id"]: r for r in rows}
        return [by_id[i] for i in ids if i in by_id]

    def account_needs_login(self, reason: str) -> None:
        """Sign-in failed: mark the account so nothing more is admitted on it
        until someone gives it a working password or session."""
        from reachly.campaigns.services import sender_account_needs_login

        if self.sender_account_id:
            sender_account_needs_login(self.sender_account_id, reason)

    def lead_update(self, lead_id: int, status: str, detail: str = "") -> None:
        from reachly.campaigns.services import lead_status_set

        lead_status_set(
            lead_id=lead_id, status=status, detail=detail, job_id=self.job_id, account_id=self.sender_account_id
        )

    def upstream(self) -> dict[str, Any]:
        if not self.claimed.depends_on:
            return {}
        rows = sql.fetchall(
            "SELECT key, output FROM orchestration_step WHERE job_id = %s AND key = ANY(%s)",
            [self.job_id, self.claimed.depends_on],
        )
        return {r["key"]: r["output"] for r in rows}

    # ---------------------------------------------------------------------
    # LLM agents (agents/llm): budgets, token limits, accounting, planning.
    # Plain data in and out; the ORM stays on this side.
    # ---------------------------------------------------------------------
    def llm_settings(self) -> dict[str, Any]:
        """Provider chain and config, model override, tokens per minute,
        monthly budget and what is spent (read anew on every call)."""
        from reachly.llm.selectors import llm_settings

        return llm_settings(self.tenant_id, self.role)

    def llm_tokens_acquire(self, provider: str, tokens: int, tokens_per_minute: int | None) -> Callable[[], None]:
        """Reserve `tokens` of the tenant's tokens per minute on `provider`
        (global limiter). Denied: RateLimited (retry_after -1 when the
        request alone exceeds the limit). Returns the refund, for a call
        that did not happen."""
        decision = limiter.acquire(limits.for_tokens(self.subject, provider, tokens, tokens_per_minute))
        if not decision.allowed:
            denied = decision.denied_by
            scope = (
                f"{denied.limit} LLM tokens per minute on {provider}"
                if denied and denied.scope.startswith("tokens:")
                else (denied.scope if denied else provider)
            )
            raise RateLimited(decision.retry_after, scope)
        return decision.refund

    def llm_call_record(self, **call: Any) -> dict[str, Any]:
        """Record one provider call of this step (LLMCall + monthly usage)."""
        from reachly.llm.services import llm_call_record

        return llm_call_record(tenant_id=self.tenant_id, job_id=self.job_id, step_id=self.step_id, agent=self.role,
                               **call)  # fmt: skip

    def llm_call_find(self, effect_key: str) -> dict[str, Any] | None:
        """This step's recorded successful call under `effect_key`, if any."""
        from reachly.llm.selectors import llm_call_completion

        return llm_call_completion(self.step_id, effect_key)

    def job_summary(self) -> dict[str, Any]:
        """The job's results and metrics so far (for the data analyst)."""
        from reachly.llm.selectors import job_summary

        return job_summary(self.job_id)

    def job_step_keys(self) -> list[str]:
        rows = sql.fetchall("SELECT key FROM orchestration_step WHERE job_id = %s ORDER BY id", [self.job_id])
        return [r["key"] for r in rows]

    def job_extend(self, steps: list[dict[str, Any]]) -> list[str]:
        """Add steps (API format) to this step's job; raises GraphError.
        Idempotent: steps already added by an earlier run are not added again."""
        from reachly.orchestration import graph, services
        from reachly.orchestration.models import Job

        specs = graph.from_dicts(steps)
        keys = [s.key for s in specs]
        if specs and set(keys) <= set(self.job_step_keys()):
            return keys
        services.job_extend(Job.objects.select_related("tenant").get(pk=self.job_id), specs)
        return keys


def run(message: dict[str, Any]) -> str:
    """Execute one admitted step. Returns what happened, for logs and tests."""
    status, roles = _execute(message)
    signals.trigger_dispatch(roles, on_commit=False)
    return status


def run_batch(messages: list[dict[str, Any]]) -> list[str]:
    """Steps admitted together: run one after the other, then trigger the
    dispatcher once for everything they freed or unblocked."""
    statuses: list[str] = []
    roles = {m["agent"] for m in messages}
    try:
        for message in messages:
            status, freed = _execute(message)
            statuses.append(status)
            roles |= freed
    finally:
        signals.trigger_dispatch(roles, on_commit=False)
    return statuses


def _execute(message: dict[str, Any]) -> tuple[str, set[str]]:
    ops_context.bind_step(message)  # ops: this step's ids on log lines and Sentry events
    step_id = int(message["step"])
    subject = limits.Subject(
        tenant_id=int(message["tenant"]),
        agent=message["agent"],
        account_id=message.get("account"),
        tz=message.get("tz") or "UTC",
    )

    decision = limiter.acquire(limits.for_step(subject))
    if not decision.allowed:
        scope = decision.denied_by.scope if decision.denied_by else "?"
        wait = decision.retry_after if decision.retry_after >= 0 else 60.0
        lifecycle.defer_enqueued(step_id, wait, f"rate limited by {scope}")
        return "deferred", {subject.agent}

    granted = decision.granted_at_ms / 1000 if decision.granted_at_ms else time.time()
    claimed = lifecycle.claim(step_id, worker_id(), datetime.fromtimestamp(granted, tz=UTC))
    if claimed is None:
        decision.refund()
        return "stale", set()

    metrics.step_started(claimed.agent)  # ops: Prometheus series (reachly/observability/metrics.py)
    started = time.monotonic()
    lease = leases.keeper().hold(claimed.id, claimed.fencing_token)
    ctx = StepRun(claimed, subject, lease)
    token = claimed.fencing_token
    outcome: lifecycle.Outcome | None
    try:
        output = registry.implementation(claimed.agent).run(ctx)
        outcome = lifecycle.succeed(claimed.id, token, output if isinstance(output, dict) else {"result": output})
    except StopRequested as stop:
        outcome = lifecycle.stop(claimed.id, token, stop.reason, ctx.state)
    except RateLimited as limited:
        outcome = lifecycle.wait(claimed.id, token, limited.retry_after, f"rate limited by {limited.scope}", ctx.state)
    except LeaseLost:
        log.info("step %s: lease lost, another worker owns it now", claimed.id)
        outcome = None
    except SoftTimeLimitExceeded:
        outcome = lifecycle.fail(claimed.id, token, claimed.attempts, _error("step exceeded its time limit"), True)
    except AgentError as exc:
        outcome = lifecycle.fail(claimed.id, token, claimed.attempts, _error(exc), exc.retryable)
    except Exception as exc:  # an agent bug is a failed attempt, not a dead worker
        log.exception("step %s: agent %s raised", claimed.id, claimed.agent)
        outcome = lifecycle.fail(claimed.id, token, claimed.attempts, _error(exc, with_trace=True), True)
    finally:
        leases.keeper().drop(lease)
        limiter.release(decision)

    metrics.step_finished(claimed.agent, outcome.status if outcome else "lost", time.monotonic() - started)
    if outcome is None:
        return "lost", set()
    return outcome.status, outcome.roles


def _error(exc: BaseException | str, *, with_trace: bool = False) -> dict[str, Any]:
    if isinstance(exc, str):
        return {"type": "TimeLimit", "message": exc, "retryable": True}
    error: dict[str, Any] = {
        "type": type(exc).__name__,
        "message": str(exc)[:2000] or type(exc).__name__,
        "retryable": getattr(exc, "retryable", True),
    }
    details = getattr(exc, "details", None)  # AgentError's, or any exception's that has them
    if details is not None:
        error["details"] = details
    if with_trace:
        error["trace"] = "".join(traceback.format_exception(exc))[-4000:]
    return error
