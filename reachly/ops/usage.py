"""Reads about what a tenant used this month, against what its plan allows.

tenant_usage(tenant)   -> {"month", "plan", "agents": [...], "totals": {...}}   (GET /usage/)
tenant_agents(tenant)  -> [{role, enabled, max_concurrent, limits, usage...}]  (GET /agents/)
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Q

from agents import registry
from reachly.orchestration.models import RateLimit, UsageCounter
from reachly.orchestration.usage import month_start
from reachly.tenants.models import Tenant
from reachly.tenants.selectors import allocations


def _counters(tenant: Tenant) -> dict[str, UsageCounter]:
    return {c.agent: c for c in UsageCounter.objects.filter(tenant=tenant, month=month_start())}


def _used(counter: UsageCounter | None) -> dict[str, Any]:
    return {
        "steps": counter.steps if counter else 0,
        "actions": counter.actions if counter else 0,
        "llm_tokens": counter.llm_tokens if counter else 0,
        "llm_cost": counter.llm_cost if counter else Decimal("0"),
    }


def _percent(used: int | Decimal, limit: int | Decimal | None) -> float | None:
    if limit is None:
        return None
    if not limit:
        return 100.0
    return round(100.0 * float(used) / float(limit), 1)


def _visible_roles() -> list[str]:
    return [r for r in registry.roles() if r != "test" or settings.REACHLY_ENV != "prod"]


def tenant_usage(tenant: Tenant) -> dict[str, Any]:
    """Per agent: steps, actions, LLM tokens and cost this month, against limits."""
    counters = _counters(tenant)
    allocs = allocations([tenant.id], _visible_roles())
    agents = []
    for role in _visible_roles():
        alloc = allocs[(tenant.id, role)]
        counter = counters.get(role)
        if not alloc.enabled and counter is None:
            continue
        used = _used(counter)
        limit = alloc.monthly_limit
        agents.append(
            {
                "agent": role,
                "enabled": alloc.enabled,
                **used,
                "monthly_limit": limit,
                "remaining": None if limit is None else max(0, limit - used["steps"]),
                "percent_used": _percent(used["steps"], limit),
            }
        )
    steps = sum(a["steps"] for a in agents)
    cost = sum((a["llm_cost"] for a in agents), Decimal("0"))
    step_limit = tenant.plan.monthly_step_limit
    budget = tenant.effective_llm_budget
    return {
        "month": month_start(),
        "plan": tenant.plan.code,
        "agents": agents,
        "totals": {
            "steps": steps,
            "actions": sum(a["actions"] for a in agents),
            "llm_tokens": sum(a["llm_tokens"] for a in agents),
            "llm_cost": cost,
            "monthly_step_limit": step_limit,
            "steps_remaining": None if step_limit is None else max(0, step_limit - steps),
            "steps_percent_used": _percent(steps, step_limit),
            "llm_budget": budget,
            "llm_budget_remaining": None if budget is None else max(Decimal("0"), budget - cost),
            "llm_budget_percent_used": _percent(cost, budget),
        },
    }


def tenant_agents(tenant: Tenant) -> list[dict[str, Any]]:
    """Every agent role with this tenant's allocation, limits and usage."""
    roles = _visible_roles()
    allocs = allocations([tenant.id], roles)
    counters = _counters(tenant)
    rules = list(
        RateLimit.objects.filter(enabled=True)
        .filter(Q(tenant__isnull=True) | Q(tenant=tenant))
        .filter(Q(sender_account__isnull=True) | Q(sender_account__tenant=tenant))
    )
    result = []
    for role in roles:
        spec = registry.get(role)
        alloc = allocs[(tenant.id, role)]
        limits = [
            {"subject": lim.subject, "limit": lim.limit, "period": lim.period, "action": lim.action, "per": lim.per}
            for lim in spec.limits
        ] + [
            {"subject": r.subject, "limit": r.limit, "period": r.period, "action": r.action, "per": r.per}
            for r in rules
            if r.agent in ("", role)
        ]
        result.append(
            {
                "role": role,
                "title": spec.title,
                "description": spec.description,
                "kind": spec.kind.value,
                "queue": spec.queue,
                "in_plan": alloc.in_plan,
                "enabled": alloc.enabled,
                "max_concurrent": alloc.max_concurrent,
                "monthly_limit": alloc.monthly_limit,
                "model_override": alloc.model_override,
                "limits": limits,
                "usage": _used(counters.get(role)),
            }
        )
    return result
