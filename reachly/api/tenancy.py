"""The tenant of a request, decided in one place.

* token: the token's tenant;
* session: the user's membership — the tenant chosen in the session
  (`SESSION_KEY`, set by the web UI) or by the `X-Reachly-Tenant: <slug>`
  header, else the user's only tenant.
"""

from __future__ import annotations

from typing import cast

from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request

from reachly.api.authentication import TokenUser
from reachly.tenants.models import Membership, Tenant
from reachly.tenants.tenancy import SESSION_KEY

HEADER = "HTTP_X_REACHLY_TENANT"
NO_TENANT = "this account is not a member of any tenant"
_UNSET = object()


def membership_of(request: Request) -> Membership | None:
    """The signed-in user's membership for this request (None for tokens)."""
    cached = getattr(request, "_reachly_membership", _UNSET)
    if cached is not _UNSET:
        return cast("Membership | None", cached)
    membership = None
    user = request.user
    if user.is_authenticated and not isinstance(user, TokenUser):
        memberships = Membership.objects.filter(user=user).select_related("tenant", "tenant__plan")
        slug = request.META.get(HEADER)
        chosen = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
        if slug:
            membership = memberships.filter(tenant__slug=slug).first()
            if membership is None:
                raise PermissionDenied(f"you are not a member of tenant {slug!r}")
        elif chosen:
            membership = memberships.filter(tenant_id=chosen).first()
        if membership is None and not slug:
            found = list(memberships[:2])
            if len(found) > 1:
                raise PermissionDenied("you belong to several tenants: choose one with the X-Reachly-Tenant header")
            membership = found[0] if found else None
    request._reachly_membership = membership  # type: ignore[attr-defined]  # a per-request cache
    return membership


def tenant_of(request: Request) -> Tenant | None:
    """The tenant this request acts for, or None (anonymous, staff without one)."""
    cached = getattr(request, "_reachly_tenant", _UNSET)
    if cached is not _UNSET:
        return cast("Tenant | None", cached)
    tenant: Tenant | None
    user: object = request.user  # DRF's stub omits TokenUser (reachly.api.authentication)
    if isinstance(user, TokenUser):
        tenant = user.token.tenant
    else:
        membership = membership_of(request)
        tenant = membership.tenant if membership else None
    request._reachly_tenant = tenant  # type: ignore[attr-defined]  # a per-request cache
    return tenant


def acting_tenant(request: Request) -> Tenant:
    """The tenant of a request that passed `TenantMember` (which refuses
    one without a tenant): for views that create in it."""
    tenant = tenant_of(request)
    if tenant is None:
        raise PermissionDenied(NO_TENANT)
    return tenant
