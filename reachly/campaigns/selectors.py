"""Reads about campaigns, leads and sender accounts (the web UI's pages).

campaigns_for(tenant)                    a QuerySet with lead counts
lead_status_counts(campaign)             {status: n}
sender_account_state(account)            ("ok" | "cooling_down" | ..., until)
sender_account_usage_today(accounts)     today's actions against each daily cap
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import redis
from django.db.models import Count, QuerySet
from django.utils import timezone

from reachly import limiter
from reachly.campaigns.models import Campaign, Lead, SenderAccount
from reachly.tenants.models import Tenant

# The daily caps of a sender account, in the order the UI shows them.
ACTIONS = (("invite", "Invitations"), ("message", "Messages"), ("visit", "Profile visits"))


def campaigns_for(tenant: Tenant) -> QuerySet[Campaign]:
    return Campaign.objects.filter(tenant=tenant).annotate(lead_count=Count("leads", distinct=True))


def sender_accounts_for(tenant: Tenant) -> QuerySet[SenderAccount]:
    # The secrets are never read for a page.
    return SenderAccount.objects.filter(tenant=tenant).defer("password", "session_state")


def lead_status_counts(campaign: Campaign) -> dict[str, int]:
    return dict(Lead.objects.filter(campaign=campaign).values_list("status").annotate(n=Count("id")).order_by())


def sender_account_state(account: SenderAccount, now: datetime | None = None) -> tuple[str, datetime | None]:
    """What the account can do right now: "ok", "cooling_down" (with the
    time it may work again), "needs_login", "paused" or "disabled".

    A cool-down that has run out is "ok": the dispatcher uses the account
    again without anyone resetting its status.
    """
    now = now or timezone.now()
    status = account.status
    if status == SenderAccount.Status.COOLING_DOWN:
        until = account.cooling_down_until
        if until is not None and until > now:
            return "cooling_down", until
        return "ok", None
    if status == SenderAccount.Status.ACTIVE:
        return "ok", None
    return status, None


@dataclass(frozen=True)
class CapUsage:
    action: str
    label: str
    used: int
    cap: int

    @property
    def percent(self) -> float:
        if self.cap <= 0:
            return 100.0 if self.used else 0.0
        return min(100.0, round(100.0 * self.used / self.cap, 1))

    @property
    def level(self) -> str:
        """The meter's colour: "ok", "high" (80 % or more) or "full"."""
        if self.cap <= 0 or self.used >= self.cap:
            return "full"
        return "high" if self.percent >= 80 else "ok"


def sender_account_usage_today(accounts: list[SenderAccount]) -> dict[int, list[CapUsage]]:
    """Today's actions of each account against its daily caps, counted by
    the global limiter per calendar day in the account's time zone (the
    same counters the outreach agent acquires from)."""
    out: dict[int, list[CapUsage]] = {}
    for account in accounts:
        caps = account.daily_caps()
        rows = []
        for action, label in ACTIONS:
            rows.append(CapUsage(action, label, _used_today(account, action, caps[action]), caps[action]))
        out[account.id] = rows
    return out


def _used_today(account: SenderAccount, action: str, cap: int) -> int:
    try:
        zone = account.timezone or "UTC"
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = "UTC"  # a zone typed in the admin that does not exist: count in UTC
    try:
        return limiter.usage(limiter.calendar_day(f"account:{account.id}:{action}", cap, zone))
    except redis.RedisError:  # Redis unreachable: the page still renders
        return 0


def sender_account_summary(account: SenderAccount) -> dict[str, Any]:
    state, until = sender_account_state(account)
    return {"state": state, "until": until, "has_session": account.session_updated_at is not None}
