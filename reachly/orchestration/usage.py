"""Monthly usage counters per tenant and agent (steps, actions, LLM spend):
written here, and read here.

Writes: one upsert per change (add, add_steps_bulk); the dispatcher reads
them for monthly limits (steps_this_month).

Reads, for the API and the web UI (what a tenant used, against its plan):

tenant_usage(tenant)   -> {"month", "plan", "agents": [...], "totals": {...}}   (GET /usage/)
tenant_agents(tenant)  -> [{role, enabled, max_concurrent, limits, usage...}]  (GET /agents/)
tenant_usage_daily(tenant), tenant_usage_day(tenant, day)  per day, for the web UI's charts

LLM spend per day and per agent is read from the llm app's call ledger
through the readers it registers (provide_llm_usage, from LlmConfig.ready):
the control plane sits below the llm app and does not import it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db.models import Count, Q
from django.db.models.fields.json import KT
from django.db.models.functions import TruncDate
from django.utils import timezone

from agents import registry
from reachly.core import sql
from reachly.orchestration.models import Event, RateLimit, UsageCounter
from reachly.tenants.models import Tenant
from reachly.tenants.selectors import allocations


def month_start(today: date | None = None) -> date:
    today = today or timezone.now().date()
    return today.replace(day=1)


def add(
    tenant_id: int,
    agent: str,
    *,
    steps: int = 0,
    actions: int = 0,
    llm_tokens: int = 0,
    llm_cost: Decimal | float = 0,
) -> None:
    sql.execute(
        """
        INSERT INTO orchestration_usagecounter (tenant_id, agent, month, steps, actions, llm_tokens, llm_cost)
        VALUES (%(tenant)s, %(agent)s, %(month)s, %(steps)s, %(actions)s, %(tokens)s, %(cost)s)
        ON CONFLICT (tenant_id, agent, month) DO UPDATE SET
            steps = orchestration_usagecounter.steps + EXCLUDED.steps,
            actions = orchestration_usagecounter.actions + EXCLUDED.actions,
            llm_tokens = orchestration_usagecounter.llm_tokens + EXCLUDED.llm_tokens,
            llm_cost = orchestration_usagecounter.llm_cost + EXCLUDED.llm_cost
        """,
        {
            "tenant": tenant_id,
            "agent": agent,
            "month": month_start(),
            "steps": steps,
            "actions": actions,
            "tokens": llm_tokens,
            "cost": Decimal(str(llm_cost)),
        },
    )


def add_steps_bulk(counts: dict[tuple[int, str], int]) -> None:
    for (tenant_id, agent), n in counts.items():
        add(tenant_id, agent, steps=n)


def steps_this_month(tenant_ids: list[int]) -> dict[tuple[int, str], int]:
    rows = sql.fetchall(
        "SELECT tenant_id, agent, steps FROM orchestration_usagecounter WHERE month = %s AND tenant_id = ANY(%s)",
        [month_start(), tenant_ids],
    )
    return {(r["tenant_id"], r["agent"]): r["steps"] for r in rows}


# ---------------------------------------------------------------------------
# Reads: what a tenant used this month, against what its plan allows
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# Per day, for the web UI's usage charts
# ---------------------------------------------------------------------------

# Lead statuses that record an outreach action (an invitation, a message).
ACTION_STATUSES = ("invited", "messaged")


# (tenant id, since (aware), the tenant's zone) -> {local date: (tokens, cost)}
LLMUsageByDay = Callable[[int, datetime, ZoneInfo], dict[date, tuple[int, Decimal]]]
# (tenant id, start, end (aware, end exclusive)) -> {agent: (calls, tokens, cost)}
LLMUsageByAgent = Callable[[int, datetime, datetime], dict[str, tuple[int, int, Decimal]]]


def _no_llm_by_day(_tenant_id: int, _since: datetime, _zone: ZoneInfo) -> dict[date, tuple[int, Decimal]]:
    return {}


def _no_llm_by_agent(_tenant_id: int, _start: datetime, _end: datetime) -> dict[str, tuple[int, int, Decimal]]:
    return {}


_llm_usage: tuple[LLMUsageByDay, LLMUsageByAgent] = (_no_llm_by_day, _no_llm_by_agent)


def provide_llm_usage(*, by_day: LLMUsageByDay, by_agent: LLMUsageByAgent) -> None:
    """Register the llm app's readers of paid calls (tokens and cost in the
    provider's currency, outcome ok); until then LLM figures read 0."""
    global _llm_usage
    _llm_usage = (by_day, by_agent)


