"""Reads of the operator side."""

from __future__ import annotations

from django.db import models
from django.db.models import QuerySet

from reachly.ops.models import AuditLog


def audit_for(obj: models.Model, limit: int = 20) -> QuerySet[AuditLog]:
    """The latest operator actions on one object."""
    return AuditLog.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))[:limit]
