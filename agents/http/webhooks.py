"""The `webhook_delivery` agent: signed JSON POSTs to a tenant's endpoint.

Input (one of `event`, `items`, `leads`, `results`, with `endpoint`):

    endpoint   id of one of the tenant's WebhookEndpoints (URL and secret)
    event      one event envelope {id, type, created, data}: one request
    items      a list of JSON objects: one request each (`type` names them)
    leads      a list of lead ids of the tenant: one request per lead
    results    true: one request with the outputs of the steps this one depends on

Every request carries

    X-Reachly-Timestamp: <unix seconds>
    X-Reachly-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>." + body)>
    Idempotency-Key:     the same on every retry of the same delivery
    X-Reachly-Event:     the payload's type

(README.md, "Webhooks", shows how a receiver verifies them.)

Per request: a safe point, the global rate (`ctx.acquire("deliver")`: the
registry's 20 requests/s across all workers, plus any operator rule), and
the effect ledger, so a retried step never re-sends what a receiver
already acknowledged; a checkpoint after each. A 429 (or 503) with
Retry-After puts the step back in the database for that long (no attempt
used, up to MAX_THROTTLED times); other 5xx, timeouts and network errors are
retried by the control plane with backoff; other 4xx and redirects fail the
step for good. Never sleeps in the worker.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from agents.base import AgentError, PermanentError, RateLimited
from agents.egress import Policy, current_policy
from agents.egress import http as client
from agents.ports import StepContext

SIGNATURE_HEADER = "X-Reachly-Signature"
TIMESTAMP_HEADER = "X-Reachly-Timestamp"
EVENT_HEADER = "X-Reachly-Event"
DELIVERY_HEADER = "X-Reachly-Delivery"
IDEMPOTENCY_HEADER = "Idempotency-Key"
# Retry-After waits per step before the receiver's pushback counts as a failure.
MAX_THROTTLED = 20
# Retry-After values above this are capped (a receiver asking for a day is
# asked again in an hour).
MAX_RETRY_AFTER = 3600.0
# Without Retry-After, a 429 waits this long.
DEFAULT_RETRY_AFTER = 5.0
# A receiver's signature check should reject timestamps older than this.
TOLERANCE_SECONDS = 300

Target = dict[str, Any]  # {"url": str, "secret": str, "active": bool}


def body_bytes(payload: Any) -> bytes:
    """The exact bytes sent (and signed): compact, sorted, UTF-8 JSON."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False, default=str).encode()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={mac}"


