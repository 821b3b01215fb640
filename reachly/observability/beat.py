"""Celery beat with a heartbeat file, for liveness probes.

    celery -A reachly beat -S reachly.observability.beat:HeartbeatScheduler

Beat is a single replica that drives the dispatcher's safety-net pass, the
reaper and the reconciler: if its loop hangs, crash recovery stops. This
scheduler writes the time to REACHLY_WORKER_HEARTBEAT_FILE from the loop
itself (at most every few seconds), so `python -m reachly.observability.liveness FILE
--max-age 60` fails when the loop stops turning. A broker outage does not
stop the loop (a publish that fails is logged and the next tick comes), so
the probe does not restart beat for something a restart cannot fix.
Without the variable it is the default PersistentScheduler.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from celery.beat import PersistentScheduler

HEARTBEAT_EVERY = 5.0


class HeartbeatScheduler(PersistentScheduler):
    def __init__(self, *args, **kwargs):
        path = os.environ.get("REACHLY_WORKER_HEARTBEAT_FILE")
        self._heartbeat = Path(path) if path else None
        self._beaten = 0.0
        super().__init__(*args, **kwargs)

    def tick(self, *args, **kwargs):
        interval = super().tick(*args, **kwargs)
        now = time.time()
        if self._heartbeat is not None and now - self._beaten >= HEARTBEAT_EVERY:
            self._heartbeat.write_text(str(now))
            self._beaten = now
        return interval
