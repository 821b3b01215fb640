"""Writes for LLM accounting: record a call once; change a tenant's budget."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from agents import registry
from agents.llm.client import BUDGET_WAIT
from reachly.llm.models import LLMCall
from reachly.llm.selectors import call_result
from reachly.observability import metrics
from reachly.orchestration import signals, transitions, usage
from reachly.tenants.models import Tenant

LLM_ROLES = tuple(role for role, spec in registry.AGENTS.items() if spec.kind is registry.Kind.LLM)


def llm_call_record(
    *,
    tenant_id: int,
    agent: str,
    provider: str,
    model: str,
    outcome: str,
    job_id: int | None = None,
    step_id: int | None = None,
    task: str = "",
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
    cost: Decimal | str = Decimal(0),
    latency_ms: int = 0,
    fallback: bool = False,
    error: str = "",
    effect_key: str = "",
    completion: str = "",
) -> dict[str, Any]:
    """Record one provider call; a successful one is added to the month's
    usage in the same transaction. Recording the same step's successful call
    under the same effect key twice keeps the first (nothing billed twice)."""
    if outcome not in LLMCall.Outcome.values:
        raise ValueError(f"unknown outcome {outcome!r}")
    cost = Decimal(str(cost))
    try:
        with transaction.atomic():
            call = LLMCall.objects.create(
                tenant_id=tenant_id,
                job_id=job_id,
                step_id=step_id,
                agent=agent,
                task=task[:64],
                provider=provider[:64],
                model=model[:128],
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                cost=cost,
                latency_ms=max(0, int(latency_ms)),
                outcome=outcome,
                fallback=fallback,
                error=error[:4000],
                effect_key=effect_key[:200],
                completion=completion[:100_000],
            )
            if outcome == LLMCall.Outcome.OK:
                usage.add(tenant_id, agent, llm_tokens=prompt_tokens + completion_tokens, llm_cost=cost)
            # ops: Prometheus series, once the call is committed (a duplicate is not counted).
            transaction.on_commit(
                lambda: metrics.llm_call(
                    provider=provider,
                    model=model,
                    prompt_tokens=prompt_tokens,
                    completion_tokens=completion_tokens,
                    cost=float(cost),
                    outcome=outcome,
                )
            )
    except IntegrityError:
        existing = LLMCall.objects.filter(
            step_id=step_id,  # type: ignore[misc]  # None is an IS NULL lookup
            effect_key=effect_key,
            outcome=LLMCall.Outcome.OK,
        ).first()
        if existing is None:
            raise
        call = existing
    return call_result(call)


def tenant_llm_budget_set(tenant: Tenant, budget: Decimal | None) -> Tenant:
    """Change a tenant's monthly LLM budget (None: the plan's). LLM steps
    waiting for budget become due at once; if it is still spent they wait again."""
    with transaction.atomic():
        Tenant.objects.filter(pk=tenant.pk).update(llm_monthly_budget=budget)
        llm_budget_release(tenant.pk)
    tenant.refresh_from_db()
    return tenant


def llm_budget_release(tenant_id: int) -> int:
    """Make a tenant's LLM steps that wait for budget due now (after its
    plan or budget changed)."""
    n = transitions.unpark_waiting_for(tenant_id, list(LLM_ROLES), f"%{BUDGET_WAIT}%")
    if n:
        signals.trigger_dispatch(set(LLM_ROLES))
    return n
