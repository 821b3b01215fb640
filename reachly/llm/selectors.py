"""Reads for LLM steps: what a tenant may spend and which chain it uses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Sum
from django.db.models.functions import TruncDate

from reachly.campaigns.models import Lead
from reachly.llm.models import LLMCall
from reachly.orchestration import usage
from reachly.orchestration.models import Job, Step, UsageCounter
from reachly.tenants.models import Tenant
from reachly.tenants.selectors import allocation


def llm_usage_by_day(tenant_id: int, since: datetime, zone: ZoneInfo) -> dict[date, tuple[int, Decimal]]:
    """Paid calls (outcome ok) since `since` (aware) per calendar day in
    `zone`: {local date: (prompt + completion tokens, cost)}. Registered as
    the control plane's LLM usage reader (orchestration.usage)."""
    calls = (
        LLMCall.objects.filter(tenant_id=tenant_id, created_at__gte=since, outcome=LLMCall.Outcome.OK)
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .values("day")
        .annotate(p=Sum("prompt_tokens"), c=Sum("completion_tokens"), cost=Sum("cost"))
        .order_by()
    )
    return {row["day"]: ((row["p"] or 0) + (row["c"] or 0), row["cost"] or Decimal("0")) for row in calls}


def llm_usage_by_agent(tenant_id: int, start: datetime, end: datetime) -> dict[str, tuple[int, int, Decimal]]:
    """Paid calls (outcome ok) in [start, end) per agent role:
    {agent: (calls, prompt + completion tokens, cost)}."""
    calls = (
        LLMCall.objects.filter(
            tenant_id=tenant_id, created_at__gte=start, created_at__lt=end, outcome=LLMCall.Outcome.OK
        )
        .values("agent")
        .annotate(n=Count("id"), p=Sum("prompt_tokens"), c=Sum("completion_tokens"), cost=Sum("cost"))
        .order_by()
    )
    return {
        row["agent"] or "": (row["n"], (row["p"] or 0) + (row["c"] or 0), row["cost"] or Decimal("0")) for row in calls
    }


def llm_spent_this_month(tenant_id: int) -> Decimal:
    total = UsageCounter.objects.filter(tenant_id=tenant_id, month=usage.month_start()).aggregate(s=Sum("llm_cost"))
    return total["s"] or Decimal(0)


def seconds_to_next_month(now: datetime | None = None) -> float:
    now = now or datetime.now(tz=UTC)
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return ((first + timedelta(days=32)).replace(day=1) - now).total_seconds()


def llm_settings(tenant_id: int, role: str) -> dict[str, Any]:
    """Everything an LLM agent needs to know, as plain data.

    Provider configuration (endpoints, keys) comes from settings; the
    tenant's budget, tokens per minute and its allocation's overrides from
    the database, read anew for every call (a raised budget counts at once).
    """
    tenant = Tenant.objects.select_related("plan").get(pk=tenant_id)
    alloc = allocation(tenant_id, role)
    budget = tenant.effective_llm_budget
    chain = settings.REACHLY_LLM_ROLE_CHAINS.get(role) or settings.REACHLY_LLM_CHAIN
    return {
        "tenant_id": tenant_id,
        "role": role,
        "providers": settings.REACHLY_LLM_PROVIDERS,
        "chain": list(chain),
        "chain_override": alloc.adapter_override,
        "model_override": alloc.model_override,
        "tokens_per_minute": tenant.plan.llm_tokens_per_minute,
        "budget": str(budget) if budget is not None else None,
        "spent": str(llm_spent_this_month(tenant_id)),
        "budget_recheck_seconds": min(settings.REACHLY_LLM_BUDGET_RECHECK_SECONDS, seconds_to_next_month()),
        "max_tokens": settings.REACHLY_LLM_MAX_TOKENS,
        "max_reprompts": settings.REACHLY_LLM_MAX_REPROMPTS,
        "prices": settings.REACHLY_LLM_PRICES,
        "timeouts": {"connect": settings.REACHLY_LLM_CONNECT_TIMEOUT, "read": settings.REACHLY_LLM_TIMEOUT},
        "inline_retries": settings.REACHLY_LLM_INLINE_RETRIES,
        "inline_retry_max_seconds": settings.REACHLY_LLM_INLINE_RETRY_MAX_SECONDS,
    }


def llm_call_completion(step_id: int, effect_key: str) -> dict[str, Any] | None:
    """The result of a step's successful call under this key, if recorded
    (the effect ledger's verify after a crash between the call and "done")."""
    call = LLMCall.objects.filter(step_id=step_id, effect_key=effect_key, outcome=LLMCall.Outcome.OK).first()
    return call_result(call) if call else None


def call_result(call) -> dict[str, Any]:
    return {
        "text": call.completion,
        "provider": call.provider,
        "model": call.model,
        "prompt_tokens": call.prompt_tokens,
        "completion_tokens": call.completion_tokens,
        "cost": str(call.cost),
        "fallback": call.fallback,
        "call_id": call.pk,
    }


def job_summary(job_id: int) -> dict[str, Any]:
    """A job's results and metrics so far, as plain data (the analyst's input)."""

    job = Job.objects.select_related("campaign").get(pk=job_id)
    steps: dict[str, dict[str, int]] = {}
    for row in Step.objects.filter(job_id=job_id).values("agent", "status").annotate(n=Count("id")):
        steps.setdefault(row["agent"], {})[row["status"]] = row["n"]
    calls = LLMCall.objects.filter(job_id=job_id)
    ok = calls.filter(outcome=LLMCall.Outcome.OK).aggregate(
        p=Sum("prompt_tokens"), c=Sum("completion_tokens"), cost=Sum("cost"), n=Count("id")
    )
    by_provider = {
        r["provider"]: r["n"]
        for r in calls.filter(outcome=LLMCall.Outcome.OK).values("provider").annotate(n=Count("id"))
    }
    summary: dict[str, Any] = {
        "job": {
            "id": job.id,
            "name": job.name,
            "status": job.status,
            "total": job.total_steps,
            "succeeded": job.succeeded_steps,
            "failed": job.failed_steps,
            "cancelled": job.cancelled_steps,
            "started_at": job.started_at.isoformat() if job.started_at else None,
        },
        "steps": steps,
        "llm": {
            "calls": ok["n"] or 0,
            "tokens": (ok["p"] or 0) + (ok["c"] or 0),
            "cost": str(ok["cost"] or Decimal(0)),
            "by_provider": by_provider,
            "refused": calls.exclude(outcome=LLMCall.Outcome.OK).count(),
        },
        "campaign": None,
        "leads": None,
    }
    campaign = job.campaign if job.campaign_id else None
    if campaign is not None:
        by_status: dict[str, int] = dict(
            Lead.objects.filter(campaign_id=campaign.id).values_list("status").annotate(n=Count("id")).order_by()
        )
        summary["campaign"] = {"id": campaign.id, "name": campaign.name, "brief": campaign.brief}
        summary["leads"] = {"total": sum(by_status.values()), "by_status": by_status}
    return summary
