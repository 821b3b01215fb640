"""Lease keeping: one heartbeat thread per worker process.

While a step runs, its lease in PostgreSQL is renewed every
REACHLY_HEARTBEAT_SECONDS (one UPDATE for all steps running in the process).
The same statement reads each job's status, so a pause or cancel reaches a
running step even when its Redis stop flag was lost. If the process dies,
renewals stop and the reaper requeues the step once the lease expires.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass

from django.conf import settings
from django.db import close_old_connections, connection

from reachly.orchestration import lifecycle

log = logging.getLogger(__name__)


@dataclass
class Lease:
    step_id: int
    token: int
    # Set by the heartbeat: "pause" / "cancel" (job status), "lost" (no longer ours).
    stop: str | None = None


class LeaseKeeper:
    def __init__(self) -> None:
        self._leases: dict[int, Lease] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def hold(self, step_id: int, token: int) -> Lease:
        lease = Lease(step_id, token)
        with self._lock:
            self._leases[step_id] = lease
            self._ensure_thread()
        return lease

    def drop(self, lease: Lease) -> None:
        with self._lock:
            if self._leases.get(lease.step_id) is lease:
                del self._leases[lease.step_id]

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="reachly-heartbeat", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait(settings.REACHLY_HEARTBEAT_SECONDS)
            self._wake.clear()
            with self._lock:
                held = {lease.step_id: lease for lease in self._leases.values()}
            if not held:
                continue
            try:
                close_old_connections()
                statuses = lifecycle.renew({sid: lease.token for sid, lease in held.items()})
            except Exception:  # keep beating: the lease has slack for a missed beat
                log.warning("heartbeat failed", exc_info=True)
                connection.close()
                continue
            for step_id, status in statuses.items():
                lease = held[step_id]
                if status is None:
                    lease.stop = "lost"
                elif status == "paused":
                    lease.stop = "pause"
                elif status == "cancelled":
                    lease.stop = "cancel"


_keeper: LeaseKeeper | None = None


def keeper() -> LeaseKeeper:
    """The process's keeper (a fresh one after fork: threads don't survive it)."""
    global _keeper
    if _keeper is None or _keeper._pid != os.getpid():
        _keeper = LeaseKeeper()
    return _keeper
