"""Worker presence: each Celery worker announces itself in Redis.

Used by the capacity page ("live workers") and by tests (wait until a worker
is consuming). Separately, a heartbeat file (REACHLY_WORKER_HEARTBEAT_FILE)
feeds Kubernetes liveness probes (reachly.observability.liveness): it is written from
worker init on, by its own thread, and depends on neither Redis nor the broker.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

from reachly.core import redis as rds

PRESENCE_TTL = 15
PRESENCE_EVERY = 5.0
_stop = threading.Event()


def _key(hostname: str) -> str:
    return rds.key("workers", hostname)


def announce(hostname: str, queues: list[str], concurrency: int) -> None:
    """Start a thread that refreshes this worker's presence key in Redis."""
    info = {
        "hostname": hostname,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "queues": queues,
        "concurrency": concurrency,
        "started": time.time(),
    }

    def beat() -> None:
        while not _stop.is_set():
            try:
                rds.client().set(_key(hostname), json.dumps({**info, "seen": time.time()}), ex=PRESENCE_TTL)
            except Exception:  # noqa: BLE001 - best effort; the heartbeat file says we live
                pass
            _stop.wait(PRESENCE_EVERY)

    threading.Thread(target=beat, name="reachly-presence", daemon=True).start()


_heartbeat_started = False


def heartbeat_start(path: str | None = None, every: float | None = None) -> bool:
    """Touch the heartbeat file every few seconds for as long as the process
    lives (through warm shutdown too: a worker finishing its steps is alive)."""
    global _heartbeat_started
    path = path or os.environ.get("REACHLY_WORKER_HEARTBEAT_FILE")
    if not path or _heartbeat_started:
        return False
    every = every or float(os.environ.get("REACHLY_WORKER_HEARTBEAT_SECONDS", PRESENCE_EVERY))
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)

    def beat() -> None:
        while True:
            try:
                tmp = target.with_name(target.name + ".tmp")
                tmp.write_text(str(time.time()))
                tmp.replace(target)  # atomic: a probe never reads a half-written file
            except OSError:
                pass  # a full disk shows up as a stale heartbeat, which is right
            time.sleep(every)

    threading.Thread(target=beat, name="reachly-heartbeat", daemon=True).start()
    _heartbeat_started = True
    return True


def withdraw(hostname: str) -> None:
    _stop.set()
    try:
        rds.client().delete(_key(hostname))
    except Exception:  # noqa: BLE001 - shutting down: nothing to do about it
        pass


def live_workers() -> list[dict[str, Any]]:
    client = rds.client()
    keys = list(client.scan_iter(match=rds.key("workers", "*"), count=500))
    values = client.mget(keys) if keys else []
    return [json.loads(v) for v in values if v]
