"""Health probes for Kubernetes (and load balancers).

* `/healthz`: the process answers (liveness). No dependency is checked, so
  a database outage does not make Kubernetes restart every web pod.
* `/readyz`: PostgreSQL and Redis answer (readiness): 200, or 503 with what
  failed, so traffic goes elsewhere until they are back.

Served by a middleware placed first, so probes that use the pod's IP as Host
are not refused by ALLOWED_HOSTS, redirected to HTTPS, counted as traffic or
logged as requests. Workers have their own liveness check that does not need
the broker: `python -m reachly.observability.liveness` (see liveness.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

log = logging.getLogger(__name__)

PATHS = ("/healthz", "/readyz")


def check_database() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT 1")


def check_redis() -> None:
    import redis
    from django.conf import settings

    # A fresh connection with short timeouts: the process's pool may be
    # saturated or hold a dead socket; the probe must answer within seconds.
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    finally:
        client.close()


CHECKS: dict[str, Callable[[], None]] = {"database": check_database, "redis": check_redis}


def readiness() -> tuple[bool, dict[str, str]]:
    results: dict[str, str] = {}
    for name, check in CHECKS.items():
        started = time.monotonic()
        try:
            check()
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready", said in the answer
            results[name] = f"error: {type(exc).__name__}: {str(exc)[:200]}"
            log.warning("readiness check %s failed: %s", name, exc)
        else:
            results[name] = f"ok ({(time.monotonic() - started) * 1000:.0f} ms)"
    return all(v.startswith("ok") for v in results.values()), results


def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> HttpResponse:
    ok, checks = readiness()
    return JsonResponse({"status": "ok" if ok else "fail", "checks": checks}, status=200 if ok else 503)


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info.rstrip("/")
        if path == "/healthz":
            return healthz(request)
        if path == "/readyz":
            return readyz(request)
        return self.get_response(request)
