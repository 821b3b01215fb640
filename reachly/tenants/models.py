"""Tenants, their plans and what each plan allows.

The plan matrix comes from the agent control-plane seed: which agents a plan
offers, how many run at once per agent, how many steps a month. A tenant's
AgentAllocation overrides any of it; a null field means "the plan's value".
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models


class Plan(models.Model):
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=64)
    # Across all agents; null = unlimited.
    monthly_step_limit = models.PositiveIntegerField(null=True, blank=True)
    # LLM spend per month, in USD; null = unlimited.
    llm_monthly_budget = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    # Per tenant and LLM provider (the seed's Bottleneck reservoir).
    llm_tokens_per_minute = models.PositiveIntegerField(default=100_000)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name


class PlanAgent(models.Model):
    """One row of the plan matrix: this plan offers this agent."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="agents")
    role = models.CharField(max_length=64)
    max_concurrent = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    monthly_limit = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["plan", "role"], name="plan_agent_unique"),
        ]
        ordering = ["plan", "role"]

    def __str__(self) -> str:
        return f"{self.plan.code}:{self.role}"


class Tenant(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        SUSPENDED = "suspended"

    slug = models.SlugField(
        max_length=64,
        unique=True,
        validators=[RegexValidator(r"^[a-z0-9][a-z0-9-]*$", "lowercase letters, digits and -")],
    )
    name = models.CharField(max_length=128)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="tenants")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    timezone = models.CharField(max_length=64, default="UTC")
    # Overrides the plan's monthly LLM budget when set.
    llm_monthly_budget = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    @property
    def effective_llm_budget(self) -> Decimal | None:
        if self.llm_monthly_budget is not None:
            return self.llm_monthly_budget
        return self.plan.llm_monthly_budget


class AgentAllocation(models.Model):
    """A tenant's settings for one agent role; null fields inherit the plan."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="allocations")
    role = models.CharField(max_length=64)
    enabled = models.BooleanField(null=True, blank=True, help_text="Empty: as the plan says.")
    max_concurrent = models.PositiveIntegerField(null=True, blank=True)
    monthly_limit = models.PositiveIntegerField(null=True, blank=True)
    model_override = models.CharField(max_length=128, blank=True)
    adapter_override = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "role"], name="allocation_unique"),
        ]
        ordering = ["tenant", "role"]

    def __str__(self) -> str:
        return f"{self.tenant.slug}:{self.role}"


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner"
        ADMIN = "admin"
        MEMBER = "member"
        VIEWER = "viewer"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "tenant"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant} ({self.role})"

    @property
    def can_write(self) -> bool:
        return self.role != self.Role.VIEWER


class ApiToken(models.Model):
    """An API key. Only its SHA-256 is stored; the key is shown once.

    Keys look like `rly_<prefix>_<secret>`: the prefix finds the row, the hash
    of the whole key proves it. Keys are 256-bit random, so a fast hash is
    the right one (no password stretching needed).
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=128)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} (rly_{self.prefix}_…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
