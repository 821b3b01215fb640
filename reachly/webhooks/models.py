"""Outgoing webhooks: where a tenant wants to hear about its jobs and leads."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models

from reachly.core.fields import EncryptedJSONField
from reachly.tenants.models import Tenant


class WebhookEvent(models.TextChoices):
    JOB_COMPLETED = "job.completed"
    JOB_FAILED = "job.failed"
    STEP_FAILED = "step.failed"
    LEAD_STATUS_CHANGED = "lead.status_changed"


class WebhookEndpoint(models.Model):
    """A URL that receives signed JSON POSTs for the events it subscribed to.

    The signing secret is encrypted at rest (like sender account sessions)
    and shown to the tenant once, when the endpoint is created.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    secret = EncryptedJSONField()
    events = ArrayField(models.CharField(max_length=32, choices=WebhookEvent.choices), default=list)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["tenant", "active"], name="webhook_tenant_active")]

    def __str__(self) -> str:
        return self.url
