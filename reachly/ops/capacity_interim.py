"""Interim capacity snapshot, for the admin page until `reachly.ops.capacity`
(issue 4, the API's /monitoring/capacity) is merged; delete it then.

Same shape as documented in reachly/ops/admin_views.py. Everything comes from
PostgreSQL (the truth about steps), the broker (messages per queue) and the
workers' presence keys in Redis; each part degrades to "unknown" on its own.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.utils import timezone

from agents import registry
from reachly.core import sql
from reachly.ops import broker, workers
from reachly.tenants.models import Tenant

log = logging.getLogger(__name__)

BACKLOG_ALERT = 100  # ready steps per agent before we recommend more workers
TOP_TENANTS = 50


def snapshot(*, tenant: Tenant | None = None) -> dict[str, Any]:
    where, params = ("AND tenant_id = %s", [tenant.id]) if tenant is not None else ("", [])
    per_agent = sql.fetchall(
        f"""
        SELECT agent,
               count(*) FILTER (WHERE status = 'ready') AS ready,
               count(*) FILTER (WHERE status = 'enqueued') AS enqueued,
               count(*) FILTER (WHERE status = 'running') AS running,
               count(*) FILTER (WHERE status = 'ready' AND wait_reason <> '') AS waiting,
               min(next_attempt_at) FILTER (WHERE status = 'ready') AS oldest
          FROM orchestration_step
         WHERE status IN ('ready', 'enqueued', 'running') {where}
         GROUP BY agent
        """,
        params,
    )
    by_agent = {r["agent"]: r for r in per_agent}
    live = _workers()
    depths = broker.queue_depths([spec.queue for spec in registry.AGENTS.values()])
    now = timezone.now()
    queues = []
    for spec in registry.AGENTS.values():
        row = by_agent.get(spec.role, {})
        oldest = row.get("oldest")
        queues.append(
            {
                "name": spec.queue,
                "agent": spec.role,
                "group": str(spec.group),
                "depth": depths.get(spec.queue),
                "ready": row.get("ready", 0),
                "enqueued": row.get("enqueued", 0),
                "running": row.get("running", 0),
                "waiting": row.get("waiting", 0),
                "oldest_ready_seconds": round((now - oldest).total_seconds(), 1) if oldest else None,
                "consumers": sum(1 for w in live if spec.queue in w.get("queues", [])),
            }
        )
    tenants = sql.fetchall(
        f"""
        SELECT t.id, t.slug,
               count(*) FILTER (WHERE s.status = 'ready') AS ready,
               count(*) FILTER (WHERE s.status = 'enqueued') AS enqueued,
               count(*) FILTER (WHERE s.status = 'running') AS running,
               count(*) FILTER (WHERE s.status = 'ready' AND s.wait_reason <> '') AS waiting
          FROM orchestration_step s JOIN tenants_tenant t ON t.id = s.tenant_id
         WHERE s.status IN ('ready', 'enqueued', 'running') {where.replace("tenant_id", "s.tenant_id")}
         GROUP BY t.id, t.slug
         ORDER BY count(*) DESC, t.slug
         LIMIT {TOP_TENANTS}
        """,
        params,
    )
    limits = sql.fetchall(
        f"""
        SELECT agent, wait_reason AS reason, count(*) AS steps
          FROM orchestration_step
         WHERE status = 'ready' AND wait_reason <> '' {where}
         GROUP BY agent, wait_reason
         ORDER BY count(*) DESC
         LIMIT 50
        """,
        params,
    )
    snap = {
        "generated_at": now.isoformat(),
        "tenant": tenant.slug if tenant is not None else None,
        "queues": queues,
        "tenants": tenants,
        "limits": limits,
        "workers": live,
        "database": _database(),
        "redis": _redis(),
    }
    snap["recommendations"] = _recommend(snap)
    return snap


def _workers() -> list[dict[str, Any]]:
    try:
        live = workers.live_workers()
    except Exception:
        log.warning("capacity: worker presence unavailable", exc_info=True)
        return []
    for w in live:
        w["seen_seconds_ago"] = round(time.time() - w.get("seen", time.time()), 1)
    return sorted(live, key=lambda w: w.get("hostname", ""))


def _database() -> dict[str, Any]:
    row = sql.fetchone(
        "SELECT count(*) AS connections, current_setting('max_connections')::int AS max_connections"
        " FROM pg_stat_activity WHERE datname = current_database()"
    )
    return dict(row)


def _redis() -> dict[str, Any]:
    from reachly.core import redis as rds

    try:
        info = rds.client().info()
    except Exception:  # noqa: BLE001
        return {"connected_clients": None, "used_memory_human": None}
    return {"connected_clients": info.get("connected_clients"), "used_memory_human": info.get("used_memory_human")}


def _recommend(snap: dict[str, Any]) -> list[str]:
    tips = []
    for q in snap["queues"]:
        backlog = q["ready"] - q["waiting"]
        if (backlog or q["enqueued"]) and not q["consumers"]:
            tips.append(
                f"{q['name']}: {backlog + q['enqueued']} steps waiting and no live worker consumes it:"
                f" start a {q['group']} worker."
            )
        elif backlog > BACKLOG_ALERT:
            tips.append(f"{q['name']} backlog {backlog} > {BACKLOG_ALERT}: add {q['group']} workers.")
    for lim in snap["limits"][:5]:
        tips.append(f"{lim['steps']} {lim['agent']} steps wait: {lim['reason']}.")
    db = snap["database"]
    if db["max_connections"] and db["connections"] > 0.8 * db["max_connections"]:
        tips.append(
            f"PostgreSQL connections {db['connections']}/{db['max_connections']}: put PgBouncer in front"
            " or lower worker concurrency."
        )
    return tips
