"""Capacity: what is queued, running and waiting, what the infrastructure
holds, and what to do about it — in the spirit of the seeds' capacity API
(shared/seeds/002: "Queue depth > 100: add workers").

    snapshot(tenant=None) -> dict     staff: every tenant; a tenant: its own

Used by `GET /api/v1/monitoring/capacity` and the admin's "Queues &
capacity" page (reachly/ops/admin_views.py documents the keys it reads;
this answers all of them, and more).

Where the numbers come from:
* broker depth of every `agent.*` queue and `control` (kombu, so Redis and
  RabbitMQ both answer). Reachly keeps broker queues short on purpose
  (REACHLY_QUEUE_DEPTH): the real backlog is in PostgreSQL, as steps that
  are `ready` and due — reported beside it;
* steps per agent (and tenant) from PostgreSQL, through
  reachly.orchestration.selectors (tenant slugs through
  reachly.tenants.selectors): ready (due now / later), enqueued, running,
  and those waiting on a limit (`wait_reason`, `next_attempt_at` in the future);
* PostgreSQL connections (pg_stat_activity vs max_connections), Redis
  clients (INFO), live workers (their presence keys, reachly.observability.workers).

Each source is read independently: one that is down is reported as such
(its figures null) and the others still answer.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from django.db import connection
from django.utils import timezone

from agents import registry
from reachly.core import redis as rds
from reachly.core import sql
from reachly.observability.workers import live_workers
from reachly.orchestration import broker, selectors
from reachly.tenants import selectors as tenant_selectors
from reachly.tenants.models import Tenant

log = logging.getLogger(__name__)

# Thresholds of the recommendations (the seeds': queue depth > 100 is
# critical; pool use > 70% warning, > 90% critical).
BACKLOG_WARN = 100
BACKLOG_MINUTES = 5
DB_WARN, DB_CRITICAL = 70.0, 90.0
REDIS_WARN = 80.0
WAITING_WARN = 1000
STEP_COUNTS = ("ready", "waiting", "enqueued", "running")


def _queue_depths(names: list[str]) -> dict[str, int] | None:
    """Messages waiting in each broker queue; None if the broker is unreachable."""
    depths = broker.queue_depths(names)
    if any(n is None for n in depths.values()):
        return None
    return {name: int(n or 0) for name, n in depths.items()}


def _active(tenant_id: int | None) -> list[dict[str, Any]]:
    rows = selectors.in_flight_by_agent_and_tenant(tenant_id)
    slug = tenant_selectors.slugs(r["tenant_id"] for r in rows)
    return [
        {
            "agent": r["agent"],
            "tenant": slug.get(r["tenant_id"], ""),
            "tenant_id": r["tenant_id"],
            "enqueued": r["enqueued"],
            "running": r["running"],
        }
        for r in rows
    ]


def _tenants(tenant_id: int | None) -> list[dict[str, Any]]:
    """Backlog per tenant, busiest first."""
    rows = selectors.backlog_by_tenant(tenant_id)
    slug = tenant_selectors.slugs(r["tenant_id"] for r in rows)
    return [
        {"id": r["tenant_id"], "slug": slug.get(r["tenant_id"], ""), **{k: r[k] for k in STEP_COUNTS}} for r in rows
    ]


def _database() -> dict[str, Any]:
    try:
        row = sql.fetchone(
            """
            SELECT count(*) AS connections,
                   count(*) FILTER (WHERE state = 'active') AS active,
                   count(*) FILTER (WHERE state = 'idle') AS idle,
                   count(*) FILTER (WHERE state LIKE 'idle in transaction%%') AS idle_in_transaction,
                   count(*) FILTER (WHERE datname = current_database()) AS this_database,
                   current_setting('max_connections')::int AS max_connections,
                   current_setting('superuser_reserved_connections')::int AS reserved
              FROM pg_stat_activity WHERE backend_type = 'client backend'
            """
        )
    except Exception:
        log.warning("capacity: pg_stat_activity unreadable", exc_info=True)
        return {"status": "unreachable"}
    assert row is not None  # counts without GROUP BY: always one row
    usable = max(1, row["max_connections"] - row["reserved"])
    percent = round(100.0 * row["connections"] / usable, 1)
    return {
        "status": _level(percent, DB_WARN, DB_CRITICAL),
        "vendor": connection.vendor,
        "connections": row["connections"],
        "active": row["active"],
        "idle": row["idle"],
        "idle_in_transaction": row["idle_in_transaction"],
        "this_database": row["this_database"],
        "max_connections": row["max_connections"],
        "reserved": row["reserved"],
        "utilization_percent": percent,
    }


def _redis() -> dict[str, Any]:
    try:
        client = rds.client()
        info = client.info("clients")
        memory = client.info("memory")
        maxclients = info.get("maxclients")
        if maxclients is None:
            maxclients = int(client.config_get("maxclients").get("maxclients", 0)) or None
    except Exception:
        log.warning("capacity: redis unreachable", exc_info=True)
        return {"status": "unreachable"}
    clients = int(info.get("connected_clients", 0))
    percent = round(100.0 * clients / int(maxclients), 1) if maxclients else None
    return {
        "status": _level(percent or 0.0, REDIS_WARN, 95.0),
        "connected_clients": clients,
        "blocked_clients": int(info.get("blocked_clients", 0)),
        "maxclients": int(maxclients) if maxclients else None,
        "utilization_percent": percent,
        "used_memory_bytes": int(memory.get("used_memory", 0)),
        "used_memory_human": memory.get("used_memory_human"),
        "maxmemory_bytes": int(memory.get("maxmemory", 0)) or None,
    }


def _workers() -> list[dict[str, Any]] | None:
    try:
        found = live_workers()
    except Exception:
        log.warning("capacity: worker presence unreadable", exc_info=True)
        return None
    now = timezone.now().timestamp()
    return sorted(
        (
            {
                "hostname": w.get("hostname", ""),
                "queues": list(w.get("queues", [])),
                "concurrency": int(w.get("concurrency") or 0),
                "pid": w.get("pid"),
                "seen_seconds_ago": round(max(0.0, now - float(w.get("seen", now))), 1),
            }
            for w in found
        ),
        key=lambda w: w["hostname"],
    )


def _level(percent: float, warn: float, critical: float) -> str:
    return "critical" if percent >= critical else "warning" if percent >= warn else "healthy"


def snapshot(*, tenant: Tenant | None = None) -> dict[str, Any]:
    """The capacity picture; with `tenant`, only that tenant's steps (and no
    worker host names), else every tenant's (staff)."""
    tenant_id = tenant.id if tenant is not None else None
    names = [spec.queue for spec in registry.AGENTS.values()] + [registry.CONTROL_QUEUE]
    depths = _queue_depths(names)
    counts = selectors.backlog_by_agent(tenant_id)
    workers = _workers()
    consumers: dict[str, int] = defaultdict(int)
    for w in workers or []:
        for q in w["queues"]:
            consumers[q] += w["concurrency"] or 1

    queues = []
    for name in names:
        agent = name.removeprefix("agent.") if name.startswith("agent.") else None
        row = counts.get(agent or "", {})
        queues.append(
            {
                "name": name,
                "agent": agent,
                "group": registry.get(agent).group.value if agent else "control",
                "depth": depths.get(name) if depths is not None else None,
                "ready": int(row.get("ready") or 0),
                "waiting": int(row.get("waiting") or 0),
                "scheduled": int(row.get("scheduled") or 0),
                "enqueued": int(row.get("enqueued") or 0),
                "running": int(row.get("running") or 0),
                "oldest_ready_seconds": round(float(row["oldest_ready_seconds"]), 1)
                if row.get("oldest_ready_seconds") is not None
                else None,
                "consumers": consumers.get(name, 0) if workers is not None else None,
            }
        )
    result: dict[str, Any] = {
        "generated_at": timezone.now(),
        "scope": {"all_tenants": tenant is None, "tenant": tenant.slug if tenant else None},
        "tenant": tenant.slug if tenant else None,
        "broker": {"status": "healthy" if depths is not None else "unreachable"},
        "queues": queues,
        "tenants": _tenants(tenant_id),
        "active": _active(tenant_id),
        "limits": selectors.held_back(tenant_id),
        "database": _database(),
        "redis": _redis(),
        "workers": (workers or []) if tenant is None else [],
        "workers_live": len(workers) if workers is not None else None,
    }
    advice = recommendations(result, tenant=tenant)
    result["recommendations"] = [message for _, message in advice]
    levels = {level for level, _ in advice}
    result["status"] = "critical" if "critical" in levels else "warning" if "warning" in levels else "healthy"
    return result


