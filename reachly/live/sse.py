"""The Server-Sent Events fallback of the live layer: a job's events as an
event stream, for clients without WebSocket.

This module only streams. The HTTP door — authentication, throttling, the
tenancy rule and the API's error body — is the API's view
(reachly/api/live.py, `JobStream`), which hands an authorized job and an
open connection lease to `job_events`.

A stream holds no database connection while it waits: it can stay open
for REACHLY_SSE_MAX_SECONDS, and a connection held that long per stream
(the view's, kept by the request's thread until the response closes) would
take the web process's whole pool with a few idle clients. The view's
connection is given back before the first wait, and each read is a short
block that gives its connection back (to the pool, or closed) at once.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection

from reachly import limiter
from reachly.live import connections, groups, selectors
from reachly.orchestration.models import TERMINAL_JOB_STATUSES, Job

KEEPALIVE_SECONDS = 15
RECONNECT_MS = 1000  # the client's reconnection delay after the stream ends


T = TypeVar("T")


def _release_connection() -> None:
    """Give this thread's database connection back (to the web process's
    pool, or closed). Not inside a transaction (a test's, or a caller's
    atomic block): closing there would break it, and the connection is the
    transaction's to release."""
    if not connection.in_atomic_block:
        connection.close()


async def _read(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)` in the request's sync thread, its connection
    given back right after, so the stream waits holding none."""

    def read() -> T:
        try:
            return fn(*args, **kwargs)
        finally:
            _release_connection()

    return await sync_to_async(read)()


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
        # The request's sync thread runs this read: giving its connection
        # back gives back the view's too (authentication, the job's lookup),
        # which would otherwise stay checked out until the response closes.
        for event in await _read(selectors.events_after, pk, last):
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
                for missed in await _read(selectors.events_after, pk, last, before_seq=event["seq"]):
                    yield _sse(missed)
            yield _sse(event)
            last = event["seq"]
            if event["type"] == "job.status" and event.get("status") in TERMINAL_JOB_STATUSES:
                return
    finally:
        await layer.group_discard(groups.job(pk), channel)
        await sync_to_async(connections.close_lease)(lease)
