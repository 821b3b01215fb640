"""Hand committed events to live clients.

Subscribed to reachly.orchestration.events after commit. The Channels
fan-out (WebSocket groups per tenant and job, progress coalescing) plugs in
here.
"""

from __future__ import annotations

from typing import Any

from reachly.orchestration.events import subscribe


@subscribe
def publish(events: list[dict[str, Any]]) -> None:
    """Deliver events to connected clients (wired by the live-updates work)."""
    return None