def _zone(tenant: Tenant) -> ZoneInfo:
    try:
        return ZoneInfo(tenant.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def tenant_usage_daily(tenant: Tenant, *, days: int = 30, today: date | None = None) -> dict[str, Any]:
    """The last `days` days (the tenant's time zone), each with steps
    finished (succeeded / failed), outreach actions (invitations, messages),
    LLM tokens and cost.

    Steps and actions come from the event log (its (tenant, ts) index),
    LLM figures from the paid calls (the llm app's reader): the monthly
    UsageCounter has no days.
    """
    zone = _zone(tenant)
    today = today or timezone.now().astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time.min, zone)
    dates = [first + timedelta(days=i) for i in range(days)]
    empty: dict[str, int | Decimal] = {
        "succeeded": 0,
        "failed": 0,
        "invited": 0,
        "messaged": 0,
        "llm_tokens": 0,
        "llm_cost": Decimal("0"),
    }
    rows = {d: dict(empty) for d in dates}

    events = (
        Event.objects.filter(tenant=tenant, ts__gte=since)
        .filter(type__in=["step.status", "lead.status_changed"])
        .annotate(day=TruncDate("ts", tzinfo=zone), status=KT("data__status"))
        .filter(status__in=["succeeded", "failed", *ACTION_STATUSES])
        .values("day", "type", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in events:
        day = rows.get(row["day"])
        if day is None:
            continue
        kind = row["status"]
        if (row["type"] == "step.status") == (kind in ("succeeded", "failed")):
            day[kind] += row["n"]

    for local_date, (tokens, cost) in _llm_usage[0](tenant.id, since, zone).items():
        day = rows.get(local_date)
        if day is not None:
            day["llm_tokens"] += tokens
            day["llm_cost"] += cost

    return {"first": first, "last": today, "timezone": str(zone), "days": [{"date": d, **rows[d]} for d in dates]}


def tenant_usage_day(tenant: Tenant, day: date) -> list[dict[str, Any]]:
    """One day (the tenant's time zone), per agent: steps succeeded and
    failed, LLM calls, tokens and cost."""
    zone = _zone(tenant)
    start = datetime.combine(day, time.min, zone)
    end = start + timedelta(days=1)
    agents: dict[str, dict[str, Any]] = {}

    def agent_row(name: str) -> dict[str, Any]:
        return agents.setdefault(
            name,
            {"agent": name, "succeeded": 0, "failed": 0, "llm_calls": 0, "llm_tokens": 0, "llm_cost": Decimal("0")},
        )

    steps = (
        Event.objects.filter(tenant=tenant, ts__gte=start, ts__lt=end, type="step.status")
        .annotate(status=KT("data__status"), agent=KT("data__agent"))
        .filter(status__in=["succeeded", "failed"])
        .values("agent", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in steps:
        agent_row(row["agent"] or "?")[row["status"]] += row["n"]
    for agent, (calls, tokens, cost) in _llm_usage[1](tenant.id, start, end).items():
        entry = agent_row(agent or "?")
        entry["llm_calls"] += calls
        entry["llm_tokens"] += tokens
        entry["llm_cost"] += cost
    return sorted(agents.values(), key=lambda r: r["agent"])
