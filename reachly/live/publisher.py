"""Hand committed events to live clients through the channel layer.

Subscribed to reachly.orchestration.events: called after commit with the
events of one transaction, in whatever process made the change (a web
request, a worker, the control plane).

* Every event goes to its job's group (a job page shows every step).
* Status events (job.status, lead.status_changed) also go to the tenant's
  group; they are never dropped or merged.
* Progress is coalesced: step events carry the job's progress, and the
  tenant's group gets a `job.progress` event at most once per
  PROGRESS_INTERVAL per job, across all processes (a Redis gate), with a
  trailing send so the last value always arrives.

A background thread pipelines the PUBLISHes (see _Outbox).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from typing import Any, cast

from reachly.core import redis as rds
from reachly.live import groups
from reachly.orchestration.events import subscribe

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.25  # seconds: at most ~4 progress events per job per second


class _Outbox:
    """Messages to PUBLISH, sent by one background thread per process.

    The thread wakes on the first message and pipelines whatever queued
    meanwhile: no delay when idle, one round trip for many events under
    load (a step's events cost a queue put, not a Redis round trip:
    benchmarks/throughput.py). Order is kept (one FIFO, one sender).
    """

    MAX_BATCH = 500

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.queue: queue.SimpleQueue[tuple[str, bytes]] = queue.SimpleQueue()
        threading.Thread(target=self._run, name="reachly-live-publish", daemon=True).start()

    def put(self, channel: str, data: bytes) -> None:
        self.queue.put((channel, data))

    def _run(self) -> None:
        while True:
            batch = [self.queue.get()]
            while len(batch) < self.MAX_BATCH:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            try:
                pipe = rds.client().pipeline(transaction=False)
                for channel, data in batch:
                    pipe.publish(channel, data)
                pipe.execute()
            except Exception:  # best effort: clients replay from the database
                log.warning("live publish of %d messages failed", len(batch), exc_info=True)


_outbox: _Outbox | None = None
_outbox_lock = threading.Lock()


def _box() -> _Outbox:
    global _outbox
    if _outbox is None or _outbox.pid != os.getpid():  # threads do not survive fork
        with _outbox_lock:
            if _outbox is None or _outbox.pid != os.getpid():
                _outbox = _Outbox()
    return _outbox


def _send(messages: list[tuple[str, dict[str, Any]]]) -> None:
    """Queue a PUBLISH per message to its group.

    This is what RedisPubSubChannelLayer.group_send does (channel
    `<prefix>__group__<group>`, the layer's serializer), done with the
    process's synchronous Redis client: no event loop in a worker.
    tests/live prove consumers receive it.
    """
    from channels.layers import get_channel_layer
    from django.conf import settings

    layer = get_channel_layer()
    config = cast("dict[str, Any]", settings.CHANNEL_LAYERS["default"]["CONFIG"])  # as reachly/settings.py sets it
    prefix = config["prefix"]
    box = _box()
    for group, event in messages:
        payload = {"type": "live.event", "event": event, "via": group.split("-")[0]}
        box.put(f"{prefix}__group__{group}", layer.serialize(payload))


@subscribe
def publish(events: list[dict[str, Any]]) -> None:
    messages: list[tuple[str, dict[str, Any]]] = []
    for event in events:
        messages.append((groups.job(event["job"]), event))
        if event["type"] in groups.TENANT_TYPES:
            messages.append((groups.tenant(event["tenant"]), event))
        if "progress" in event:
            progress_event = _coalescer.offer(event)
            if progress_event is not None:
                messages.append((groups.tenant(event["tenant"]), progress_event))
    if messages:
        _send(messages)


def send_now(group: str, event: dict[str, Any]) -> None:
    _send([(group, event)])


# Send a progress value only if the gate is open and it is newer than the
# last one sent for the job (by any process): KEYS gate, sent; ARGV seq, ms.
_GATE = """
local sent = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[1]) <= sent then return -1 end
if redis.call('SET', KEYS[1], 1, 'NX', 'PX', ARGV[2]) then
  redis.call('SET', KEYS[2], ARGV[1], 'EX', 3600)
  return 1
end
return 0
"""


class ProgressCoalescer:
    """At most one `job.progress` per job per interval, cluster-wide, and
    never an older value after a newer one.

    A local check first (no Redis round trip for most step events), then a
    Redis gate shared by every process. A process holding a value it could
    not send retries once per interval until it is sent or superseded, so
    the last value always arrives.
    """

    def __init__(self, interval: float = PROGRESS_INTERVAL):
        self.interval = interval
        self._lock = threading.Lock()
        self._local_sent: dict[int, float] = {}
        self._latest: dict[int, dict[str, Any]] = {}
        self._trailing: set[int] = set()

    def offer(self, event: dict[str, Any]) -> dict[str, Any] | None:
        job = event["job"]
        progress_event = {
            "type": "job.progress",
            "job": job,
            "tenant": event["tenant"],
            "seq": event["seq"],
            "ts": event["ts"],
            "progress": event["progress"],
        }
        with self._lock:
            latest = self._latest.get(job)
            if latest is None or latest["seq"] < progress_event["seq"]:
                self._latest[job] = progress_event
            if time.monotonic() - self._local_sent.get(job, 0.0) < self.interval:
                self._schedule(job)
                return None
            self._local_sent[job] = time.monotonic()
        return self._send_if_gate_opens(job)

    def _send_if_gate_opens(self, job: int) -> dict[str, Any] | None:
        with self._lock:
            event = self._latest.get(job)
        if event is None:
            return None
        client = rds.client()
        script = getattr(client, "_reachly_progress_gate", None)
        if script is None:
            script = client._reachly_progress_gate = client.register_script(_GATE)  # type: ignore[attr-defined]  # cached on the client, which is re-created after a fork
        keys = [rds.key("live", "progress", "gate", job), rds.key("live", "progress", "sent", job)]
        verdict = script(keys=keys, args=[event["seq"], int(self.interval * 1000)])
        if verdict == 0:  # someone sent a moment ago: try again after the interval
            with self._lock:
                self._schedule(job)
            return None
        with self._lock:
            if self._latest.get(job) is event:
                del self._latest[job]
        return event if verdict == 1 else None

    def _schedule(self, job: int) -> None:
        """Retry `job` after the interval (the caller holds the lock)."""
        if job in self._trailing:
            return
        self._trailing.add(job)
        timer = threading.Timer(self.interval + 0.01, self._trail, args=(job,))
        timer.daemon = True
        timer.start()

    def _trail(self, job: int) -> None:
        with self._lock:
            self._trailing.discard(job)
        try:
            event = self._send_if_gate_opens(job)
            if event is not None:
                send_now(groups.tenant(event["tenant"]), event)
        except Exception:
            log.warning("trailing progress for job %s failed", job, exc_info=True)


_coalescer = ProgressCoalescer()
