"""Live updates from the API's side.

POST /live/ticket      a 60-second ticket for /ws/events/ (the WebSocket), so
                       an API client never puts its token in a URL.
GET /jobs/{id}/stream  the Server-Sent Events fallback: this DRF view is its
                       door (the API's authentication, throttle, tenancy rule
                       and error body); reachly/live/sse.py streams.
"""

from __future__ import annotations

import re

from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import MethodNotAllowed, NotFound, ValidationError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from reachly.api.base import acting_user
from reachly.api.errors import body as error_body
from reachly.api.permissions import TenantReader
from reachly.api.schema import ErrorSerializer
from reachly.api.tenancy import acting_tenant
from reachly.live import connections, selectors, sse, tickets
from reachly.tenants.models import ApiToken


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


class JSONErrors(BaseContentNegotiation):
    """Errors of the stream are JSON whatever the client accepts: EventSource
    sends `Accept: text/event-stream`, which no renderer matches (DRF would
    answer 406 instead of the real error). Success is the stream itself."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


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


# A job event's sequence number is a bigint; the API's ids stop at 18 digits
# too (api/schema.py), so a larger position is a 400, not a database error.
MAX_SEQ = 10**18 - 1
SEQ_SCHEMA = {"type": "integer", "minimum": 0, "maximum": MAX_SEQ}
_WHOLE = re.compile(r"[0-9]{1,18}")


def stream_position(query: str | None, last_event_id: str | None) -> int:
    """Where a stream resumes: the sequence number the client has seen.

    `query` is the `after_seq` query parameter, `last_event_id` the
    `Last-Event-ID` header (what EventSource sends when it reconnects, the
    `id` of the last event it got); either may be missing or empty. Both
    given: the larger, since a reconnecting EventSource keeps its original
    URL (`?after_seq=` of the first request) and sends the newer
    Last-Event-ID with it; the smaller would replay events twice.
    Returns 0 when neither is given. Raises ValidationError (a 400) naming
    the parameter that is not a whole number from 0 to MAX_SEQ.
    """
    position = 0
    for name, raw in (("after_seq", query), ("Last-Event-ID", last_event_id)):
        if raw is None or raw.strip() == "":
            continue
        if not _WHOLE.fullmatch(raw.strip()):
            raise ValidationError({name: [f"must be a whole number from 0 to {MAX_SEQ}"]})
        position = max(position, int(raw))
    return position


class JobStream(APIView):
    """GET /api/v1/jobs/{id}/stream: the API's authentication, throttle,
    tenancy rule and error body, then reachly.live.sse streams."""

    permission_classes = [TenantReader]  # a read: viewers may follow a job
    content_negotiation_class = JSONErrors
    http_method_names = ["get", "head"]

    def initial(self, request, *args, **kwargs):
        # Another method is a 405 for anyone, before authentication (not a
        # 401 or a CSRF 403 that would hide that the method is wrong).
        if request.method.lower() not in self.http_method_names:
            raise MethodNotAllowed(request.method)
        super().initial(request, *args, **kwargs)

    @extend_schema(
        operation_id="jobs_stream",
        tags=["live"],
        summary="A job's events as Server-Sent Events (for clients without WebSocket)",
        description="Replays the job's events after `after_seq` or the `Last-Event-ID` header (the larger "
        "when both are sent), then streams live ones, each once, in sequence order; ends after the job's "
        "final status, or after REACHLY_SSE_MAX_SECONDS (EventSource then reconnects with Last-Event-ID "
        "and misses nothing). A 429 is the API's request rate or the cap on open live connections.",
        parameters=[
            OpenApiParameter(
                "after_seq",
                SEQ_SCHEMA,
                OpenApiParameter.QUERY,
                required=False,
                description="Replay the events with a larger sequence number (0, the default: all).",
            ),
            OpenApiParameter(
                "Last-Event-ID",
                SEQ_SCHEMA,
                OpenApiParameter.HEADER,
                required=False,
                description="The `id` of the last event received; EventSource sends it when it reconnects.",
            ),
        ],
        responses={
            # `schema` describes one event of the stream (OpenAPI 3.0/3.1).
            (200, "text/event-stream"): OpenApiResponse(SSE_EVENT_SCHEMA, description="An event stream."),
            (400, "application/json"): OpenApiResponse(
                ErrorSerializer,
                description="`after_seq` or `Last-Event-ID` is not a whole number from 0 to 10^18-1; "
                "`details` names it.",
            ),
            (429, "application/json"): OpenApiResponse(
                ErrorSerializer,
                description="Too many requests for this token, or too many open live connections "
                "(REACHLY_LIVE_CONNECTIONS_PER_PRINCIPAL, REACHLY_LIVE_CONNECTIONS_PER_TENANT); see Retry-After.",
            ),
        },
    )
    def get(self, request, pk: str):
        tenant = acting_tenant(request)
        job = selectors.job_of_tenant(int(pk), tenant.pk)
        if job is None:
            raise NotFound("no such job")
        after = stream_position(request.query_params.get("after_seq"), request.headers.get("Last-Event-ID"))
        token = request.auth if isinstance(request.auth, ApiToken) else None
        principal = f"token:{token.pk}" if token is not None else f"user:{request.user.pk}"
        lease = connections.open_lease(tenant_id=job.tenant_id, principal=principal)
        if not lease.allowed:
            # The connection cap, not the request rate: its own message.
            wait = max(1, int(lease.retry_after))
            refusal = error_body("throttled", connections.refusal_message(lease), {"retry_after": wait})
            return Response(refusal, status=status.HTTP_429_TOO_MANY_REQUESTS, headers={"Retry-After": str(wait)})
        response = StreamingHttpResponse(sse.job_events(job, after, lease), content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
        return response
