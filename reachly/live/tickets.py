"""Short-lived, single-use signed tickets to open a WebSocket without a cookie.

An API client exchanges its token for a ticket (POST /api/v1/live/ticket)
and connects to /ws/events/?ticket=... — the API token itself never appears
in a URL (URLs end up in logs). A ticket:

* expires after MAX_AGE_SECONDS (60 s) and opens one socket (its nonce is
  spent in Redis on first use);
* is bound to the token it was issued for: a revoked token's tickets open
  nothing, and every socket opened with a token's ticket is closed when the
  token is revoked (the consumer joins the token's group, `api_token_revoke`
  tells it).
"""

from __future__ import annotations

import secrets
from typing import Any

from django.core import signing

from reachly.core import redis as rds
from reachly.tenants.models import ApiToken

SALT = "reachly.live.ticket"
MAX_AGE_SECONDS = 60


def issue(*, tenant_id: int, user_id: int | None = None, token_id: int | None = None) -> str:
    """A ticket for `tenant_id`, issued to a user (session) or an API token."""
    claims = {"t": tenant_id, "u": user_id, "k": token_id, "n": secrets.token_urlsafe(9)}
    return signing.dumps(claims, salt=SALT, compress=True)


def verify(ticket: str) -> dict[str, Any] | None:
    """{"t": tenant id, "u": user id or None, "k": token id or None, "n": nonce},
    or None if invalid or expired. Does not spend it (see `redeem`)."""
    try:
        claims = signing.loads(ticket, salt=SALT, max_age=MAX_AGE_SECONDS)
    except signing.BadSignature:
        return None
    return claims if isinstance(claims, dict) else None


def redeem(ticket: str) -> dict[str, Any] | None:
    """The claims of a valid ticket used for the first time, else None: expired,
    forged, used before, or issued to a token that has been revoked since."""
    claims = verify(ticket)
    if claims is None:
        return None
    nonce = claims.get("n")
    if nonce is not None and not rds.client().set(rds.key("live", "ticket", nonce), 1, nx=True, ex=MAX_AGE_SECONDS):
        return None  # used before
    token_id = claims.get("k")
    if token_id is not None and not ApiToken.objects.filter(pk=token_id, revoked_at__isnull=True).exists():
        return None
    return claims
