"""The tenant of an API request: the DRF door of the one tenancy rule
(reachly.tenants.tenancy, which states it).

What this door passes to the rule: the token's tenant (a token is bound to
it), the `X-Reachly-Tenant: <slug>` header as the explicit choice, and the
session (the tenant chosen in the web UI). A refusal is a 403 in the API's
error body, its message the rule's.
"""

from __future__ import annotations

from typing import Any, cast

from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request

from reachly.tenants import tenancy as rule
from reachly.tenants.models import ApiToken, Membership, Tenant

NO_TENANT = rule.NO_TENANT
_UNSET = object()


def tenancy_of(request: Request) -> rule.Tenancy | None:
    """The request's `Tenancy` (cached on the request), or None for an
    anonymous one. Raises PermissionDenied (403) with the rule's message
    when the rule refuses (no membership, a choice of a tenant the caller is
    not a member of)."""
    cached: Any = getattr(request, "_reachly_tenancy", _UNSET)
    if cached is not _UNSET:
        if isinstance(cached, rule.TenancyError):
            raise PermissionDenied(str(cached))
        return cast("rule.Tenancy | None", cached)
    result: rule.Tenancy | rule.TenancyError | None = None
    if request.user and request.user.is_authenticated:
        token = request.auth if isinstance(request.auth, ApiToken) else None
        try:
            result = rule.resolve(
                request.user,
                bound=token.tenant if token is not None else None,
                choice=request.headers.get(rule.HEADER),
                session=getattr(request, "session", None),
            )
        except rule.TenancyError as exc:
            result = exc
    request._reachly_tenancy = result  # type: ignore[attr-defined]  # a per-request cache
    if isinstance(result, rule.TenancyError):
        raise PermissionDenied(str(result))
    return result


def membership_of(request: Request) -> Membership | None:
    """The signed-in user's membership for this request (None for tokens
    and anonymous requests). Raises PermissionDenied as `tenancy_of`."""
    found = tenancy_of(request)
    return found.membership if found else None


def tenant_of(request: Request) -> Tenant | None:
    """The tenant this request acts for; None for an anonymous request.
    Raises PermissionDenied as `tenancy_of`."""
    found = tenancy_of(request)
    return found.tenant if found else None


def acting_tenant(request: Request) -> Tenant:
    """The tenant of a request that passed `TenantMember`: for views that
    create in it. Raises PermissionDenied (403) when there is none."""
    tenant = tenant_of(request)
    if tenant is None:
        raise PermissionDenied(NO_TENANT)
    return tenant
