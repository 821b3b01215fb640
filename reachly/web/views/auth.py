"""Signing in and out, and switching tenant."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from reachly.tenants.signin import SignInForm
from reachly.web import tenancy
from reachly.web.views.base import safe_next


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    redirect_authenticated_user = True
    authentication_form = SignInForm


class LogoutView(auth_views.LogoutView):
    next_page = "web:login"


@require_POST
@login_required
def tenant_switch(request: HttpRequest) -> HttpResponse:
    """Act for another of the user's tenants (the session remembers it)."""
    try:
        tenant_id = int(request.POST.get("tenant", ""))
    except ValueError:
        tenant_id = 0
    tenant = tenancy.choose(request, tenant_id) if tenant_id else None
    if tenant is None:
        messages.error(request, "You are not a member of that workspace.")
        return redirect("web:dashboard")
    messages.success(request, f"Switched to {tenant.name}.")
    # Back to the section the user was in (its objects may not exist here).
    return redirect(safe_next(request, "/"))
