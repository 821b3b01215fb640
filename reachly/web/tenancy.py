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

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from reachly.tenants.models import Membership, Tenant
from reachly.tenants.tenancy import SESSION_KEY

# The UI's sections (first path segment): the tenant switcher returns to
# the section's index, whose objects exist in every tenant.
SECTIONS = ("campaigns", "jobs", "sender-accounts", "usage", "api-tokens")


def memberships_of(user) -> list[Membership]:
    return list(
        Membership.objects.filter(user=user).select_related("tenant", "tenant__plan").order_by("tenant__name", "id")
    )


def choose(request: HttpRequest, tenant_id: int) -> Tenant | None:
    """Make `tenant_id` the session's tenant, if the user is a member."""
    membership = Membership.objects.filter(user=request.user, tenant_id=tenant_id).select_related("tenant").first()
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


def tenant_page(view: Callable | None = None, *, write: bool = False) -> Callable:
    """Decorator: a signed-in member of a tenant; sets `request.tenant`,
    `request.membership` and `request.memberships`. With write=True the
    page changes something: viewers get 403 (whatever the method)."""

    def decorate(fn: Callable) -> Callable:
        @wraps(fn)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            memberships = memberships_of(request.user)
            if not memberships:
                return render(request, "web/no_tenant.html", status=403)
            chosen = request.session.get(SESSION_KEY)
            current = next((m for m in memberships if m.tenant_id == chosen), memberships[0])
            if chosen != current.tenant_id:
                request.session[SESSION_KEY] = current.tenant_id
            request.tenant = current.tenant
            request.membership = current
            request.memberships = memberships
            first = request.path.strip("/").split("/")[0]
            request.section_root = f"/{first}/" if first in SECTIONS else "/"
            if write and not current.can_write:
                return forbidden(request)
            return fn(request, *args, **kwargs)

        return wrapper

    return decorate(view) if view is not None else decorate
