"""What operators did: the audit trail of the admin's controls.

The orchestration services already put the actor into the job's events
(`by`); AuditLog is the operator-side view across every object: who paused,
cancelled or retried what, who created or revoked an API token, who edited a
tenant, and when. Rows are written by `reachly.ops.services.audit_record`
and never changed.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditLog(models.Model):
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept as text too: the trail must outlive a deleted operator account.
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64)  # "job.pause", "api_token.create", ...
    object_type = models.CharField(max_length=100, blank=True)  # "orchestration.job"
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    tenant = models.ForeignKey(
        "tenants.Tenant", null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_log"
    )
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id", "-created_at"], name="audit_object"),
            models.Index(fields=["tenant", "-created_at"], name="audit_tenant"),
        ]
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"

    def __str__(self) -> str:
        return f"{self.actor_name or 'system'} {self.action} {self.object_repr}".strip()
