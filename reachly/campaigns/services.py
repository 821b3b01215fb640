"""Writes about campaigns and leads.

Sender accounts have their own service, reachly.campaigns.accounts.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from reachly.campaigns.errors import Conflict, Invalid
from reachly.campaigns.models import Campaign, Lead, SenderAccount
from reachly.orchestration.events import NewEvent, emit
from reachly.orchestration.models import JobStatus
from reachly.tenants.models import Tenant

__all__ = [
    "campaign_create",
    "campaign_delete",
    "campaign_update",
    "lead_status_set",
]


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
# Campaigns: create, update, delete (API, web UI)
# ---------------------------------------------------------------------------

CAMPAIGN_FIELDS = {"name", "brief", "status", "priority", "timezone", "schedule_start", "schedule_end", "settings"}


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
    live = campaign.jobs.filter(status__in=[JobStatus.RUNNING, JobStatus.PAUSED]).count()
    if live:
        raise Conflict(f"the campaign has {live} running or paused jobs; cancel them first", details={"jobs": live})
    campaign.delete()
