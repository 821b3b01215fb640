"""Hand committed events to live clients.

Called after commit with the events of one transaction. The Channels fan-out
(WebSocket groups per tenant and job, progress coalescing) plugs in here.
"""

from __future__ import annotations

from typing import Any


def publish(events: list[dict[str, Any]]) -> None:
    """Deliver events to connected clients (no-op until the live layer is wired)."""
    return None
