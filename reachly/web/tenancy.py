"""The current tenant of a web page, and who may change what in it.

A signed-in user acts for one tenant at a time: the one chosen with the
tenant switcher (kept in the session under the key the REST API reads too,
so the UI's own API calls act for the same tenant), else their first.
Every page is scoped to it: another tenant's object answers 404.
Viewers read; they cannot change anything (403).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, cast, overload

from django.contrib.auth.models import User
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from reachly.tenants.models import Membership, Tenant
from reachly.tenants.tenancy import SESSION_KEY

# The UI's sections (first path segment): the tenant switcher returns to
# the section's index, whose objects exist in every tenant.
SECTIONS = ("campaigns", "jobs", "sender-accounts", "usage", "api-tokens")


class TenantRequest(HttpRequest):
    """The request a `tenant_page` view gets: a signed-in member's, with
    the attributes the decorator sets (for annotations only: at run time
    it is the usual HttpRequest)."""

    user: User
    tenant: Tenant
    membership: Membership
    memberships: list[Membership]
    section_root: str


View = Callable[..., HttpResponse]


def memberships_of(user: User) -> list[Membership]:
    return list(
        Membership.objects.filter(user=user).select_related("tenant", "tenant__plan").order_by("tenant__name", "id")
    )


def choose(request: HttpRequest, tenant_id: int) -> Tenant | None:
    """Make `tenant_id` the session's tenant, if the user is a member."""
    user = request.user
    if not user.is_authenticated:  # callers are behind login_required
        return None
    membership = Membership.objects.filter(user=user, tenant_id=tenant_id).select_related("tenant").first()
    if membership is None:
        return None
    request.session[SESSION_KEY] = membership.tenant_id
    return membership.tenant


def forbidden(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "web/forbidden.html",
        {"reason": "Viewers can look at everything in this workspace but cannot change it."},
        status=403,
    )


@overload
def tenant_page(view: View, *, write: bool = False) -> View: ...
@overload
def tenant_page(view: None = None, *, write: bool = False) -> Callable[[View], View]: ...
def tenant_page(view: View | None = None, *, write: bool = False) -> View | Callable[[View], View]:
    """Decorator: a signed-in member of a tenant; sets `request.tenant`,
    `request.membership` and `request.memberships`. With write=True the
    page changes something: viewers get 403 (whatever the method)."""

    def decorate(fn: View) -> View:
        @wraps(fn)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            memberships = memberships_of(user)
            if not memberships:
                return render(request, "web/no_tenant.html", status=403)
            chosen = request.session.get(SESSION_KEY)
            current = next((m for m in memberships if m.tenant_id == chosen), memberships[0])
            if chosen != current.tenant_id:
                request.session[SESSION_KEY] = current.tenant_id
            # From here on the request is a TenantRequest: its attributes are set now.
            member_request = cast(TenantRequest, request)
            member_request.tenant = current.tenant
            member_request.membership = current
            member_request.memberships = memberships
            first = request.path.strip("/").split("/")[0]
            member_request.section_root = f"/{first}/" if first in SECTIONS else "/"
            if write and not current.can_write:
                return forbidden(request)
            return fn(member_request, *args, **kwargs)

        return wrapper

    return decorate(view) if view is not None else decorate
