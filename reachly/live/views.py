"""The SSE fallback of the live layer (tickets for the WebSocket are in the
REST API: reachly/api/live.py).

It authenticates like the API: `Authorization: Token <key>` (the token's
tenant) or the session cookie (a tenant the user belongs to).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.http import HttpRequest, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from reachly.live import connections, groups, selectors
from reachly.orchestration.models import TERMINAL_JOB_STATUSES

KEEPALIVE_SECONDS = 15
RECONNECT_MS = 1000  # the client's reconnection delay after the stream ends


def _error(status: int, code: str, message: str, details: Any = None) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "details": details or {}}}, status=status)


def _tenants(request: HttpRequest) -> tuple[set[int], str] | None:
    """(tenants the request may see, its principal "token:<id>"/"user:<id>");
    None when it is not authenticated."""
    from reachly.tenants.services import api_token_authenticate

    header = request.headers.get("Authorization", "")
    if header.startswith("Token "):
        token = api_token_authenticate(header[6:].strip())
        return ({token.tenant_id}, f"token:{token.pk}") if token else None
    if request.user.is_authenticated:
        return selectors.tenant_ids_for_user(request.user), f"user:{request.user.pk}"
    return None


def _sse(event: dict[str, Any]) -> str:
    return f"id: {event['seq']}\nevent: {event['type']}\ndata: {json.dumps(event)}\n\n"


# CSRF-exempt so that another method gets the API's JSON 405 rather than the
# CSRF page: the view only ever reads, whatever the method (issue 11).
@csrf_exempt
async def job_stream(request: HttpRequest, pk: int) -> StreamingHttpResponse | JsonResponse:
    """GET /api/v1/jobs/{id}/stream: the job's events as Server-Sent Events,
    for clients without WebSocket. Resumes after `?after_seq=` or the
    `Last-Event-ID` header; ends after the job's final status, or after
    REACHLY_SSE_MAX_SECONDS (the client reconnects where it stopped)."""
    if request.method not in ("GET", "HEAD"):
        refused = _error(405, "method_not_allowed", f"{request.method} is not allowed here; use GET")
        refused["Allow"] = "GET, HEAD"
        return refused
    who = await sync_to_async(_tenants)(request)
    if who is None:
        return _error(401, "not_authenticated", "send Authorization: Token <key> or log in")
    allowed, principal = who
    job = await sync_to_async(lambda: selectors.job_for_tenants(pk, allowed))()
    if job is None:
        return _error(404, "not_found", "no such job")
    try:
        after = int(request.GET.get("after_seq") or request.headers.get("Last-Event-ID") or 0)
    except ValueError:
        return _error(400, "invalid", "after_seq: must be an integer", {"after_seq": "must be an integer"})
    lease = await sync_to_async(connections.open_lease)(tenant_id=job.tenant_id, principal=principal)
    if not lease.allowed:
        wait = max(1, int(lease.retry_after))
        refused = _error(429, "throttled", connections.refusal_message(lease), {"retry_after": wait})
        refused["Retry-After"] = str(wait)
        return refused

    async def stream():
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

    response = StreamingHttpResponse(stream(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
    return response
