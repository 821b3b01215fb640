from django.contrib import admin

from reachly.tenants.models import AgentAllocation, ApiToken, Membership, Plan, PlanAgent, Tenant


class PlanAgentInline(admin.TabularInline):
    model = PlanAgent
    extra = 0


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "monthly_step_limit", "llm_monthly_budget", "llm_tokens_per_minute"]
    inlines = [PlanAgentInline]


class AgentAllocationInline(admin.TabularInline):
    model = AgentAllocation
    extra = 0


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "plan", "status", "created_at"]
    list_filter = ["plan", "status"]
    search_fields = ["slug", "name"]
    inlines = [AgentAllocationInline, MembershipInline]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["tenant"]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at"]
