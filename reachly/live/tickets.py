"""Short-lived signed tickets to open a WebSocket without a cookie.

An API client exchanges its token for a ticket (POST /api/v1/live/ticket)
and connects to /ws/events/?ticket=... — the API token itself never appears
in a URL (URLs end up in logs).
"""

from __future__ import annotations

from django.core import signing

SALT = "reachly.live.ticket"
MAX_AGE_SECONDS = 60


def issue(*, tenant_id: int, user_id: int | None = None) -> str:
    return signing.dumps({"t": tenant_id, "u": user_id}, salt=SALT, compress=True)


def verify(ticket: str) -> dict | None:
    """{"t": tenant id, "u": user id or None}, or None if invalid or expired."""
    try:
        return signing.loads(ticket, salt=SALT, max_age=MAX_AGE_SECONDS)
    except signing.BadSignature:
        return None
