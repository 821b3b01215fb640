"""Data for the admin's "Queues & capacity" page.

The page renders `reachly.monitoring.capacity.snapshot(tenant=...)` (the same data
as the API's `/monitoring/capacity`), of this documented shape:

    {
      "generated_at": iso datetime,
      "queues":   [{"name": "agent.outreach", "agent": "outreach", "depth": broker messages,
                    "ready": n, "enqueued": n, "running": n, "waiting": n (ready, deferred by a limit),
                    "oldest_ready_seconds": float | None, "consumers": live workers on it}],
      "tenants":  [{"id", "slug", "ready", "enqueued", "running", "waiting"}],
      "limits":   [{"agent", "reason", "steps"}],       # limits being hit right now
      "workers":  [{"hostname", "queues", "concurrency", "pid", "seen"}],
      "database": {"connections", "max_connections"},
      "redis":    {"connected_clients", "used_memory_human"},
      "recommendations": [str],
    }
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from reachly.monitoring.capacity import snapshot
from reachly.tenants.models import Tenant


def capacity_snapshot(*, tenant: Tenant | None = None) -> dict[str, Any]:
    return snapshot(tenant=tenant)


def tenant_from_query(request: HttpRequest) -> Tenant | None:
    raw = request.GET.get("tenant", "")
    if not raw.isdigit():
        return None
    return Tenant.objects.filter(pk=int(raw)).first()
