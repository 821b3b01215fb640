"""The tenant of a request, decided in one place.

* token: the token's tenant;
* session: the user's membership — the tenant chosen in the session
  (`SESSION_KEY`, set by the web UI) or by the `X-Reachly-Tenant: <slug>`
  header, else the user's only tenant.
"""

from __future__ import annotations

from rest_framework.exceptions import PermissionDenied

from reachly.api.authentication import TokenUser
from reachly.tenants.models import Membership, Tenant
from reachly.tenants.tenancy import SESSION_KEY

HEADER = "HTTP_X_REACHLY_TENANT"
_UNSET = object()


def membership_of(request) -> Membership | None:
    """The signed-in user's membership for this request (None for tokens)."""
    cached = getattr(request, "_reachly_membership", _UNSET)
    if cached is not _UNSET:
        return cached
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
    request._reachly_membership = membership
    return membership


def tenant_of(request) -> Tenant | None:
    """The tenant this request acts for, or None (anonymous, staff without one)."""
    cached = getattr(request, "_reachly_tenant", _UNSET)
    if cached is not _UNSET:
        return cached
    if isinstance(request.user, TokenUser):
        tenant = request.user.token.tenant
    else:
        membership = membership_of(request)
        tenant = membership.tenant if membership else None
    request._reachly_tenant = tenant
    return tenant
