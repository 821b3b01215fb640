"""Operator admin for tenants, plans (the agent matrix) and API tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from django import forms
from django.contrib import admin
from django.db import transaction
from django.template.response import TemplateResponse

from agents import registry
from reachly.ops.adminkit import AuditedModelAdmin, JobControlsMixin, html_table, run_service_action
from reachly.ops.services import audit_record
from reachly.orchestration.dispatcher import release_deferred
from reachly.tenants.models import AgentAllocation, ApiToken, Membership, Plan, PlanAgent, Tenant
from reachly.tenants.selectors import allocations
from reachly.tenants.services import api_token_create, api_token_revoke

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations  # a dev dependency: type checking only

    class _PlanCounts(TypedDict):
        _tenants: int  # PlanAdmin.get_queryset's annotation


def _role_choices() -> list[tuple[str, str]]:
    return [(spec.role, f"{spec.title} ({spec.role})") for spec in registry.AGENTS.values()]


def _dash(value) -> str:
    return "-" if value is None or value == "" else str(value)


# ---------------------------------------------------------------------------
# Plans and their agent matrix
# ---------------------------------------------------------------------------


class PlanAgentForm(forms.ModelForm):
    role = forms.ChoiceField(choices=_role_choices)

    class Meta:
        model = PlanAgent
        fields = ["role", "max_concurrent", "monthly_limit"]


class PlanAgentInline(admin.TabularInline):
    model = PlanAgent
    form = PlanAgentForm
    extra = 0
    verbose_name = "agent"
    verbose_name_plural = "agent matrix (agents this plan offers)"


@admin.register(Plan)
class PlanAdmin(AuditedModelAdmin):
    list_display = [
        "code",
        "name",
        "matrix",
        "monthly_step_limit",
        "llm_monthly_budget",
        "llm_tokens_per_minute",
        "tenant_count",
    ]
    search_fields = ["code", "name"]
    inlines = [PlanAgentInline]

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).prefetch_related("agents").annotate(_tenants=Count("tenants"))

    @admin.display(description="agents x max concurrent")
    def matrix(self, plan: Plan) -> str:
        return ", ".join(f"{pa.role}x{pa.max_concurrent}" for pa in plan.agents.all()) or "-"

    @admin.display(description="tenants", ordering="_tenants")
    def tenant_count(self, plan: WithAnnotations[Plan, _PlanCounts]) -> int:
        return plan._tenants

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        _release_deferred(Tenant.objects.filter(plan=form.instance).values_list("id", flat=True))


def _release_deferred(tenant_ids) -> None:
    """Steps parked because a plan said "no" may run now: re-admit them."""
    ids = list(tenant_ids)
    transaction.on_commit(lambda: [release_deferred(tid) for tid in ids])


# ---------------------------------------------------------------------------
# Tenants, with their allocations and the plan's defaults side by side
# ---------------------------------------------------------------------------


class AgentAllocationForm(forms.ModelForm):
    role = forms.ChoiceField(choices=_role_choices)

    class Meta:
        model = AgentAllocation
        fields = ["role", "enabled", "max_concurrent", "monthly_limit", "model_override", "adapter_override"]


class AgentAllocationInline(admin.TabularInline):
    model = AgentAllocation
    form = AgentAllocationForm
    extra = 0
    verbose_name = "allocation override"
    verbose_name_plural = "agent allocations (overrides; empty fields inherit the plan — see the effective table)"


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Tenant)
class TenantAdmin(JobControlsMixin, AuditedModelAdmin):
    job_control_scope = "tenant"
    list_display = ["slug", "name", "plan", "status", "timezone", "created_at"]
    list_filter = ["plan", "status"]
    list_select_related = ["plan"]
    search_fields = ["slug", "name"]
    inlines = [AgentAllocationInline, MembershipInline]
    readonly_fields = ["created_at", "effective_allocations"]
    fieldsets = [
        (None, {"fields": ["slug", "name", "plan", "status", "timezone", "llm_monthly_budget", "created_at"]}),
        ("Agents: the plan's defaults and what this tenant really gets", {"fields": ["effective_allocations"]}),
    ]

    @admin.display(description="effective allocations")
    def effective_allocations(self, tenant: Tenant) -> str:
        if tenant.pk is None:
            return "Saved tenants show their plan's defaults and effective allocations here."
        plan_rows = {pa.role: pa for pa in tenant.plan.agents.all()}
        overrides = {a.role: a for a in tenant.allocations.all()}
        effective = allocations([tenant.id])
        rows = []
        for role in registry.roles():
            alloc = effective[(tenant.id, role)]
            plan_row = plan_rows.get(role)
            override = overrides.get(role)
            rows.append(
                [
                    role,
                    "yes" if plan_row else "no",
                    _dash(plan_row.max_concurrent if plan_row else None),
                    _dash(plan_row.monthly_limit if plan_row else None),
                    "override" if override else "plan",
                    "yes" if alloc.enabled else "no",
                    alloc.max_concurrent,
                    _dash(alloc.monthly_limit),
                    alloc.model_override or "-",
                ]
            )
        return html_table(
            [
                "agent",
                "in plan",
                "plan max concurrent",
                "plan monthly limit",
                "source",
                "enabled",
                "max concurrent",
                "monthly limit",
                "model override",
            ],
            rows,
        )

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # A new plan or override may admit steps parked as "not enabled" or
        # "monthly limit reached".
        _release_deferred([form.instance.pk])


# ---------------------------------------------------------------------------
# API tokens: hash only; the key is shown once, right after creation
# ---------------------------------------------------------------------------


class ApiTokenCreateForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["tenant", "name"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant", "masked", "created_by", "created_at", "last_used_at", "active"]
    list_filter = [("tenant", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["tenant", "created_by"]
    search_fields = ["name", "=prefix", "tenant__slug"]
    autocomplete_fields = ["tenant"]
    readonly_fields = ["tenant", "name", "masked", "key_hash", "created_by", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    @admin.display(description="key")
    def masked(self, token: ApiToken) -> str:
        return f"rly_{token.prefix}_…" if token.prefix else "-"

    @admin.display(description="active", boolean=True)
    def active(self, token: ApiToken) -> bool:
        return token.is_active

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # tokens are created and revoked, never edited

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiTokenCreateForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request, obj=None):
        return ["tenant", "name"] if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        """Create through the service (it hashes the key); keep the key on
        the request only, to show it once in response_add."""
        token, key = api_token_create(
            tenant=form.cleaned_data["tenant"], name=form.cleaned_data["name"], created_by=request.user
        )
        obj.pk = token.pk
        obj.__dict__.update({f.attname: getattr(token, f.attname) for f in ApiToken._meta.concrete_fields})
        obj._state.adding = False
        request._reachly_new_token_key = key
        audit_record(actor=request.user, action="api_token.create", obj=token, details={"prefix": token.prefix})

    def response_add(self, request, obj, post_url_continue=None):
        key = getattr(request, "_reachly_new_token_key", None)
        if key is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "title": "API token created",
            "token": obj,
            "key": key,
            "opts": self.opts,
        }
        # Admin views are never cached (admin_view), so the key stays on this page only.
        return TemplateResponse(request, "admin/ops/api_token_created.html", context)

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        run_service_action(
            request,
            queryset.filter(revoked_at__isnull=True),
            action="api_token.revoke",
            verb="Revoked",
            call=api_token_revoke,
        )
