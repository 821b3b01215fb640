"""What a tenant may use and has used, and the platform's capacity.

GET /agents/                 agent roles with this tenant's allocation, limits and usage
GET /usage/                  this month, per agent, against the plan's limits
GET /monitoring/capacity     queues, active and waiting steps, DB/Redis, workers, advice
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from reachly.api.permissions import TenantMemberOrStaff
from reachly.api.tenancy import acting_tenant, tenant_of
from reachly.monitoring import capacity
from reachly.orchestration import usage


def _money(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=6, **kwargs)


class UsedOutput(serializers.Serializer):
    steps = serializers.IntegerField()
    actions = serializers.IntegerField()
    llm_tokens = serializers.IntegerField()
    llm_cost = _money(help_text="USD")


class LimitOutput(serializers.Serializer):
    subject = serializers.CharField(help_text="steps, actions or tokens")
    limit = serializers.IntegerField()
    period = serializers.CharField()
    action = serializers.CharField(allow_blank=True)
    per = serializers.CharField(help_text="global, tenant or account")


class AgentOutput(serializers.Serializer):
    role = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    kind = serializers.CharField()
    queue = serializers.CharField()
    in_plan = serializers.BooleanField()
    enabled = serializers.BooleanField()
    max_concurrent = serializers.IntegerField()
    monthly_limit = serializers.IntegerField(allow_null=True)
    model_override = serializers.CharField(allow_blank=True)
    limits = LimitOutput(many=True)
    usage = UsedOutput(help_text="This month.")


class AgentUsageOutput(UsedOutput):
    agent = serializers.CharField()
    enabled = serializers.BooleanField()
    monthly_limit = serializers.IntegerField(allow_null=True)
    remaining = serializers.IntegerField(allow_null=True)
    percent_used = serializers.FloatField(allow_null=True)


class UsageTotalsOutput(UsedOutput):
    monthly_step_limit = serializers.IntegerField(allow_null=True)
    steps_remaining = serializers.IntegerField(allow_null=True)
    steps_percent_used = serializers.FloatField(allow_null=True)
    llm_budget = _money(allow_null=True)
    llm_budget_remaining = _money(allow_null=True)
    llm_budget_percent_used = serializers.FloatField(allow_null=True)


class UsageOutput(serializers.Serializer):
    month = serializers.DateField(help_text="First day of the month (UTC).")
    plan = serializers.CharField()
    agents = AgentUsageOutput(many=True)
    totals = UsageTotalsOutput()


class QueueOutput(serializers.Serializer):
    name = serializers.CharField()
    agent = serializers.CharField(allow_null=True)
    group = serializers.CharField()
    depth = serializers.IntegerField(allow_null=True, help_text="Messages in the broker (null: unreachable).")
    ready = serializers.IntegerField(help_text="Steps due now, waiting for admission (the real backlog).")
    waiting = serializers.IntegerField(help_text="Steps held back by a limit right now.")
    scheduled = serializers.IntegerField(help_text="Steps due later (limits, backoff).")
    enqueued = serializers.IntegerField()
    running = serializers.IntegerField()
    oldest_ready_seconds = serializers.FloatField(allow_null=True, help_text="How long the oldest due step waited.")
    consumers = serializers.IntegerField(allow_null=True, help_text="Worker slots consuming this queue.")


class ActiveOutput(serializers.Serializer):
    agent = serializers.CharField()
    tenant = serializers.CharField()
    tenant_id = serializers.IntegerField()
    enqueued = serializers.IntegerField()
    running = serializers.IntegerField()


class TenantBacklogOutput(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    ready = serializers.IntegerField()
    waiting = serializers.IntegerField()
    enqueued = serializers.IntegerField()
    running = serializers.IntegerField()


class LimitHitOutput(serializers.Serializer):
    agent = serializers.CharField()
    reason = serializers.CharField()
    steps = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField()


class WorkerOutput(serializers.Serializer):
    hostname = serializers.CharField()
    queues = serializers.ListField(child=serializers.CharField())
    concurrency = serializers.IntegerField()
    pid = serializers.IntegerField(allow_null=True)
    seen_seconds_ago = serializers.FloatField()


class DatabaseOutput(serializers.Serializer):
    status = serializers.CharField()
    vendor = serializers.CharField(required=False)
    connections = serializers.IntegerField(required=False)
    active = serializers.IntegerField(required=False)
    idle = serializers.IntegerField(required=False)
    idle_in_transaction = serializers.IntegerField(required=False)
    this_database = serializers.IntegerField(required=False)
    max_connections = serializers.IntegerField(required=False)
    reserved = serializers.IntegerField(required=False)
    utilization_percent = serializers.FloatField(required=False)


class RedisOutput(serializers.Serializer):
    status = serializers.CharField()
    connected_clients = serializers.IntegerField(required=False)
    blocked_clients = serializers.IntegerField(required=False)
    maxclients = serializers.IntegerField(required=False, allow_null=True)
    utilization_percent = serializers.FloatField(required=False, allow_null=True)
    used_memory_bytes = serializers.IntegerField(required=False)
    maxmemory_bytes = serializers.IntegerField(required=False, allow_null=True)
    used_memory_human = serializers.CharField(required=False, allow_null=True)


class ScopeOutput(serializers.Serializer):
    all_tenants = serializers.BooleanField()
    tenant = serializers.CharField(allow_null=True)


class StatusOutput(serializers.Serializer):
    status = serializers.CharField()


class CapacityOutput(serializers.Serializer):
    generated_at = serializers.DateTimeField()
    scope = ScopeOutput()
    tenant = serializers.CharField(allow_null=True, help_text="The tenant in view (null: all, for staff).")
    status = serializers.ChoiceField(
        choices=["healthy", "warning", "critical"], help_text="The most urgent recommendation's level."
    )
    broker = StatusOutput()
    queues = QueueOutput(many=True)
    tenants = TenantBacklogOutput(many=True, help_text="Backlog per tenant, busiest first.")
    active = ActiveOutput(many=True, help_text="Admitted and running steps per agent and tenant.")
    limits = LimitHitOutput(many=True, help_text="Steps held back by a limit or a backoff, by reason.")
    database = DatabaseOutput()
    redis = RedisOutput()
    workers = WorkerOutput(many=True, help_text="Staff only (empty for a tenant).")
    workers_live = serializers.IntegerField(allow_null=True)
    recommendations = serializers.ListField(
        child=serializers.CharField(), help_text="What to do, most urgent first, in plain language."
    )


class AgentList(APIView):
    @extend_schema(responses=AgentOutput(many=True), tags=["usage"])
    def get(self, request):
        return Response(AgentOutput(usage.tenant_agents(acting_tenant(request)), many=True).data)


class UsageView(APIView):
    @extend_schema(responses=UsageOutput, tags=["usage"])
    def get(self, request):
        return Response(UsageOutput(usage.tenant_usage(acting_tenant(request))).data)


class CapacityView(APIView):
    permission_classes = [TenantMemberOrStaff]

    @extend_schema(
        responses=CapacityOutput,
        tags=["monitoring"],
        description="Staff see every tenant (and worker hosts); a tenant sees its own steps.",
    )
    def get(self, request):
        tenant = None if request.user.is_staff else tenant_of(request)
        return Response(CapacityOutput(capacity.snapshot(tenant=tenant)).data)
