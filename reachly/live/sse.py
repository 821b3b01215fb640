"""The Server-Sent Events fallback of the live layer: a job's events as an
event stream, for clients without WebSocket.

This module only streams. The HTTP door — authentication, throttling, the
tenancy rule and the API's error body — is the API's view
(reachly/api/live.py, `JobStream`), which hands an authorized job and an
open connection lease to `job_events`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from reachly import limiter
from reachly.live import connections, groups, selectors
from reachly.orchestration.models import TERMINAL_JOB_STATUSES, Job

KEEPALIVE_SECONDS = 15
RECONNECT_MS = 1000  # the client's reconnection delay after the stream ends


def _sse(event: dict[str, Any]) -> str:
    return f"id: {event['seq']}\nevent: {event['type']}\ndata: {json.dumps(event)}\n\n"


async def job_events(job: Job, after: int, lease: limiter.Decision) -> AsyncIterator[str]:
    """The SSE text of `job`'s events after sequence number `after`: the
    replay from PostgreSQL, then live ones, each once, in order; ends after
    the job's final status, or after REACHLY_SSE_MAX_SECONDS (the client
    reconnects where it stopped). Renews `lease` while it runs and closes it
    when it ends, however it ends."""
    pk = job.pk
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(groups.job(pk), channel)
    last = after
    deadline = time.monotonic() + settings.REACHLY_SSE_MAX_SECONDS
    renew_at = time.monotonic() + connections.RENEW_SECONDS
    try:
        yield f"retry: {RECONNECT_MS}\n\n"
        for event in await sync_to_async(selectors.events_after)(pk, last):
            yield _sse(event)
            last = event["seq"]
        if job.status in TERMINAL_JOB_STATUSES and last >= job.last_seq:
            return
        while (left := deadline - time.monotonic()) > 0:
            if time.monotonic() >= renew_at:
                renew_at = time.monotonic() + connections.RENEW_SECONDS
                await sync_to_async(connections.renew)(lease)
            try:
                message = await asyncio.wait_for(layer.receive(channel), timeout=min(KEEPALIVE_SECONDS, left))
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            event = message["event"]
            if event["seq"] <= last:
                continue
            if event["seq"] > last + 1:  # a gap: fill it from the database
                for missed in await sync_to_async(selectors.events_after)(pk, last, before_seq=event["seq"]):
                    yield _sse(missed)
            yield _sse(event)
            last = event["seq"]
            if event["type"] == "job.status" and event.get("status") in TERMINAL_JOB_STATUSES:
                return
    finally:
        await layer.group_discard(groups.job(pk), channel)
        await sync_to_async(connections.close_lease)(lease)
