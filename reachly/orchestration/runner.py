"""Running one admitted step inside a worker process.

1. Check the step-level global limits (one Redis round trip). Denied: the
   step goes back to the database, due after `retry_after`; the worker slot
   is free at once (principle 3: never hold a slot to wait).
2. Claim it: enqueued → running with a new fencing token. A stale or
   duplicate message claims nothing and ends here.
3. Hold the lease (heartbeat thread) and run the agent with a StepRun, its
   StepContext (agents/ports.py): the control plane's methods plus the
   ports of each domain, composed here.
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
from functools import cached_property
from typing import Any, TypeVar, cast

from billiard.exceptions import SoftTimeLimitExceeded

from agents import registry
from agents.base import AgentError, InvalidGraph, LeaseLost, RateLimited, StopRequested
from agents.ports import LeadPort, LLMPort, SenderAccountPort, WebhookPort
from reachly import limiter
from reachly.core import sql
from reachly.observability import context as ops_context
from reachly.observability import metrics
from reachly.orchestration import (
    effects,
    graph,
    leases,
    lifecycle,
    limits,
    ports,
    services,
    shutdown,
    signals,
    testing_sink,
    usage,
)
from reachly.orchestration.models import Job

log = logging.getLogger(__name__)
T = TypeVar("T")

# How often a safe point asks Redis for stop flags (the heartbeat also
# checks PostgreSQL). Bounds the pause latency's share from polling.
STOP_CHECK_SECONDS = 0.05


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class JobAdapter:
    """JobPort (agents/ports.py) for one step: its own job's keys and graph."""

    def __init__(self, job_id: int):
        self.job_id = job_id

    def step_keys(self) -> list[str]:
        rows = sql.fetchall("SELECT key FROM orchestration_step WHERE job_id = %s ORDER BY id", [self.job_id])
        return [r["key"] for r in rows]

    def graph_errors(self, steps: list[dict[str, Any]]) -> dict[str, str]:
        return graph.extension_errors(steps, set(self.step_keys()))

    def extend(self, steps: list[dict[str, Any]]) -> list[str]:
        try:
            specs = graph.from_dicts(steps)
            keys = [s.key for s in specs]
            if specs and set(keys) <= set(self.step_keys()):
                return keys  # an earlier run of this step added them
            services.job_extend(Job.objects.select_related("tenant").get(pk=self.job_id), specs)
        except graph.GraphError as exc:
            raise InvalidGraph(exc.errors) from None
        return keys

    def step_key_pattern(self) -> str:
        return graph.KEY_RE.pattern

    def priorities(self) -> list[int]:
        return list(graph.PRIORITIES)


class StepRun:
    """The StepContext of agents/ports.py, for one claimed step.

    The control-plane methods (safe points, checkpoints, action limits,
    effects, upstream outputs) are its own; the job and test-sink ports are
    orchestration's; the sender-account, lead, LLM and webhook ports are
    built on first use from the factories their domains registered
    (reachly/orchestration/ports.py).
    """

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
        self.scope = ports.StepScope(
            step_id=claimed.id,
            job_id=claimed.job_id,
            tenant_id=claimed.tenant_id,
            role=claimed.agent,
            sender_account_id=claimed.sender_account_id,
            tz=subject.tz,
        )
        self.job = JobAdapter(claimed.job_id)
        self.sink = testing_sink.TestSinkAdapter(claimed.id, claimed.job_id)
        # The claim itself just checked that the job is running.
        self._last_stop_check = time.monotonic()

    # -- ports of other domains (built once per step, on first use) ----------
    @cached_property
    def sender(self) -> SenderAccountPort:
        return cast(SenderAccountPort, ports.build("sender", self.scope))

    @cached_property
    def leads(self) -> LeadPort:
        return cast(LeadPort, ports.build("leads", self.scope))

    @cached_property
    def llm(self) -> LLMPort:
        return cast(LLMPort, ports.build("llm", self.scope))

    @cached_property
    def webhooks(self) -> WebhookPort:
        return cast(WebhookPort, ports.build("webhooks", self.scope))

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
    def acquire(self, action: str, weight: int = 1) -> None:
        account = self.sender.data() if self.sender_account_id is not None else None
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

    def upstream(self) -> dict[str, Any]:
        if not self.claimed.depends_on:
            return {}
        rows = sql.fetchall(
            "SELECT key, output FROM orchestration_step WHERE job_id = %s AND key = ANY(%s)",
            [self.job_id, self.claimed.depends_on],
        )
        return {r["key"]: r["output"] for r in rows}


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
