"""Throttling per API token (else per user, else per address).

The counter is the control plane's global limiter (a sliding window in
Redis, decided atomically in one round trip), so the rate holds across
every web process, unlike DRF's cache-based throttles. If Redis is down,
requests are let through (logged): throttling must not take the API down.
"""

from __future__ import annotations

import logging

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from reachly import limiter
from reachly.api.authentication import TokenUser

log = logging.getLogger(__name__)


class PerTokenThrottle(BaseThrottle):
    def __init__(self) -> None:
        self._wait: float | None = None

    def ident(self, request) -> str:
        if isinstance(request.user, TokenUser):
            return f"token:{request.user.token.pk}"
        if request.user and request.user.is_authenticated:
            return f"user:{request.user.pk}"
        return f"addr:{self.get_ident(request)}"

    def allow_request(self, request, view) -> bool:
        rate = settings.REACHLY_API_THROTTLE_RATE
        if not rate:
            return True
        try:
            decision = limiter.acquire([limiter.window_from_rate(f"api:{self.ident(request)}", rate)])
        except Exception:
            log.warning("API throttle unavailable; request allowed", exc_info=True)
            return True
        if decision.allowed:
            return True
        self._wait = max(decision.retry_after, 1.0)
        return False

    def wait(self) -> float | None:
        return self._wait
