"""What every tenant-scoped view shares.

`TenantScoped` is the one place where tenant isolation happens: every
queryset a view reads is filtered by the caller's tenant (reachly.api.
tenancy), so another tenant's object answers 404 whatever the view does.
Views declare `queryset`, `tenant_field` (the path to the tenant) and stay
thin: input serializers validate shapes, services do the work.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.db.models import Model, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.views import APIView

from reachly.api.tenancy import acting_tenant, tenant_of
from reachly.tenants.models import Tenant

M = TypeVar("M", bound=Model)

MAX_ID = 2**63 - 1
MAX_INT = 2**31 - 1
ID_PATTERN = r"[0-9]{1,18}"


# Listed first in a view's bases, before the generic view or viewset. (No
# docstring: the schema would take it as every view's description.)
class TenantScoped(APIView):
    queryset: QuerySet[Any] | None = None
    tenant_field = "tenant"

    @property
    def tenant(self) -> Tenant | None:
        return tenant_of(self.request)

    @property
    def acting_tenant(self) -> Tenant:
        """The caller's tenant where one is certain (behind `TenantMember`)."""
        return acting_tenant(self.request)

    def scope(self, queryset: QuerySet[M]) -> QuerySet[M]:
        """`queryset` narrowed to the caller's tenant (nothing without one)."""
        tenant = self.tenant
        if tenant is None:
            return queryset.none()
        return queryset.filter(**{self.tenant_field: tenant})

    def get_queryset(self) -> QuerySet[Any]:
        assert self.queryset is not None, f"{type(self).__name__} declares no queryset"
        return self.scope(self.queryset.all())

    def scoped_get(self, queryset: QuerySet[M], **lookup: Any) -> M:
        """One object of the tenant, or 404 (also for another tenant's)."""
        return get_object_or_404(self.scope(queryset), **lookup)


def acting_user(request):
    """The signed-in User for `created_by`, None for token requests."""
    user = request.user
    return user if isinstance(user, get_user_model()) and user.is_authenticated else None


def no_nul(value: Any) -> Any:
    """PostgreSQL cannot store NUL characters in text or jsonb."""
    if "\\u0000" in json.dumps(value):
        raise serializers.ValidationError("must not contain NUL (\\u0000) characters")
    return value


def json_object(value: Any) -> Any:
    if not isinstance(value, dict):
        raise serializers.ValidationError("must be a JSON object")
    return no_nul(value)


class TextField(serializers.CharField):
    """DRF's CharField without its coercion of numbers: `{"name": 0}` is a 400
    naming the field, not a token named "0" (an input changed silently)."""

    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class IdListField(serializers.ListField):
    child = serializers.IntegerField(min_value=1, max_value=MAX_ID)


@cache
def _zones() -> frozenset[str]:
    from zoneinfo import available_timezones

    return frozenset(available_timezones())


def timezone_name(value: str) -> None:
    if value not in _zones():
        raise serializers.ValidationError(f"unknown time zone {value[:64]!r} (use an IANA name like Europe/Paris)")


@extend_schema_field({"type": "string", "enum": sorted(_zones()), "example": "Europe/Paris"})
class TimeZoneField(TextField):
    """An IANA time zone name ("Europe/Paris"); the schema lists the names
    this server knows (zoneinfo), so a client can tell before it sends."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("max_length", 64)
        kwargs["validators"] = [*kwargs.get("validators", []), timezone_name]
        super().__init__(**kwargs)


@extend_schema_field(
    {"type": "string", "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$", "example": "09:00"}
)
class LocalTimeField(serializers.TimeField):
    """A wall-clock time in the object's own time zone (no offset): "09:00"."""
