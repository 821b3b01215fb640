"""Writes about campaigns, leads and sender accounts."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from reachly.campaigns.models import Lead, SenderAccount
from reachly.orchestration.events import NewEvent, emit


def sender_account_session_save(account_id: int, state: dict[str, Any]) -> None:
    """Store a browser session (cookies, local storage), encrypted at rest."""
    account = SenderAccount.objects.get(pk=account_id)
    account.session_state = state
    account.session_updated_at = timezone.now()
    fields = ["session_state", "session_updated_at"]
    if account.status == SenderAccount.Status.NEEDS_LOGIN:
        account.status, account.status_reason = SenderAccount.Status.ACTIVE, ""
        fields += ["status", "status_reason"]
    account.save(update_fields=fields)


def sender_account_session_load(account_id: int) -> dict[str, Any] | None:
    return SenderAccount.objects.only("session_state").get(pk=account_id).session_state


def sender_account_credentials(account_id: int) -> tuple[str, str | None]:
    """Login and password, for an agent that must sign in again."""
    account = SenderAccount.objects.only("login", "password").get(pk=account_id)
    secret = account.password
    return account.login, secret.get("password") if isinstance(secret, dict) else secret


def sender_account_needs_login(account_id: int, reason: str) -> None:
    SenderAccount.objects.filter(pk=account_id).update(
        status=SenderAccount.Status.NEEDS_LOGIN, status_reason=reason[:255]
    )


def lead_status_set(
    *, lead_id: int, status: str, detail: str = "", job_id: int | None = None, account_id: int | None = None
) -> None:
    """Change a lead's per-campaign status; an event on the job says so."""
    with transaction.atomic():
        updates: dict[str, Any] = {"status": status, "status_detail": detail[:255], "updated_at": timezone.now()}
        if account_id is not None:
            updates["sender_account_id"] = account_id
        changed = Lead.objects.filter(pk=lead_id).exclude(status=status, status_detail=detail[:255]).update(**updates)
        if changed and job_id is not None:
            emit(job_id, [NewEvent("lead.status_changed", {"lead": lead_id, "status": status, "detail": detail})])
