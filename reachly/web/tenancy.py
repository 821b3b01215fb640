"""The current tenant of a web page, and who may change what in it.

The web door of the one tenancy rule (reachly.tenants.tenancy, which states
it): a signed-in user acts for the tenant chosen with the tenant switcher
(kept in the session under the key every door reads, so the UI's own API
calls and its live socket act for the same tenant), else their first by
name. The page remembers the tenant it resolved in the session, so the
choice stays put when a membership is added later. Every page is scoped to
it: another tenant's object answers 404. Viewers read; they cannot change
anything (403).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, cast, overload

from django.contrib.auth.models import User
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from reachly.tenants import tenancy as rule
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


def choose(request: HttpRequest, tenant_id: int) -> Tenant | None:
    """Make `tenant_id` the session's tenant (the switcher). Returns the
    Tenant, or None — and the session is unchanged — if the user is not a
    member of it (or not signed in)."""
    if not request.user.is_authenticated:  # callers are behind login_required
        return None
    try:
        return rule.remember(request.session, request.user, tenant_id)
    except rule.NotAMember:
        return None


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
            try:
                # No explicit choice at this door: pages are plain links; the
                # switcher (POST /tenant/) is how a user chooses.
                found = rule.resolve(user, session=request.session)
            except rule.NoTenant:
                return render(request, "web/no_tenant.html", status=403)
            current = found.membership
            assert current is not None  # a user's tenancy always has a membership
            if request.session.get(SESSION_KEY) != current.tenant_id:
                request.session[SESSION_KEY] = current.tenant_id
            # From here on the request is a TenantRequest: its attributes are set now.
            member_request = cast(TenantRequest, request)
            member_request.tenant = current.tenant
            member_request.membership = current
            member_request.memberships = list(found.memberships)
            first = request.path.strip("/").split("/")[0]
            member_request.section_root = f"/{first}/" if first in SECTIONS else "/"
            if write and not current.can_write:
                return forbidden(request)
            return fn(member_request, *args, **kwargs)

        return wrapper

    return decorate(view) if view is not None else decorate