def recommendations(snap: dict[str, Any], *, tenant: Tenant | None = None) -> list[tuple[str, str]]:
    """Plain-language advice from a snapshot, most urgent first, as
    (level, message): what to scale, what is stuck."""
    advice: list[tuple[str, str]] = []

    def say(level: str, message: str) -> None:
        advice.append((level, message))

    for q in snap["queues"]:
        pending = q["ready"] + q["enqueued"]
        minutes = (q["oldest_ready_seconds"] or 0) / 60
        if tenant is None:
            if q["name"] == registry.CONTROL_QUEUE:
                if q["consumers"] == 0:
                    say("critical", "no live worker consumes control: nothing is dispatched; start worker-control")
            elif q["consumers"] == 0 and (pending or q["depth"]):
                waiting = f"{pending} steps waiting" if pending else f"{q['depth']} messages queued"
                say(
                    "critical",
                    f"{q['name']}: {waiting} and no live worker consumes it:"
                    f" start the {q['group']} worker group (python -m agents.queues {q['group']})",
                )
            elif pending > BACKLOG_WARN and minutes >= BACKLOG_MINUTES:
                say(
                    "warning",
                    f"{q['name']} backlog {pending} > {BACKLOG_WARN} for {minutes:.0f} min:"
                    f" add {q['group']} workers (now {q['consumers']} slots)",
                )
        elif q["agent"] and q["ready"] > BACKLOG_WARN and minutes >= BACKLOG_MINUTES:
            say(
                "info",
                f"{q['ready']} of your {q['agent']} steps have waited up to {minutes:.0f} min for a free slot;"
                " they start as capacity frees up (your plan's concurrency decides how many run at once)",
            )

    for w in snap["limits"]:
        reason = w["reason"]
        if tenant is not None:
            if "monthly limit" in reason:
                say("warning", f"{w['steps']} {w['agent']} steps wait: this month's limit of your plan is reached")
            elif "not enabled" in reason:
                say("warning", f"{w['steps']} {w['agent']} steps wait: the agent is not enabled for your plan")
            elif "suspended" in reason:
                say("critical", f"{w['steps']} {w['agent']} steps wait: the tenant is suspended")
        elif w["steps"] >= WAITING_WARN:
            say(
                "info",
                f"{w['steps']} {w['agent']} steps wait on '{reason}': raise that limit if the target allows it",
            )

    if tenant is None:
        db = snap["database"]
        if db.get("status") == "unreachable":
            say("critical", "PostgreSQL statistics are unreadable")
        elif db["status"] != "healthy":
            say(
                db["status"],
                f"PostgreSQL connections at {db['utilization_percent']}% of max_connections"
                f" ({db['connections']}/{db['max_connections']}): put PgBouncer in front (DB_PGBOUNCER=1)"
                " or lower worker concurrency",
            )
        redis_info = snap["redis"]
        if redis_info.get("status") == "unreachable":
            say("critical", "Redis is unreachable: limits, stop signals and live updates are degraded")
        elif redis_info["status"] != "healthy":
            say(
                redis_info["status"],
                f"Redis clients at {redis_info['utilization_percent']}% of maxclients: lower REDIS_MAX_CONNECTIONS"
                " per process or raise maxclients",
            )
        if snap["broker"]["status"] != "healthy":
            say("critical", "the broker is unreachable: steps wait in PostgreSQL until it is back")
        if snap["workers_live"] == 0:
            say("critical", "no live workers: start the worker groups (Procfile)")

    if not advice:
        say(
            "info",
            "Running within capacity; no scaling needed."
            if tenant is None
            else "Your work is flowing; nothing is held back.",
        )
    order = {"critical": 0, "warning": 1, "info": 2}
    return sorted(advice, key=lambda a: order.get(a[0], 3))