def verify(
    secret: str,
    timestamp: str,
    signature: str,
    body: bytes,
    *,
    tolerance: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """The receiver's check (the README's recipe): fresh timestamp, matching HMAC."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - ts) > tolerance:
        return False
    expected = sign(secret, ts, body)
    return any(hmac.compare_digest(expected, part.strip()) for part in signature.split(","))


def _settings() -> tuple[Policy, float]:
    from django.conf import settings

    # Tenant-supplied URLs: nothing is trusted, every address must be public.
    return current_policy(), float(settings.REACHLY_WEBHOOK_TIMEOUT)


class WebhookDelivery:
    def __init__(
        self,
        lookup: Callable[[int, int], Target | None] | None = None,
        options: Callable[[], tuple[Policy, float]] | None = None,
    ):
        # None: the step's webhook port (ctx.webhooks.target); tests pass their own.
        self.lookup = lookup
        self.options = options or _settings

    # -- what to send ----------------------------------------------------------
    def _messages(self, ctx: StepContext, endpoint_id: int) -> list[tuple[str, str, dict[str, Any]]]:
        """(delivery id, type, payload) for every request of this step."""
        spec = ctx.input
        suffix = f"e{endpoint_id}"
        if "event" in spec:
            event = spec["event"]
            if not isinstance(event, dict) or not isinstance(event.get("id"), str):
                raise PermanentError("input.event: must be an event envelope with an id")
            return [(f"{event['id']}.{suffix}", str(event.get("type", "event")), event)]
        if "items" in spec:
            items = spec["items"]
            if not isinstance(items, list):
                raise PermanentError("input.items: must be a list")
            kind = str(spec.get("type", "item"))
            return [
                (f"s{ctx.step_id}.{i}.{suffix}", kind, {"id": f"s{ctx.step_id}.{i}", "type": kind, "data": item})
                for i, item in enumerate(items)
            ]
        if "leads" in spec:
            ids = spec["leads"]
            if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
                raise PermanentError("input.leads: must be a list of lead ids")
            return [
                (
                    f"lead{lead['id']}.s{ctx.step_id}.{suffix}",
                    "lead",
                    {"id": f"lead{lead['id']}", "type": "lead", "data": lead},
                )
                for lead in ctx.leads.get(ids)
            ]
        if spec.get("results"):
            payload = {"id": f"s{ctx.step_id}.results", "type": "job.results", "data": ctx.upstream()}
            return [(f"s{ctx.step_id}.results.{suffix}", "job.results", payload)]
        raise PermanentError("input: give one of event, items, leads or results")

    # -- the agent -------------------------------------------------------------
    def run(self, ctx: StepContext) -> dict[str, Any]:
        endpoint_id = ctx.input.get("endpoint")
        if not isinstance(endpoint_id, int) or isinstance(endpoint_id, bool):
            raise PermanentError("input.endpoint: a webhook endpoint id is required")
        target = self.lookup(ctx.tenant_id, endpoint_id) if self.lookup else ctx.webhooks.target(endpoint_id)
        if target is None:
            return {"endpoint": endpoint_id, "skipped": "the endpoint was deleted", "delivered": 0}
        if not target.get("active", True):
            return {"endpoint": endpoint_id, "skipped": "the endpoint is disabled", "delivered": 0}
        policy, timeout = self.options()
        # Vet the URL before anything is counted or recorded (SSRF).
        policy.vet(target["url"])

        messages = self._messages(ctx, endpoint_id)
        done = int(ctx.state.get("next", 0))
        statuses: list[int] = list(ctx.state.get("statuses", []))
        for index in range(done, len(messages)):
            delivery_id, kind, payload = messages[index]
            ctx.safe_point()
            ctx.acquire("deliver")
            reply = ctx.effect(
                f"tenant:webhook:{delivery_id}",
                partial(self._send, ctx, target, delivery_id, kind, payload, policy=policy, timeout=timeout),
            )
            statuses.append(int(reply["status"]))
            ctx.checkpoint({"next": index + 1, "statuses": statuses[-100:], "throttled": 0})
        return {"endpoint": endpoint_id, "delivered": len(messages), "statuses": statuses[-100:]}

    def _send(
        self,
        ctx: StepContext,
        target: Target,
        delivery_id: str,
        kind: str,
        payload: dict[str, Any],
        *,
        policy: Policy,
        timeout: float,
    ) -> dict[str, Any]:
        body = body_bytes(payload)
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(target["secret"], timestamp, body),
            IDEMPOTENCY_HEADER: delivery_id,
            DELIVERY_HEADER: delivery_id,
            EVENT_HEADER: kind,
        }
        reply = client.send("POST", target["url"], policy=policy, content=body, headers=headers, timeout=timeout)
        if reply.ok:
            return {"status": reply.status, "delivery": delivery_id}
        throttled = reply.status == 429 or (reply.status == 503 and "retry-after" in reply.headers)
        if throttled:
            count = int(ctx.state.get("throttled", 0)) + 1
            if count <= MAX_THROTTLED:
                wait = client.retry_after(reply.headers, DEFAULT_RETRY_AFTER) or DEFAULT_RETRY_AFTER
                ctx.checkpoint({**ctx.state, "throttled": count})
                raise RateLimited(min(wait, MAX_RETRY_AFTER), f"webhook receiver ({reply.status})")
            raise AgentError(f"the receiver answered {reply.status} {MAX_THROTTLED} times in a row")
        if reply.status >= 500 or reply.status == 408:
            raise AgentError(f"the receiver answered {reply.status}: {reply.snippet()}")
        if 300 <= reply.status < 400:
            location = reply.headers.get("location", "")
            raise PermanentError(f"the receiver answered {reply.status} (redirects are not followed): {location}")
        raise PermanentError(f"the receiver answered {reply.status}: {reply.snippet()}")
