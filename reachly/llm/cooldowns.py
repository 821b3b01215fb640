"""Provider cool-downs shared by every worker.

A provider that answered 429 is skipped by every worker until its
Retry-After has passed: the next calls go straight to the fallback. The
mark lives in Redis (a key that expires then); this process also keeps its
own, so a Redis outage only makes the other processes find out themselves.
"""

from __future__ import annotations

import logging
import threading
import time

import redis

from reachly.core import redis as rds

log = logging.getLogger(__name__)

_lock = threading.Lock()
_local: dict[str, float] = {}  # provider -> time.monotonic() when it may be asked again


def _key(provider: str) -> str:
    return rds.key("llm", "cooldown", provider)


def cool(provider: str, seconds: float) -> None:
    """Skip `provider` for `seconds` in every process; a shorter cool-down
    never shortens a longer one. A Redis error is logged, not raised (this
    process still remembers)."""
    with _lock:
        _local[provider] = max(_local.get(provider, 0.0), time.monotonic() + seconds)
    ms = max(1, int(seconds * 1000))
    try:
        with rds.client().pipeline() as pipe:  # set, or lengthen (never shorten) the mark
            pipe.set(_key(provider), 1, px=ms, nx=True)
            pipe.pexpire(_key(provider), ms, gt=True)
            pipe.execute()
    except redis.RedisError:
        log.warning("could not share the cool-down of LLM provider %s", provider, exc_info=True)


def cooling(provider: str) -> float:
    """Seconds until `provider` may be asked again (0.0: now), the longer
    of this process's and the shared mark; Redis down counts as no mark."""
    with _lock:
        local = max(0.0, _local.get(provider, 0.0) - time.monotonic())
    try:
        shared = max(0, int(rds.client().pttl(_key(provider)))) / 1000
    except redis.RedisError:
        shared = 0.0
    return max(local, shared)


def forget_local() -> None:
    """Forget this process's marks (tests: another process never saw the 429)."""
    with _lock:
        _local.clear()


def reset() -> None:
    """Forget every cool-down (this process's and the shared ones); tests."""
    forget_local()
    keys = rds.client().keys(_key("*"))
    if keys:
        rds.client().delete(*keys)
