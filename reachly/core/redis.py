"""One Redis connection pool per process, and the key naming scheme.

Bounded: at most REDIS_MAX_CONNECTIONS sockets per process, whatever the
number of threads (seed 000, issue 4: Redis connection limits).
"""

from __future__ import annotations

import os
import threading

import redis
from django.conf import settings

_lock = threading.Lock()
_client: redis.Redis[bytes] | None = None
_client_pid: int | None = None


def client() -> redis.Redis[bytes]:
    """The process's Redis client (re-created after fork)."""
    global _client, _client_pid
    if _client is None or _client_pid != os.getpid():
        with _lock:
            if _client is None or _client_pid != os.getpid():
                pool = redis.BlockingConnectionPool.from_url(
                    settings.REDIS_URL,
                    max_connections=int(os.environ.get("REDIS_MAX_CONNECTIONS", "20")),
                    timeout=5,
                    socket_timeout=5,
                    socket_connect_timeout=2,
                    health_check_interval=30,
                )
                _client = redis.Redis(connection_pool=pool, decode_responses=False)
                _client_pid = os.getpid()
    return _client


def key(*parts: object) -> str:
    """A namespaced key: `<REACHLY_REDIS_PREFIX><part>:<part>...`."""
    prefix: str = settings.REACHLY_REDIS_PREFIX
    return prefix + ":".join(str(p) for p in parts)


def reset() -> None:
    """Forget the client (tests that point settings at another Redis)."""
    global _client, _client_pid
    with _lock:
        _client = None
        _client_pid = None
