"""Which limits apply to a step or an action: rules in, `Limit`s out.

Rules come from three places: defaults shipped with each agent role
(agents.registry), operator-defined RateLimit rows (admin/API), and each
sender account's daily caps. Rules are cached per process for
REACHLY_LIMIT_RULES_TTL seconds so a decision costs one Redis round trip and
no database query.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from zoneinfo import ZoneInfo

from django.conf import settings

from agents import registry
from reachly import limiter
from reachly.limiter import Limit
from reachly.orchestration.models import RateLimit


@dataclass(frozen=True)
class Rule:
    ident: str
    subject: str  # steps | actions | tokens
    limit: int
    period: str
    agent: str = ""
    action: str = ""
    provider: str = ""
    tenant_id: int | None = None
    account_id: int | None = None
    per: str = "global"


@dataclass(frozen=True)
class Subject:
    """Who is asking: a step of `agent` for `tenant_id`, maybe on an account."""

    tenant_id: int
    agent: str
    account_id: int | None = None
    tz: str = "UTC"  # the account's time zone, else the tenant's


_cache_lock = threading.Lock()
_cache: tuple[float, list[Rule]] = (0.0, [])


def _load_rules() -> list[Rule]:
    rules = [
        Rule(
            f"default:{spec.role}:{i}",
            lim.subject,
            lim.limit,
            lim.period,
            agent=spec.role,
            action=lim.action,
            per=lim.per,
        )
        for spec in registry.AGENTS.values()
        for i, lim in enumerate(spec.limits)
    ]
    for row in RateLimit.objects.filter(enabled=True):
        rules.append(
            Rule(
                f"rule{row.pk}",
                row.subject,
                row.limit,
                row.period,
                agent=row.agent,
                action=row.action,
                provider=row.provider,
                tenant_id=row.tenant_id,
                account_id=row.sender_account_id,
                per=row.per,
            )
        )
    return rules


def rules() -> list[Rule]:
    global _cache
    loaded_at, _cached = _cache
    if time.monotonic() - loaded_at > settings.REACHLY_LIMIT_RULES_TTL:
        with _cache_lock:
            if time.monotonic() - _cache[0] > settings.REACHLY_LIMIT_RULES_TTL:
                _cache = (time.monotonic(), _load_rules())
    return _cache[1]


def invalidate() -> None:
    global _cache
    _cache = (0.0, [])


def _matches(rule: Rule, subject: Subject, *, kind: str, action: str = "", provider: str = "") -> bool:
    return (
        rule.subject == kind
        and rule.agent in ("", subject.agent)
        and rule.action in ("", action)
        and rule.provider in ("", provider)
        and rule.tenant_id in (None, subject.tenant_id)
        and rule.account_id in (None, subject.account_id)
        and not (rule.per == "account" and subject.account_id is None)
    )


def _to_limit(rule: Rule, subject: Subject, weight: int = 1) -> Limit:
    scope = rule.ident
    if rule.per == "tenant":
        scope += f":tenant={subject.tenant_id}"
    elif rule.per == "account":
        scope += f":account={subject.account_id}"
    if rule.period == "calendar_day":
        return limiter.calendar_day(scope, rule.limit, subject.tz, weight)
    return limiter.window(scope, rule.limit, rule.period, weight)


def for_step(subject: Subject) -> list[Limit]:
    """Limits checked before a step may start."""
    return [_to_limit(r, subject) for r in rules() if _matches(r, subject, kind="steps")]


def for_action(subject: Subject, action: str, daily_caps: dict[str, int] | None = None) -> list[Limit]:
    """Limits checked before one external action (an invitation, a message).

    A sender account's daily caps count per calendar day in its time zone.
    """
    limits = [_to_limit(r, subject) for r in rules() if _matches(r, subject, kind="actions", action=action)]
    if subject.account_id is not None and daily_caps and action in daily_caps:
        limits.append(limiter.calendar_day(f"account:{subject.account_id}:{action}", daily_caps[action], subject.tz))
    return limits


def for_tokens(subject: Subject, provider: str, tokens: int, tokens_per_minute: int | None) -> list[Limit]:
    """LLM token budgets: the plan's tokens per minute per tenant and provider,
    plus any operator rules on tokens."""
    limits = [
        _to_limit(r, subject, weight=tokens) for r in rules() if _matches(r, subject, kind="tokens", provider=provider)
    ]
    if tokens_per_minute:
        limits.append(
            limiter.window(f"tokens:{provider}:tenant={subject.tenant_id}", tokens_per_minute, "minute", tokens)
        )
    return limits


def outside_working_hours(tz: str, start: dt_time, end: dt_time, now: datetime | None = None) -> float:
    """Seconds until the account's working hours begin; 0 while inside them."""
    zone = ZoneInfo(tz)
    local = (now or datetime.now(tz=zone)).astimezone(zone)
    t = local.timetz().replace(tzinfo=None)
    inside = start <= t < end if start <= end else (t >= start or t < end)
    if inside:
        return 0.0
    opening = datetime.combine(local.date(), start, zone)
    if opening <= local:
        opening += timedelta(days=1)  # the same wall time tomorrow (aware arithmetic is wall-clock)
    # Elapsed time in UTC: aware datetimes of one zone subtract as wall clocks,
    # which is an hour off across a DST change.
    return (opening.astimezone(UTC) - local.astimezone(UTC)).total_seconds()
