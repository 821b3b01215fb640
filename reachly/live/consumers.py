"""`/ws/events/`: live events for a tenant's dashboard or one job's page.

Authentication: the session cookie (the web UI) or `?ticket=` — a signed,
60-second ticket from POST /api/v1/live/ticket (API clients; never the API
token in a URL). Unauthenticated connections are closed with 4401.

A socket acts for one tenant, by the one tenancy rule
(reachly.tenants.tenancy): a ticket's tenant (it is issued for one), else
the signed-in user's — `?tenant=<slug>` if given (it must name one of the
user's tenants), else the tenant chosen in the web UI (the session), else
their first by name. Staff get no other tenant. A refusal is an error frame
with the rule's message, then close code 4403.

Client messages (JSON):

    {"action": "subscribe", "tenant": 7}
    {"action": "subscribe", "job": 42, "after_seq": 118}
    {"action": "unsubscribe", "job": 42}

Subscribing to anything outside the socket's tenant closes it with 4403. A
job subscription first replays, from PostgreSQL, every event after
`after_seq`, then sends live ones; a job's sequence numbers have no gaps, so
a live event that skips numbers (a message lost in pub/sub, or published
just before our subscription took effect) is preceded by the missing ones
read from the database. A client sees each event of a job exactly once, in
order. Tenant subscriptions get job status changes, lead status changes and
coalesced `job.progress`, starting with a snapshot of the active jobs.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs

from asgiref.sync import async_to_sync, sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer

from reachly import limiter
from reachly.core import jsonsafe
from reachly.live import connections, groups, selectors, tickets
from reachly.tenants.tenancy import QUERY, TenancyError

GAP_WAIT_SECONDS = 0.1
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
# A frame that is not acceptable JSON: an error frame, then this close code
# (the client is out of contract; RFC 6455 leaves 4000-4999 to applications).
CLOSE_BAD_FRAME = 4400
# Too many open live connections for the token (or user) or the tenant.
CLOSE_TOO_MANY = 4429


class EventsConsumer(AsyncJsonWebsocketConsumer):
    lease: limiter.Decision  # this socket's connection slots, once accepted

    async def connect(self) -> None:
        # The socket's one tenant (None: refused, `refusal` says how).
        self.tenant_id: int | None = None
        refusal = await self._resolve_tenant()
        self.job_seq: dict[int, int] = {}  # subscribed jobs -> last seq sent
        self.held: dict[int, dict[int, dict]] = {}  # events that arrived ahead of their turn
        self.gap_timers: dict[int, asyncio.TimerHandle] = {}
        self._order_lock = asyncio.Lock()
        self.tenant_subs: set[int] = set()
        # Accept first, then close: a close before the handshake is an HTTP
        # 403, and the documented 4401 would never reach the client.
        await self.accept()
        if refusal is not None:
            message, code = refusal
            if message:
                await self._bad_frame(message, code)
            else:
                await self.close(code=code)
            return
        assert self.tenant_id is not None  # set whenever there is no refusal
        lease = await sync_to_async(connections.open_lease)(tenant_id=self.tenant_id, principal=self.principal)
        if not lease.allowed:
            await self._bad_frame(connections.refusal_message(lease), CLOSE_TOO_MANY)
            return
        self.lease = lease
        self.renewer = asyncio.create_task(self._keep_lease())
        if self.token_id is not None:
            await self.channel_layer.group_add(groups.token(self.token_id), self.channel_name)

    async def _keep_lease(self) -> None:
        """Renew this socket's connection slots while it is open."""
        while True:
            await asyncio.sleep(connections.RENEW_SECONDS)
            if not await sync_to_async(connections.renew)(self.lease):
                # The slots lapsed (Redis flushed?): take them again or close.
                assert self.tenant_id is not None  # the lease exists only for an accepted tenant
                lease = await sync_to_async(connections.open_lease)(tenant_id=self.tenant_id, principal=self.principal)
                if not lease.allowed:
                    await self._bad_frame(connections.refusal_message(lease), CLOSE_TOO_MANY)
                    return
                self.lease = lease

    async def _resolve_tenant(self) -> tuple[str, int] | None:
        """Set `tenant_id`, `token_id` and `principal` for this socket, or
        say why it may not open: ("", 4401) unauthenticated (no message, as
        documented), (the rule's message, 4403) refused by the tenancy rule."""
        self.token_id: int | None = None
        # Whose connection this is, for the per-principal cap: the token, else
        # the user, else (a ticket issued to neither) the ticket itself.
        self.principal = ""
        # parse_qs decodes percent-escapes (URLSearchParams writes ':' as %3A).
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        choice = query.get(QUERY, [""])[0] or None
        user = self.scope.get("user")
        ticket_tenant_id: int | None = None
        if "ticket" in query:
            claims = await database_sync_to_async(tickets.redeem)(query["ticket"][0])
            if not claims:
                return "", CLOSE_UNAUTHENTICATED
            self.token_id = claims.get("k")
            if self.token_id is not None:
                self.principal = f"token:{self.token_id}"
            elif claims.get("u") is not None:
                self.principal = f"user:{claims['u']}"
            else:
                self.principal = f"ticket:{claims.get('n')}"
            ticket_tenant_id = claims["t"]
        elif user is None or not user.is_authenticated:
            return "", CLOSE_UNAUTHENTICATED
        else:
            self.principal = f"user:{user.pk}"
        try:
            found = await database_sync_to_async(selectors.tenancy_of_connection)(
                user, ticket_tenant_id=ticket_tenant_id, choice=choice, session=self.scope.get("session")
            )
        except TenancyError as exc:
            return str(exc), CLOSE_FORBIDDEN
        self.tenant_id = found.tenant.pk
        return None

    async def disconnect(self, code: int) -> None:
        renewer = getattr(self, "renewer", None)
        if renewer is not None:
            renewer.cancel()
        lease = self.__dict__.pop("lease", None)  # released once, even if disconnect runs twice
        if lease is not None:
            await sync_to_async(connections.close_lease)(lease)
        for timer in getattr(self, "gap_timers", {}).values():
            timer.cancel()
        for job_id in list(getattr(self, "job_seq", {})):
            await self.channel_layer.group_discard(groups.job(job_id), self.channel_name)
        for tenant_id in list(getattr(self, "tenant_subs", ())):
            await self.channel_layer.group_discard(groups.tenant(tenant_id), self.channel_name)
        token_id = getattr(self, "token_id", None)
        if token_id is not None:
            await self.channel_layer.group_discard(groups.token(token_id), self.channel_name)

    async def token_revoked(self, message: dict[str, Any]) -> None:
        """The token whose ticket opened this socket was revoked: close it."""
        await self.send_json({"type": "error", "message": "the API token of this connection was revoked"})
        await self.close(code=CLOSE_UNAUTHENTICATED)

    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        return jsonsafe.loads(text_data)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        """Every frame gets an answer: a bad one an error frame and 4400, never a dropped socket."""
        if text_data is None:
            await self._bad_frame("frames are JSON text, not binary")
            return
        try:
            content = await self.decode_json(text_data)
        except jsonsafe.JSONInputError as exc:
            await self._bad_frame(f"not acceptable JSON: {exc}")
            return
        await self.receive_json(content)

    async def _bad_frame(self, message: str, code: int = CLOSE_BAD_FRAME) -> None:
        """An error frame, then close with `code` (4400 by default)."""
        await self.send_json({"type": "error", "message": message[:300]})
        await self.close(code=code)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or content.get("action") not in ("subscribe", "unsubscribe"):
            await self.send_json({"type": "error", "message": "expected {action: subscribe|unsubscribe, ...}"})
            return
        try:
            if "job" in content:
                job_id = _whole(content["job"], "job", minimum=1)
                after_seq = _whole(content.get("after_seq") or 0, "after_seq", minimum=0)
            elif "tenant" in content:
                tenant_id = _whole(content["tenant"], "tenant", minimum=1)
            else:
                raise ValueError("name a job or a tenant")
        except (TypeError, ValueError) as exc:
            await self.send_json({"type": "error", "message": f"bad subscription: {exc}"})
            return

        if content["action"] == "unsubscribe":
            if "job" in content and self.job_seq.pop(job_id, None) is not None:
                await self.channel_layer.group_discard(groups.job(job_id), self.channel_name)
            elif "tenant" in content and tenant_id in self.tenant_subs:
                self.tenant_subs.discard(tenant_id)
                await self.channel_layer.group_discard(groups.tenant(tenant_id), self.channel_name)
            return

        if "job" in content:
            await self._subscribe_job(job_id, after_seq)
        else:
            await self._subscribe_tenant(tenant_id)

    async def _subscribe_job(self, job_id: int, after_seq: int) -> None:
        if self.tenant_id is None:  # a refused socket, closing: it may still get a frame
            return
        job = await database_sync_to_async(selectors.job_of_tenant)(job_id, self.tenant_id)
        if job is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        # Join first, then replay: nothing can fall between the two (and the
        # gap check below covers a subscription that takes a moment).
        await self.channel_layer.group_add(groups.job(job_id), self.channel_name)
        self.job_seq[job_id] = after_seq
        await self._catch_up(job_id, before_seq=None)
        await self.send_json({"type": "subscribed", "job": job_id, "seq": self.job_seq[job_id]})

    async def _deliver(self, job_id: int, event: dict[str, Any]) -> None:
        """Send a job's events in sequence order, each once.

        Workers publish concurrently, so event 11 may arrive before 10. Hold
        it briefly (GAP_WAIT_SECONDS) for the missing ones to arrive; only if
        they don't, read them from the database. (Querying at once would
        send every subscriber of a busy job to the database together.)
        """
        last = self.job_seq[job_id]
        if event["seq"] <= last:
            return  # already sent (replay overlap)
        held = self.held.setdefault(job_id, {})
        held[event["seq"]] = event
        await self._flush(job_id)
        if held and job_id not in self.gap_timers:
            self.gap_timers[job_id] = asyncio.get_running_loop().call_later(
                GAP_WAIT_SECONDS, lambda: asyncio.ensure_future(self._fill_gap(job_id))
            )

    async def _flush(self, job_id: int) -> None:
        held = self.held.get(job_id, {})
        while (nxt := self.job_seq[job_id] + 1) in held:
            await self.send_json(held.pop(nxt))
            self.job_seq[job_id] = nxt
        for seq in [s for s in held if s <= self.job_seq[job_id]]:
            del held[seq]
        if not held and job_id in self.gap_timers:
            self.gap_timers.pop(job_id).cancel()

    async def _fill_gap(self, job_id: int) -> None:
        async with self._order_lock:
            self.gap_timers.pop(job_id, None)
            held = self.held.get(job_id)
            if job_id not in self.job_seq or not held:
                return
            await self._catch_up(job_id, before_seq=min(held))
            await self._flush(job_id)

    async def _subscribe_tenant(self, tenant_id: int) -> None:
        if self.tenant_id is None:  # a refused socket, closing: it may still get a frame
            return
        if tenant_id != self.tenant_id:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.channel_layer.group_add(groups.tenant(tenant_id), self.channel_name)
        self.tenant_subs.add(tenant_id)
        snapshot = await database_sync_to_async(selectors.active_jobs)(tenant_id)
        await self.send_json({"type": "subscribed", "tenant": tenant_id, "jobs": snapshot})

    async def _catch_up(self, job_id: int, before_seq: int | None) -> None:
        missed = await database_sync_to_async(selectors.events_after)(
            job_id, self.job_seq[job_id], before_seq=before_seq
        )
        for event in missed:
            await self.send_json(event)
            self.job_seq[job_id] = event["seq"]

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels runs close_old_connections() in its one sync thread before
        # every handler: for live events (no database work; a gap fill uses
        # database_sync_to_async, which does its own) that thread hop was
        # the largest cost per delivery (py-spy, benchmarks/event_latency.py).
        if message.get("type") == "live.event":
            await self.live_event(message)
        else:
            await super().dispatch(message)

    async def live_event(self, message: dict[str, Any]) -> None:
        event = message["event"]
        job_id = event.get("job")
        if job_id in self.job_seq:
            if message.get("via") == "tenant":
                if event["type"] == "job.progress":
                    await self.send_json(event)  # not in the job's own stream
                return  # the job's group brings its status events, in order
            async with self._order_lock:
                await self._deliver(job_id, event)
        elif event.get("tenant") in self.tenant_subs:
            await self.send_json(event)


def _whole(value: Any, name: str, *, minimum: int) -> int:
    """An id or sequence number as the client sent it: an integer (or its
    decimal text), at least `minimum`; ValueError naming `name` otherwise
    (1.5, true, 1e400 and "abc" are refused, not rounded)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{name} must be an integer")
    if isinstance(value, str):
        if not value.isdigit() or len(value) > 18:
            raise ValueError(f"{name} must be an integer")
        value = int(value)
    if value < minimum or value > 2**63 - 1:
        raise ValueError(f"{name} must be between {minimum} and {2**63 - 1}")
    return value


def close_sockets_of_revoked_token(sender: Any, token: Any, **_: Any) -> None:
    """`tenants.signals.token_revoked` receiver: every socket opened with a
    ticket of `token` gets an error frame and closes with 4401."""
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(groups.token(token.pk), {"type": "token.revoked"})
