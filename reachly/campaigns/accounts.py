"""Sender accounts: the one service every door uses (API, web UI, admin,
agents through the runner, the beat schedule).

    sender_account_create(tenant=..., name=..., login=..., status=...)  a new account
    sender_account_update(account, **changes)         settings, secrets, status
    sender_account_delete(account)                    Conflict while steps use it
    sender_account_pause(account, reason=...) / sender_account_resume(account)
    sender_account_cool_down(account_id, until, reason)
    sender_account_needs_login(account_id, reason)
    sender_account_end_cool_downs()                   the beat's "cool-down over"
    sender_account_session_load / _save / _forget     the browser session
    sender_account_credentials(account_id)            login and password
    sender_account_for_step(account_id)               plain data for a step

The control plane keeps its own copy of what admission needs, the lane
(reachly.orchestration.models.Lane: admitting, resume_at, timezone). It is
derived from the account by `lane_state` and written through
orchestration.services.lane_set by `_lane_sync`, after every write of a
lane field: `save()` through the post_save receiver below (so the admin's
change form, fixtures and factories keep lanes right too), QuerySet
updates in this module explicitly. A raw UPDATE of status, cooling_down_until
or timezone elsewhere must call `sender_account_lane_sync` after it.

Errors: Invalid (naming the field) for bad input, Conflict for a delete
while steps use the account; SenderAccount.DoesNotExist for an unknown id.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Now
from django.utils import timezone

from reachly.campaigns.errors import Conflict, Invalid
from reachly.campaigns.models import SenderAccount
from reachly.campaigns.sessions import check_network, validate_storage_state
from reachly.orchestration import services as control
from reachly.orchestration.models import TERMINAL_STEP_STATUSES, Step
from reachly.tenants.models import Tenant

Status = SenderAccount.Status

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
# The account fields its lane is derived from.
LANE_FIELDS = frozenset({"tenant", "tenant_id", "status", "cooling_down_until", "timezone"})
# What a step may see of its account (no secrets): sender_account_for_step.
STEP_FIELDS = ("id", *SENDER_ACCOUNT_FIELDS, "status", "cooling_down_until")
# Statuses a tenant may set (the others are the system's: cooling_down and
# needs_login, or an operator's in the admin: disabled).
SETTABLE_STATUSES = (Status.ACTIVE, Status.PAUSED)
PAUSED_BY_TENANT = "paused by the tenant"


# ---------------------------------------------------------------------------
# Lanes: what the control plane needs to admit steps on an account
# ---------------------------------------------------------------------------


def lane_state(status: str, cooling_down_until: datetime | None) -> tuple[bool, datetime | None]:
    """(admitting, resume_at) of a lane for an account in this state: active
    admits; cooling_down admits from `cooling_down_until` on; paused,
    needs_login and disabled do not admit."""
    if status == Status.COOLING_DOWN:
        return True, cooling_down_until
    return status == Status.ACTIVE, None


def sender_account_lane_sync(account_id: int) -> None:
    """Write the account's lane from its row as stored now (inside the
    caller's transaction, so it sees the caller's write). No-op for an
    account that does not exist (any more)."""
    row = (
        SenderAccount.objects.filter(pk=account_id)
        .values("tenant_id", "status", "cooling_down_until", "timezone")
        .first()
    )
    if row is None:
        return
    admitting, resume_at = lane_state(row["status"], row["cooling_down_until"])
    control.lane_set(
        account_id,
        tenant_id=row["tenant_id"],
        admitting=admitting,
        resume_at=resume_at,
        timezone=row["timezone"] or "UTC",
    )


_lane_sync = sender_account_lane_sync


def on_sender_account_saved(
    sender: type[SenderAccount], instance: SenderAccount, update_fields: frozenset[str] | None = None, **kwargs: Any
) -> None:
    """post_save: a save that may have changed a lane field syncs the lane
    (connected in CampaignsConfig.ready)."""
    if update_fields is not None and not (set(update_fields) & LANE_FIELDS):
        return
    _lane_sync(instance.pk)


# ---------------------------------------------------------------------------
# Create, update, delete
# ---------------------------------------------------------------------------


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


def _check_status(status: str | None) -> None:
    if status is not None and status not in SETTABLE_STATUSES:
        raise Invalid("only 'active' or 'paused' can be set", field="status")


def sender_account_create(
    *,
    tenant: Tenant,
    name: str,
    login: str,
    network: str = "sandbox",
    password: str | None = None,
    session_state: dict[str, Any] | None = None,
    status: str | None = None,
    **settings: Any,
) -> SenderAccount:
    """A new sender account, and its lane, in one transaction.

    `settings`: any of SENDER_ACCOUNT_FIELDS (time zone, working hours in
    the account's zone, daily caps). `status`: "active" (the default) or
    "paused" (no step is admitted until it is resumed). The password and
    session state are stored encrypted and never returned by any surface.
    Raises Invalid naming the field (unknown field, unknown network, a
    session that is not a storage state, a login the tenant already has on
    the network, a status other than active/paused).
    """
    unknown = set(settings) - set(SENDER_ACCOUNT_FIELDS)
    if unknown:
        raise Invalid("unknown field", field=sorted(unknown)[0])
    _check_status(status)
    _checked("network", check_network, network)
    if session_state is not None:
        session_state = _checked("session_state", validate_storage_state, session_state)
    _check_login_free(tenant.id, network, login)
    account = SenderAccount(tenant=tenant, name=name, login=login, network=network, **settings)
    if status == Status.PAUSED:
        account.status, account.status_reason = Status.PAUSED, PAUSED_BY_TENANT
    if password is not None:
        account.password = {"password": password}
    if session_state is not None:
        account.session_state = session_state
        account.session_updated_at = timezone.now()
    try:
        with transaction.atomic():
            account.save()  # the post_save receiver writes the lane
    except IntegrityError:  # a concurrent create of the same login
        raise Invalid(f"this tenant already has an account {login!r} on {network}", field="login") from None
    return account


def sender_account_update(account: SenderAccount, **changes: Any) -> SenderAccount:
    """Change an account's settings (any of SENDER_ACCOUNT_FIELDS).

    `password` and `session_state` replace the stored secrets (None clears
    the session: the agent logs in again); `status` "paused"/"active" pauses
    or resumes it (sender_account_pause / sender_account_resume). Returns
    the account, refreshed. Raises Invalid naming the field.
    """
    status = changes.pop("status", None)
    _check_status(status)
    unknown = set(changes) - {*SENDER_ACCOUNT_FIELDS, "password", "session_state"}
    if unknown:
        raise Invalid("unknown field", field=sorted(unknown)[0])
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
                account.save(update_fields=fields)  # a new time zone reaches the lane (post_save)
        except IntegrityError:
            raise Invalid("this tenant already has an account with this login", field="login") from None
    if status == Status.PAUSED and account.status != Status.PAUSED:
        account = sender_account_pause(account, reason=PAUSED_BY_TENANT)
    elif status == Status.ACTIVE and account.status != Status.ACTIVE:
        account = sender_account_resume(account)
    return account


def sender_account_delete(account: SenderAccount) -> None:
    """Delete an account that no step is using right now (its lane goes with
    it, ON DELETE CASCADE in Django). Raises Conflict with details
    {"steps": n} while n unfinished steps use it."""
    busy = Step.objects.filter(sender_account=account).exclude(status__in=TERMINAL_STEP_STATUSES).count()
    if busy:
        raise Conflict(
            f"{busy} unfinished steps use this account; cancel their jobs first",
            details={"steps": busy},
        )
    account.delete()


# ---------------------------------------------------------------------------
# Status: pause, resume, cool-down, needs login
# ---------------------------------------------------------------------------

_STATUS_FIELDS = ["status", "status_reason", "cooling_down_until"]


def _set_status(account_id: int, only_from: list[str] | None, **values: Any) -> bool:
    """Update the account's status fields (if its status is in `only_from`,
    when given) and its lane, in one transaction; True if it changed."""
    with transaction.atomic():
        rows = SenderAccount.objects.filter(pk=account_id)
        if only_from is not None:
            rows = rows.filter(status__in=only_from)
        changed = rows.update(**values) > 0
        if changed:
            _lane_sync(account_id)
    return changed


def sender_account_pause(account: SenderAccount, *, reason: str = "paused") -> SenderAccount:
    """No new step on this account; its running step stops at its next safe
    point and waits (ready) until the account is resumed. `reason` (at most
    255 characters kept) is shown as the status reason. Returns the account,
    its status fields refreshed."""
    _set_status(account.pk, None, status=Status.PAUSED, status_reason=reason[:255])
    account.refresh_from_db(fields=_STATUS_FIELDS)
    return account


def sender_account_resume(account: SenderAccount) -> SenderAccount:
    """Active again, whatever the status was (also ends a cool-down and a
    "needs login"); the dispatcher looks at its waiting steps. Returns the
    account, its status fields refreshed."""
    _set_status(account.pk, None, status=Status.ACTIVE, status_reason="", cooling_down_until=None)
    account.refresh_from_db(fields=_STATUS_FIELDS)
    return account


def sender_account_cool_down(account_id: int, until: datetime, reason: str) -> None:
    """The target network pushed back (challenge, too many requests): no step
    is admitted on this account before `until` (an aware datetime); other
    accounts carry on. The calling step raises RateLimited to wait too.

    Only an active (or already cooling) account cools down: a cool-down
    never lifts a pause or a "needs login". `reason`: at most 255 characters
    are kept."""
    _set_status(
        account_id,
        [Status.ACTIVE, Status.COOLING_DOWN],
        status=Status.COOLING_DOWN,
        cooling_down_until=until,
        status_reason=reason[:255],
    )


def sender_account_needs_login(account_id: int, reason: str) -> None:
    """Signing in failed: nothing more is admitted on the account until
    someone stores a working session (sender_account_session_save) or
    resumes it. A paused or disabled account stays so."""
    _set_status(
        account_id,
        [Status.ACTIVE, Status.COOLING_DOWN, Status.NEEDS_LOGIN],
        status=Status.NEEDS_LOGIN,
        status_reason=reason[:255],
    )


def sender_account_end_cool_downs() -> int:
    """Accounts whose cool-down is over (cooling_down_until <= the database's
    now) are active again; the count. Run by the beat's reap task
    (tasks/control.py). The dispatcher admits on them as soon as the
    cool-down ends (the lane's resume_at); this keeps their status honest
    for people and the API."""
    with transaction.atomic():
        ids = list(
            SenderAccount.objects.filter(status=Status.COOLING_DOWN, cooling_down_until__lte=Now())
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:500]
        )
        SenderAccount.objects.filter(id__in=ids).update(status=Status.ACTIVE, cooling_down_until=None, status_reason="")
        for account_id in ids:
            _lane_sync(account_id)
    return len(ids)


# ---------------------------------------------------------------------------
# Session, credentials and what a step sees
# ---------------------------------------------------------------------------


def sender_account_session_save(account_id: int, state: dict[str, Any]) -> None:
    """Store a browser session (Playwright storage state: cookies, local
    storage), encrypted at rest. An account that needed a login is active
    again (its lane opens)."""
    with transaction.atomic():
        account = SenderAccount.objects.select_for_update().defer("password").get(pk=account_id)
        account.session_state = state
        account.session_updated_at = timezone.now()
        fields = ["session_state", "session_updated_at"]
        if account.status == Status.NEEDS_LOGIN:
            account.status, account.status_reason = Status.ACTIVE, ""
            fields += ["status", "status_reason"]
        account.save(update_fields=fields)


def sender_account_session_load(account_id: int) -> dict[str, Any] | None:
    """The stored browser session (decrypted), or None."""
    state: dict[str, Any] | None = SenderAccount.objects.only("session_state").get(pk=account_id).session_state
    return state


def sender_account_session_forget(account: SenderAccount) -> None:
    """Forget the stored session: the next step signs in with the password."""
    account.session_state = None
    account.session_updated_at = None
    account.save(update_fields=["session_state", "session_updated_at"])


def sender_account_credentials(account_id: int) -> tuple[str, str | None]:
    """(login, password or None), for an agent that must sign in again."""
    account = SenderAccount.objects.only("login", "password").get(pk=account_id)
    secret = account.password
    return account.login, secret.get("password") if isinstance(secret, dict) else secret


def sender_account_for_step(account_id: int, *, tenant_id: int) -> dict[str, Any] | None:
    """The account as plain data for a running step, no secrets: id, name,
    network, login, timezone (IANA name), status, cooling_down_until (aware
    datetime or None), working_hours_start/end (datetime.time in the
    account's zone), daily_invite_cap, daily_message_cap, daily_visit_cap.
    None for an unknown id or another tenant's account."""
    return SenderAccount.objects.filter(pk=account_id, tenant_id=tenant_id).values(*STEP_FIELDS).first()
