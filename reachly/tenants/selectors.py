"""Reads about tenants: effective agent allocations (plan + overrides)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings

from agents import registry
from reachly.tenants.models import AgentAllocation, Membership, PlanAgent, Tenant

# The `test` agent is not in any plan; outside production every tenant may
# use it (tests, benchmarks and the first demo drive the control plane with it).
TEST_AGENT_MAX_CONCURRENT = 64


@dataclass(frozen=True)
class Allocation:
    tenant_id: int
    role: str
    enabled: bool
    max_concurrent: int
    monthly_limit: int | None
    model_override: str
    adapter_override: str
    # From the tenant and its plan, for the dispatcher's checks.
    tenant_active: bool
    plan_monthly_step_limit: int | None
    in_plan: bool


def allocations(tenant_ids: Iterable[int], roles: Iterable[str] | None = None) -> dict[tuple[int, str], Allocation]:
    """Effective allocations for these tenants and roles (default: all roles)."""
    tenant_ids = list(tenant_ids)
    roles = list(roles) if roles is not None else registry.roles()
    tenants = {t.id: t for t in Tenant.objects.filter(id__in=tenant_ids).select_related("plan")}
    plan_rows = {
        (pa.plan_id, pa.role): pa
        for pa in PlanAgent.objects.filter(plan_id__in={t.plan_id for t in tenants.values()}, role__in=roles)
    }
    overrides = {
        (a.tenant_id, a.role): a for a in AgentAllocation.objects.filter(tenant_id__in=tenant_ids, role__in=roles)
    }
    result: dict[tuple[int, str], Allocation] = {}
    for tenant in tenants.values():
        for role in roles:
            plan_row = plan_rows.get((tenant.plan_id, role))
            override = overrides.get((tenant.id, role))
            in_plan = plan_row is not None
            default_max = plan_row.max_concurrent if plan_row else 1
            default_monthly = plan_row.monthly_limit if plan_row else None
            if role == "test" and settings.REACHLY_ENV != "prod":
                in_plan, default_max = True, TEST_AGENT_MAX_CONCURRENT
            enabled = in_plan if override is None or override.enabled is None else override.enabled
            result[(tenant.id, role)] = Allocation(
                tenant_id=tenant.id,
                role=role,
                enabled=enabled,
                max_concurrent=(override.max_concurrent if override and override.max_concurrent else default_max),
                monthly_limit=(
                    override.monthly_limit if override and override.monthly_limit is not None else default_monthly
                ),
                model_override=override.model_override if override else "",
                adapter_override=override.adapter_override if override else "",
                tenant_active=tenant.status == Tenant.Status.ACTIVE,
                plan_monthly_step_limit=tenant.plan.monthly_step_limit,
                in_plan=in_plan,
            )
    return result


def allocation(tenant: Tenant | int, role: str) -> Allocation:
    tenant_id = tenant if isinstance(tenant, int) else tenant.id
    return allocations([tenant_id], [role])[(tenant_id, role)]


def tenants_for_user(user) -> list[Tenant]:
    if not user.is_authenticated:
        return []
    return list(Tenant.objects.filter(memberships__user=user).order_by("slug"))


def membership(user, tenant: Tenant) -> Membership | None:
    return Membership.objects.filter(user=user, tenant=tenant).first()


def slugs(tenant_ids: Iterable[int]) -> dict[int, str]:
    """{tenant id: slug} for the ids that exist (for reports that group by
    tenant id and show the slug)."""
    return dict(Tenant.objects.filter(id__in=set(tenant_ids)).values_list("id", "slug"))
