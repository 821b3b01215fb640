"""Sender accounts: add, edit, session state (write-only), status and today's usage."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from reachly.campaigns import accounts as services
from reachly.campaigns import selectors
from reachly.campaigns.errors import DomainError
from reachly.campaigns.models import SenderAccount
from reachly.web.forms import SenderAccountForm, SessionStateForm, apply_domain_error
from reachly.web.tenancy import TenantRequest, forbidden, tenant_page


def _account(request: TenantRequest, pk: int) -> SenderAccount:
    return get_object_or_404(selectors.sender_accounts_for(request.tenant), pk=pk)


@tenant_page
def account_list(request: TenantRequest) -> HttpResponse:
    accounts = list(selectors.sender_accounts_for(request.tenant).order_by("name"))
    usage = selectors.sender_account_usage_today(accounts)
    rows = [{"account": a, "usage": usage[a.id], **selectors.sender_account_summary(a)} for a in accounts]
    return render(request, "web/accounts/list.html", {"rows": rows})


@tenant_page(write=True)
def account_create(request: TenantRequest) -> HttpResponse:
    form = SenderAccountForm(request.POST or None)
    session_form = SessionStateForm(request.POST or None, request.FILES or None, required=False)
    # Both forms are validated, so every error shows at once.
    if request.method == "POST" and all([form.is_valid(), session_form.is_valid()]):
        fields = form.service_fields()
        if session_form.cleaned_data["state"] is not None:
            fields["session_state"] = session_form.cleaned_data["state"]
        try:
            account = services.sender_account_create(tenant=request.tenant, **fields)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, f"Account “{account.name}” added.")
            return redirect("web:account", pk=account.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "web/accounts/form.html",
        {"form": form, "session_form": session_form, "account": None},
        status=status,
    )


def _detail(request: TenantRequest, account: SenderAccount, status: int = 200, **forms) -> HttpResponse:
    usage = selectors.sender_account_usage_today([account])[account.id]
    context = {
        "account": account,
        "usage": usage,
        **selectors.sender_account_summary(account),
        "form": forms.get("form") or SenderAccountForm(initial=SenderAccountForm.initial_for(account), editing=True),
        "session_form": forms.get("session_form") or SessionStateForm(),
        "delete_error": forms.get("delete_error"),
        "campaigns": list(account.campaigns.order_by("name").values("id", "name")[:20]),
        "can_write": request.membership.can_write,
    }
    return render(request, "web/accounts/detail.html", context, status=status)


@tenant_page
def account_detail(request: TenantRequest, pk: int) -> HttpResponse:
    account = _account(request, pk)
    if request.method != "POST":
        return _detail(request, account)
    if not request.membership.can_write:
        return forbidden(request)
    form = SenderAccountForm(request.POST, editing=True, initial=SenderAccountForm.initial_for(account))
    if form.is_valid():
        try:
            services.sender_account_update(account, **form.service_fields())
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, "Account saved.")
            return redirect("web:account", pk=account.pk)
    return _detail(request, account, status=400, form=form)


@require_POST
@tenant_page(write=True)
def account_session(request: TenantRequest, pk: int) -> HttpResponse:
    """Store a new browser session (write-only: it is never shown again)."""
    account = _account(request, pk)
    form = SessionStateForm(request.POST, request.FILES)
    if form.is_valid():
        # Also clears "needs login": the next step signs in with it.
        services.sender_account_session_save(account.pk, form.cleaned_data["state"])
        messages.success(request, "Session state stored. The next step on this account uses it.")
        return redirect("web:account", pk=account.pk)
    return _detail(request, account, status=400, session_form=form)


@require_POST
@tenant_page(write=True)
def account_session_clear(request: TenantRequest, pk: int) -> HttpResponse:
    account = _account(request, pk)
    services.sender_account_session_forget(account)
    messages.success(request, "Session forgotten. The next step signs in with the stored password.")
    return redirect("web:account", pk=account.pk)


@require_POST
@tenant_page(write=True)
def account_status(request: TenantRequest, pk: int) -> HttpResponse:
    """Pause (its steps wait) or resume an account."""
    account = _account(request, pk)
    wanted = request.POST.get("status")
    if wanted not in (SenderAccount.Status.ACTIVE, SenderAccount.Status.PAUSED):
        messages.error(request, "Choose pause or resume.")
        return redirect("web:account", pk=account.pk)
    services.sender_account_update(account, status=wanted)
    messages.success(request, "Account resumed." if wanted == SenderAccount.Status.ACTIVE else "Account paused.")
    return redirect("web:account", pk=account.pk)


@require_POST
@tenant_page(write=True)
def account_delete(request: TenantRequest, pk: int) -> HttpResponse:
    account = _account(request, pk)
    try:
        services.sender_account_delete(account)
    except DomainError as exc:
        return _detail(request, account, status=409, delete_error=exc.message)
    messages.success(request, f"Account “{account.name}” deleted.")
    return redirect("web:accounts")
