"""Writes about campaigns, leads and sender accounts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from reachly.campaigns.errors import Conflict, Invalid
from reachly.campaigns.models import Campaign, Lead, SenderAccount
from reachly.campaigns.sessions import check_network, validate_storage_state
from reachly.orchestration.events import NewEvent, emit
from reachly.tenants.models import Tenant


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
    *,
    lead_id: int,
    status: str,
    detail: str = "",
    job_id: int | None = None,
    account_id: int | None = None,
    tenant_id: int | None = None,
) -> None:
    """Change a lead's per-campaign status; an event on the job says so.

    `tenant_id`, when given, confines the change to that tenant's lead (an
    agent's request never reaches another tenant's). Raises ValueError for
    a status that is not a Lead.Status value.
    """
    if status not in Lead.Status.values:
        raise ValueError(f"unknown lead status {status!r}; one of {', '.join(Lead.Status.values)}")
    leads = Lead.objects.filter(pk=lead_id)
    if tenant_id is not None:
        leads = leads.filter(tenant_id=tenant_id)
    with transaction.atomic():
        updates: dict[str, Any] = {"status": status, "status_detail": detail[:255], "updated_at": timezone.now()}
        if account_id is not None:
            updates["sender_account_id"] = account_id
        changed = leads.exclude(status=status, status_detail=detail[:255]).update(**updates)
        if changed and job_id is not None:
            emit(job_id, [NewEvent("lead.status_changed", {"lead": lead_id, "status": status, "detail": detail})])


# ---------------------------------------------------------------------------
# Sender accounts and campaigns: create, update, delete (API, web UI)
# ---------------------------------------------------------------------------

# A sender account's settings that its owner may set (the web form, the API
# and the admin show them in this order); secrets and status go separately.
SENDER_ACCOUNT_FIELDS = (
    "name",
    "network",
    "login",
    "timezone",
    "working_hours_start",
    "working_hours_end",
    "daily_invite_cap",
    "daily_message_cap",
    "daily_visit_cap",
)
CAMPAIGN_FIELDS = {"name", "brief", "status", "priority", "timezone", "schedule_start", "schedule_end", "settings"}


def _check_login_free(tenant_id: int, network: str, login: str, exclude_id: int | None = None) -> None:
    taken = SenderAccount.objects.filter(tenant_id=tenant_id, network=network, login=login)
    if exclude_id is not None:
        taken = taken.exclude(pk=exclude_id)
    if taken.exists():
        raise Invalid(f"this tenant already has an account {login!r} on {network}", field="login")


def _checked(field: str, check: Callable[[Any], Any], value: Any) -> Any:
    """`check(value)`, its ValidationError turned into Invalid naming `field`."""
    try:
        return check(value)
    except DjangoValidationError as exc:
        raise Invalid(exc.messages[0], field=field) from None


def sender_account_create(
    *,
    tenant: Tenant,
    name: str,
    login: str,
    network: str = "sandbox",
    password: str | None = None,
    session_state: dict[str, Any] | None = None,
    **settings: Any,
) -> SenderAccount:
    """A new sender account; the password and session state are stored
    encrypted and never returned by any surface."""
    unknown = set(settings) - set(SENDER_ACCOUNT_FIELDS)
    if unknown:
        raise Invalid("unknown field", field=sorted(unknown)[0])
    _checked("network", check_network, network)
    if session_state is not None:
        session_state = _checked("session_state", validate_storage_state, session_state)
    _check_login_free(tenant.id, network, login)
    account = SenderAccount(tenant=tenant, name=name, login=login, network=network, **settings)
    if password is not None:
        account.password = {"password": password}
    if session_state is not None:
        account.session_state = session_state
        account.session_updated_at = timezone.now()
    try:
        with transaction.atomic():
            account.save()
    except IntegrityError:  # a concurrent create of the same login
        raise Invalid(f"this tenant already has an account {login!r} on {network}", field="login") from None
    return account


def sender_account_update(account: SenderAccount, **changes: Any) -> SenderAccount:
    """Change an account's settings. `password` and `session_state` replace
    the stored secrets (None clears the session: the agent logs in again);
    `status` "paused"/"active" pauses or resumes it through the control plane."""
    from reachly.orchestration.services import sender_account_pause, sender_account_resume

    status = changes.pop("status", None)
    if "network" in changes:
        _checked("network", check_network, changes["network"])
    if changes.get("session_state") is not None:
        changes["session_state"] = _checked("session_state", validate_storage_state, changes["session_state"])
    fields = []
    for name in (n for n in SENDER_ACCOUNT_FIELDS if n in changes):
        setattr(account, name, changes[name])
        fields.append(name)
    if {"network", "login"} & set(fields):
        _check_login_free(account.tenant_id, account.network, account.login, exclude_id=account.pk)
    if "password" in changes:
        account.password = {"password": changes["password"]} if changes["password"] is not None else None
        fields.append("password")
    if "session_state" in changes:
        account.session_state = changes["session_state"]
        account.session_updated_at = timezone.now() if changes["session_state"] is not None else None
        fields += ["session_state", "session_updated_at"]
    if fields:
        try:
            with transaction.atomic():
                account.save(update_fields=fields)
        except IntegrityError:
            raise Invalid("this tenant already has an account with this login", field="login") from None
    if status == SenderAccount.Status.PAUSED and account.status != SenderAccount.Status.PAUSED:
        account = sender_account_pause(account, reason="paused by the tenant")
    elif status == SenderAccount.Status.ACTIVE and account.status != SenderAccount.Status.ACTIVE:
        account = sender_account_resume(account)
    elif status is not None and status not in (SenderAccount.Status.PAUSED, SenderAccount.Status.ACTIVE):
        raise Invalid("only 'active' or 'paused' can be set", field="status")
    return account


def sender_account_delete(account: SenderAccount) -> None:
    """Delete an account that no step is using right now."""
    from reachly.orchestration.models import TERMINAL_STEP_STATUSES, Step

    busy = Step.objects.filter(sender_account=account).exclude(status__in=TERMINAL_STEP_STATUSES).count()
    if busy:
        raise Conflict(
            f"{busy} unfinished steps use this account; cancel their jobs first",
            details={"steps": busy},
        )
    account.delete()


def _check_accounts(tenant: Tenant, accounts: list[SenderAccount] | list[int]) -> list[int]:
    ids = [a.pk if isinstance(a, SenderAccount) else int(a) for a in accounts]
    own = set(SenderAccount.objects.filter(tenant=tenant, id__in=ids).values_list("id", flat=True))
    missing = [i for i in ids if i not in own]
    if missing:
        raise Invalid(f"no sender account {missing[0]} in this tenant", field="sender_accounts")
    return ids


def campaign_create(*, tenant: Tenant, name: str, sender_accounts: list[Any] | None = None, **fields: Any) -> Campaign:
    unknown = set(fields) - CAMPAIGN_FIELDS
    if unknown:
        raise Invalid("unknown field", field=sorted(unknown)[0])
    account_ids = _check_accounts(tenant, sender_accounts or [])
    with transaction.atomic():
        campaign = Campaign.objects.create(tenant=tenant, name=name, **fields)
        if account_ids:
            campaign.sender_accounts.set(account_ids)
    return campaign


def campaign_update(campaign: Campaign, **changes: Any) -> Campaign:
    accounts = changes.pop("sender_accounts", None)
    unknown = set(changes) - CAMPAIGN_FIELDS
    if unknown:
        raise Invalid("unknown field", field=sorted(unknown)[0])
    with transaction.atomic():
        for name, value in changes.items():
            setattr(campaign, name, value)
        if changes:
            campaign.save(update_fields=[*changes, "updated_at"])
        if accounts is not None:
            campaign.sender_accounts.set(_check_accounts(campaign.tenant, accounts))
    return campaign


def campaign_delete(campaign: Campaign) -> None:
    """Delete a campaign and its leads; its running jobs must be cancelled first."""
    from reachly.orchestration.models import JobStatus

    live = campaign.jobs.filter(status__in=[JobStatus.RUNNING, JobStatus.PAUSED]).count()
    if live:
        raise Conflict(f"the campaign has {live} running or paused jobs; cancel them first", details={"jobs": live})
    campaign.delete()
