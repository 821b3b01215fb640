"""Campaigns' side of the agent ports: the step's sender account and the
tenant's leads (agents/ports.py: SenderAccountPort, LeadPort).

Registered with the step runner by CampaignsConfig.ready(); every read and
write goes through this app's models and services, scoped to the step's
tenant.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from agents.base import PermanentError
from reachly.campaigns import accounts, services
from reachly.campaigns.models import Lead
from reachly.orchestration.ports import StepScope

LEAD_FIELDS = (
    "id",
    "campaign_id",
    "profile_url",
    "first_name",
    "last_name",
    "full_name",
    "company",
    "title",
    "email",
    "custom_fields",
    "status",
    "status_detail",
)


class SenderAccountAdapter:
    """SenderAccountPort for one step (see agents/ports.py for the contract)."""

    def __init__(self, scope: StepScope):
        self.scope = scope
        self._data: dict[str, Any] | None = None

    @property
    def _id(self) -> int | None:
        return self.scope.sender_account_id

    def data(self) -> dict[str, Any] | None:
        if self._id is None:
            return None
        if self._data is None:
            self._data = accounts.sender_account_for_step(self._id, tenant_id=self.scope.tenant_id)
        return self._data

    def session_load(self) -> dict[str, Any] | None:
        return accounts.sender_account_session_load(self._id) if self._id else None

    def session_save(self, state: dict[str, Any]) -> None:
        if self._id:
            accounts.sender_account_session_save(self._id, state)

    def credentials(self) -> tuple[str, str | None]:
        if not self._id:
            raise PermanentError("this step has no sender account")
        return accounts.sender_account_credentials(self._id)

    def cool_down(self, seconds: float, reason: str) -> None:
        if self._id:
            accounts.sender_account_cool_down(self._id, timezone.now() + timedelta(seconds=seconds), reason)

    def needs_login(self, reason: str) -> None:
        if self._id:
            accounts.sender_account_needs_login(self._id, reason)


class LeadAdapter:
    """LeadPort for one step (see agents/ports.py for the contract)."""

    def __init__(self, scope: StepScope):
        self.scope = scope

    def get(self, ids: list[int]) -> list[dict[str, Any]]:
        rows = Lead.objects.filter(tenant_id=self.scope.tenant_id, pk__in=list(ids)).values(*LEAD_FIELDS)
        by_id = {r["id"]: r for r in rows}
        return [by_id[i] for i in ids if i in by_id]

    def update(self, lead_id: int, status: str, detail: str = "") -> None:
        services.lead_status_set(
            lead_id=lead_id,
            status=status,
            detail=detail,
            job_id=self.scope.job_id,
            account_id=self.scope.sender_account_id,
            tenant_id=self.scope.tenant_id,
        )
