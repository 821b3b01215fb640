"""Writes of the operator side: the audit trail."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import models

from reachly.ops.models import AuditLog


def audit_record(
    *,
    actor: User | AnonymousUser | None,
    action: str,
    obj: models.Model | None = None,
    tenant_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditLog:
    """Record that `actor` did `action` to `obj` (its tenant is found from
    the object when it has one)."""
    if tenant_id is None and obj is not None:
        tenant_id = getattr(obj, "tenant_id", None)
        if tenant_id is None and obj._meta.label_lower == "tenants.tenant":
            tenant_id = obj.pk
    user = actor if actor is not None and actor.is_authenticated else None
    return AuditLog.objects.create(
        actor=user,
        actor_name=user.get_username() if user is not None else "",
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        tenant_id=tenant_id,
        details=details or {},
    )
