"""The global limiter: every limit holds across all workers and machines.

Celery's `rate_limit` is per worker process (4 workers with '10/s' run 40/s);
these limits live in Redis and are decided by one Lua script (limiter.lua beside this module)
in one round trip, over all the limits that apply at once: per agent, tenant,
tenant x agent, sender account and LLM provider.

    decision = acquire([Limit(...), Limit(...)])
    if not decision.allowed:
        # go back to the database until decision.retry_after has passed

A granted decision can be refunded (the step it was for could not run).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from redis.commands.core import Script

from reachly.core import redis as rds
from reachly.observability import metrics

_SCRIPT_SOURCE = (Path(__file__).parent / "limiter.lua").read_text()

PERIOD_MS = {"second": 1_000, "minute": 60_000, "hour": 3_600_000, "day": 86_400_000}


@dataclass(frozen=True)
class Limit:
    """One limit to check. Build them with `window`, `calendar_day` or `lease`."""

    scope: str  # human-readable, also the key suffix: "agent:test", "account:7:invite"
    kind: str  # window | fixed | lease
    limit: int
    ms: int
    weight: int = 1
    bucket: str = ""  # fixed windows: the calendar bucket ("2026-11-23")

    @property
    def key(self) -> str:
        suffix = f"{self.kind}:{self.ms}" if self.kind != "fixed" else f"fixed:{self.bucket}"
        return rds.key("rl", self.scope, suffix)


def window(scope: str, limit: int, period: str, weight: int = 1) -> Limit:
    """At most `limit` (weighted) uses in any sliding window of `period`."""
    return Limit(scope, "window", limit, PERIOD_MS[period], weight)


def window_from_rate(scope: str, rate: str) -> Limit:
    """A window from a setting such as "1200/min" or "10/hour"."""
    count, _, period = rate.partition("/")
    return window(scope, int(count), _RATE_PERIODS[period.strip()[0].lower()])


_RATE_PERIODS = {"s": "second", "m": "minute", "h": "hour", "d": "day"}


def calendar_day(scope: str, limit: int, tz: str, weight: int = 1, now: datetime | None = None) -> Limit:
    """At most `limit` uses per calendar day in time zone `tz`; the denial
    lasts until local midnight."""
    zone = ZoneInfo(tz)
    local = (now or datetime.now(tz=zone)).astimezone(zone)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), zone)
    # In UTC: same-zone aware datetimes subtract as wall clocks, an hour off on
    # a DST day (the bucket then expired an hour early on a 25-hour day).
    ms = max(1, int((midnight.astimezone(UTC) - local.astimezone(UTC)).total_seconds() * 1000))
    return Limit(scope, "fixed", limit, ms, weight, bucket=local.date().isoformat())


def lease(scope: str, limit: int, ttl_seconds: float) -> Limit:
    """At most `limit` concurrent holders; a holder that never releases
    (its process died) expires after `ttl_seconds`."""
    return Limit(scope, "lease", limit, int(ttl_seconds * 1000))


@dataclass
class Decision:
    allowed: bool
    retry_after: float  # seconds; -1 when waiting cannot help
    denied_by: Limit | None
    granted_at_ms: int
    grant_id: str
    limits: list[Limit] = field(default_factory=list)

    def refund(self) -> None:
        """Give back what this decision recorded (it was not used)."""
        if self.allowed and self.limits:
            refund(self)


def _script() -> Script:
    client = rds.client()
    script: Script | None = getattr(client, "_reachly_limiter", None)
    if script is None:
        script = client.register_script(_SCRIPT_SOURCE)
        client._reachly_limiter = script  # type: ignore[attr-defined]  # cached on the client: re-created after fork
    return script


def acquire(limits: list[Limit], *, peek: bool = False) -> Decision:
    """Check all `limits`; if all allow (and not `peek`), record the use in all."""
    grant_id = uuid.uuid4().hex
    if not limits:
        return Decision(True, 0.0, None, 0, grant_id, [])
    args: list[object] = ["peek" if peek else "acquire", grant_id]
    for lim in limits:
        args += [lim.kind, lim.limit, lim.ms, lim.weight]
    allowed, retry_ms, denied, now_ms = _script()(keys=[lim.key for lim in limits], args=args)
    if not allowed and not peek:
        metrics.limiter_denied(limits[denied - 1].scope)
    return Decision(
        allowed=bool(allowed),
        retry_after=-1.0 if retry_ms == -1 else retry_ms / 1000.0,
        denied_by=limits[denied - 1] if denied else None,
        granted_at_ms=int(now_ms),
        grant_id=grant_id,
        limits=list(limits) if allowed and not peek else [],
    )


def refund(decision: Decision) -> None:
    pipe = rds.client().pipeline(transaction=True)
    for lim in decision.limits:
        if lim.kind == "window":
            pipe.zrem(lim.key, f"{decision.grant_id}:{lim.weight}")
        elif lim.kind == "fixed":
            pipe.decrby(lim.key, lim.weight)
        else:
            pipe.zrem(lim.key, decision.grant_id)
    pipe.execute()
    decision.limits = []


def release(decision: Decision) -> None:
    """End the concurrency leases of a decision (rate uses stay counted)."""
    leases = [lim for lim in decision.limits if lim.kind == "lease"]
    if leases:
        pipe = rds.client().pipeline(transaction=False)
        for lim in leases:
            pipe.zrem(lim.key, decision.grant_id)
        pipe.execute()


def renew(decision: Decision) -> bool:
    """Extend the concurrency leases of a granted decision by their full
    time-to-live, from now (Redis's clock), for holders that live longer than
    one TTL (an open WebSocket). False when a lease had expired already (the
    holder should give up what it holds, as if denied)."""
    leases = [lim for lim in decision.limits if lim.kind == "lease"]
    if not leases:
        return True
    client = rds.client()
    now_ms = int(client.time()[0] * 1000)
    pipe = client.pipeline(transaction=True)
    for lim in leases:
        pipe.zadd(lim.key, {decision.grant_id: now_ms + lim.ms}, xx=True, ch=True)
        pipe.pexpire(lim.key, lim.ms + 60000)
    results = pipe.execute()
    # ZADD XX CH counts changed members: 0 when the grant was gone.
    return all(int(changed) == 1 for changed in results[0::2])


def usage(lim: Limit) -> int:
    """Current use of one limit (for dashboards; not part of a decision)."""
    client = rds.client()
    if lim.kind == "fixed":
        return int(client.get(lim.key) or 0)
    now_ms = int(client.time()[0] * 1000)
    if lim.kind == "lease":
        return int(client.zcount(lim.key, now_ms, "+inf"))
    members = client.zrangebyscore(lim.key, now_ms - lim.ms, "+inf")
    return sum(int(m.rsplit(b":", 1)[1]) for m in members)
