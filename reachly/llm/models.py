"""Every call Reachly makes to an LLM provider, recorded once.

One row per provider call (a 429 from the primary and the fallback's answer
are two rows). A row with outcome `ok` is what the tenant pays for; its
tokens and cost are added to the month's UsageCounter in the same
transaction. `effect_key` ties a successful call to the step's effect ledger
entry, so a retried step reuses the completion instead of paying twice.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from reachly.orchestration.models import Job, Step
from reachly.tenants.models import Tenant


class LLMCall(models.Model):
    class Outcome(models.TextChoices):
        OK = "ok"
        RATE_LIMITED = "rate_limited"  # the provider answered 429
        UNAVAILABLE = "unavailable"  # 5xx, timeout, connection error
        ERROR = "error"  # any other refusal (bad key, bad request)

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="llm_calls")
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    step = models.ForeignKey(Step, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    agent = models.CharField(max_length=64)
    # What the call was for: the prompt template's name ("copywriter.note").
    task = models.CharField(max_length=64, blank=True)
    provider = models.CharField(max_length=64)
    model = models.CharField(max_length=128)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    latency_ms = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    # Answered by a provider other than the first of the chain.
    fallback = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    effect_key = models.CharField(max_length=200, blank=True)
    completion = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="llmcall_tenant_created"),
            models.Index(fields=["job"], name="llmcall_job"),
        ]
        constraints = [
            # At most one paid completion per step and effect key (also the
            # index of the effect ledger's verify: "did this call succeed?").
            models.UniqueConstraint(
                fields=["step", "effect_key"],
                condition=Q(outcome="ok") & ~Q(effect_key=""),
                name="llmcall_once_per_effect",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.model} {self.outcome} ({self.total_tokens} tokens)"

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens
