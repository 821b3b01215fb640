"""Live updates from the API's side.

POST /live/ticket   a 60-second ticket for /ws/events/ (the WebSocket), so
                    an API client never puts its token in a URL.

The Server-Sent Events fallback, GET /jobs/{id}/stream, is an async Django
view (reachly/live/views.py: DRF does not stream); it is documented in the
schema by `sse_schema` below.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from reachly.api.base import acting_user
from reachly.api.permissions import TenantReader
from reachly.api.tenancy import acting_tenant
from reachly.live import tickets


class TicketOutput(serializers.Serializer):
    ticket = serializers.CharField()
    expires_in = serializers.IntegerField(help_text="Seconds the ticket is valid for opening a socket.")
    url = serializers.CharField(help_text="Where to connect: /ws/events/?ticket=...")


class LiveTicket(APIView):
    """A ticket is a read (it opens a socket that only receives): viewers may
    have one, though it is a POST (it must not be cached or prefetched)."""

    permission_classes = [TenantReader]

    @extend_schema(request=None, responses={201: TicketOutput}, tags=["live"])
    def post(self, request):
        tenant = acting_tenant(request)
        user = acting_user(request)
        token = getattr(request.user, "token", None)
        value = tickets.issue(
            tenant_id=tenant.id, user_id=user.id if user else None, token_id=token.pk if token is not None else None
        )
        body = {"ticket": value, "expires_in": tickets.MAX_AGE_SECONDS, "url": f"/ws/events/?ticket={value}"}
        return Response(TicketOutput(body).data, status=status.HTTP_201_CREATED)


SSE_EVENT_SCHEMA = {
    "type": "object",
    "description": "One Server-Sent Event: `id` is the job event's sequence number, `event` its type, "
    "`data` the event as JSON (the same object the WebSocket sends).",
    "properties": {
        "id": {"type": "string", "pattern": "^[0-9]+$"},
        "event": {"type": "string"},
        "data": {"type": "string", "format": "json"},
    },
    "required": ["id", "event", "data"],
}


def sse_schema(result, generator, request, public):
    """drf-spectacular postprocessing hook: add the SSE stream's path."""
    result.setdefault("paths", {})["/api/v1/jobs/{id}/stream"] = {
        "get": {
            "operationId": "jobs_stream",
            "tags": ["live"],
            "summary": "A job's events as Server-Sent Events (for clients without WebSocket)",
            "description": "Replays the job's events after `after_seq` (or the `Last-Event-ID` header), then "
            "streams live ones, each once, in sequence order; ends after the job's final status, or after "
            "REACHLY_SSE_MAX_SECONDS (EventSource then reconnects with Last-Event-ID and misses nothing).",
            "parameters": [
                {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}},
                {"name": "after_seq", "in": "query", "required": False, "schema": {"type": "integer"}},
            ],
            "security": [{"tokenAuth": []}, {"cookieAuth": []}],
            "responses": {
                "200": {
                    "description": "An event stream.",
                    # OpenAPI 3.0/3.1: `schema` describes one event of the stream.
                    "content": {"text/event-stream": {"schema": SSE_EVENT_SCHEMA}},
                },
                "401": {"description": "No token, or an invalid or revoked one."},
                "404": {"description": "Not found (or another tenant's)."},
            },
        }
    }
    return result
