"""Worker presence: each Celery worker announces itself in Redis.

Used by the capacity page ("live workers"), by tests (wait until a worker is
consuming) and, through a heartbeat file, by Kubernetes liveness probes that
must not depend on the broker being up.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

PRESENCE_TTL = 15
PRESENCE_EVERY = 5.0
_stop = threading.Event()


def _key(hostname: str) -> str:
    from reachly.core import redis as rds

    return rds.key("workers", hostname)


def announce(hostname: str, queues: list[str], concurrency: int) -> None:
    """Start a thread that refreshes this worker's presence and heartbeat file."""
    info = {
        "hostname": hostname,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "queues": queues,
        "concurrency": concurrency,
        "started": time.time(),
    }
    heartbeat = os.environ.get("REACHLY_WORKER_HEARTBEAT_FILE")

    def beat() -> None:
        from reachly.core import redis as rds

        while not _stop.is_set():
            try:
                rds.client().set(_key(hostname), json.dumps({**info, "seen": time.time()}), ex=PRESENCE_TTL)
            except Exception:  # noqa: BLE001 - best effort; the heartbeat file still says we live
                pass
            if heartbeat:
                Path(heartbeat).write_text(str(time.time()))
            _stop.wait(PRESENCE_EVERY)

    threading.Thread(target=beat, name="reachly-presence", daemon=True).start()


def withdraw(hostname: str) -> None:
    _stop.set()
    try:
        from reachly.core import redis as rds

        rds.client().delete(_key(hostname))
    except Exception:  # noqa: BLE001 - shutting down: nothing to do about it
        pass


def live_workers() -> list[dict[str, Any]]:
    from reachly.core import redis as rds

    client = rds.client()
    keys = list(client.scan_iter(match=rds.key("workers", "*"), count=500))
    values = client.mget(keys) if keys else []
    return [json.loads(v) for v in values if v]
