"""API tokens: create (the key is shown once), list, revoke."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from reachly.tenants.models import ApiToken
from reachly.tenants.services import api_token_create, api_token_revoke
from reachly.web.forms import ApiTokenForm
from reachly.web.tenancy import TenantRequest, forbidden, tenant_page


@tenant_page
def token_list(request: TenantRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST or None)
    new_key = new_token = None
    status = 200
    if request.method == "POST":
        if not request.membership.can_write:
            return forbidden(request)
        if form.is_valid():
            new_token, new_key = api_token_create(
                tenant=request.tenant, name=form.cleaned_data["name"], created_by=request.user
            )
            form = ApiTokenForm()
        else:
            status = 400
    tokens = ApiToken.objects.filter(tenant=request.tenant).select_related("created_by").order_by("-created_at")
    response = render(
        request,
        "web/tokens.html",
        {
            "form": form,
            "tokens": tokens,
            "new_key": new_key,
            "new_token": new_token,
            "base_url": request.build_absolute_uri("/"),
        },
        status=status,
    )
    if new_key:
        # The key is in this response only: no cache may keep it.
        response["Cache-Control"] = "no-store"
    return response


@require_POST
@tenant_page(write=True)
def token_revoke(request: TenantRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, tenant=request.tenant)
    api_token_revoke(token)
    messages.success(request, f"Token “{token.name}” revoked. Requests with it now answer 401.")
    return redirect("web:tokens")
