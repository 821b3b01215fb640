"""The HTTP agents without workers: SSRF guard, signing, retry decisions,
per-item effects, e-mail. A real local HTTP server answers."""

from __future__ import annotations

import json
import time

import pytest
from django.core import mail

from agents.base import AgentError, PermanentError, RateLimited
from agents.egress.policy import Policy, parse_allow
from agents.http.notify import Notification
from agents.http.webhooks import WebhookDelivery, body_bytes, sign, verify
from tests.agents.fake_context import FakeContext
from tests.webhooks.receiver import Receiver

SECRET = "whsec_test"


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


LOOPBACK_ALLOWED = Policy(parse_allow(["127.0.0.0/8"]))


def agent(url: str, *, allow_private: bool = True, active: bool = True) -> WebhookDelivery:
    policy = LOOPBACK_ALLOWED if allow_private else Policy()
    return WebhookDelivery(
        lookup=lambda tenant, endpoint: {"url": url, "secret": SECRET, "active": active} if endpoint == 7 else None,
        options=lambda: (policy, 5.0),
    )


def test_the_agent_refuses_a_loopback_receiver_unless_allowed(receiver):
    ctx = FakeContext({"endpoint": 7, "event": {"id": "evt_1_1", "type": "job.completed", "data": {}}})
    with pytest.raises(PermanentError, match=r"127\.0\.0\.1 is a loopback address"):
        agent(receiver.url, allow_private=False).run(ctx)
    assert receiver.requests == [] and ctx.acquired == []


def test_a_delivery_is_signed_over_timestamp_and_body_with_an_idempotency_key(receiver):
    event = {"id": "evt_9_4", "type": "job.completed", "created": "2026-01-01T00:00:00Z", "data": {"job": {"id": 9}}}
    ctx = FakeContext({"endpoint": 7, "event": event})
    output = agent(receiver.url).run(ctx)
    assert output == {"endpoint": 7, "delivered": 1, "statuses": [200]}
    [request] = receiver.requests
    headers = request.headers
    assert json.loads(request.body) == event and request.body == body_bytes(event)
    assert headers["content-type"] == "application/json"
    assert headers["idempotency-key"] == "evt_9_4.e7" and headers["x-reachly-event"] == "job.completed"
    assert verify(SECRET, headers["x-reachly-timestamp"], headers["x-reachly-signature"], request.body)
    assert headers["x-reachly-signature"] == sign(SECRET, int(headers["x-reachly-timestamp"]), request.body)
    assert abs(int(headers["x-reachly-timestamp"]) - time.time()) < 60
    # A tampered body, another secret or a stale timestamp do not verify.
    assert not verify(SECRET, headers["x-reachly-timestamp"], headers["x-reachly-signature"], request.body + b" ")
    assert not verify("whsec_other", headers["x-reachly-timestamp"], headers["x-reachly-signature"], request.body)
    old = int(time.time()) - 3600
    assert not verify(SECRET, str(old), sign(SECRET, old, request.body), request.body)
    assert ctx.acquired == ["deliver"]


def test_retry_decisions_follow_the_receivers_status(receiver):
    def run_once(status: int, headers: dict | None = None):
        receiver.script["evt_1_1.e7"] = [(status, headers or {})]
        ctx = FakeContext({"endpoint": 7, "event": {"id": "evt_1_1", "type": "t"}})
        try:
            agent(receiver.url).run(ctx)
        finally:
            receiver.script.clear()
        return ctx

    with pytest.raises(RateLimited) as limited:
        run_once(429, {"Retry-After": "7"})
    assert limited.value.retry_after == 7.0
    with pytest.raises(RateLimited):
        run_once(503, {"Retry-After": "2"})
    with pytest.raises(AgentError) as failed:
        run_once(500)
    assert failed.value.retryable
    with pytest.raises(PermanentError):
        run_once(400)
    with pytest.raises(PermanentError, match="redirects are not followed"):
        run_once(302, {"Location": "http://169.254.169.254/"})


def test_items_go_one_request_each_and_a_rerun_skips_what_was_delivered(receiver):
    ctx = FakeContext({"endpoint": 7, "items": [{"n": 1}, {"n": 2}, {"n": 3}], "type": "row"}, step_id=55)
    receiver.script["s55.1.e7"] = [(500, {})]
    with pytest.raises(AgentError):
        agent(receiver.url).run(ctx)
    assert ctx.state["next"] == 1  # item 0 delivered and checkpointed
    output = agent(receiver.url).run(ctx)  # the retried step
    assert output["delivered"] == 3
    keys = [r.headers["idempotency-key"] for r in receiver.requests]
    assert keys == ["s55.0.e7", "s55.1.e7", "s55.1.e7", "s55.2.e7"]
    assert [r.status for r in receiver.requests] == [200, 500, 200, 200]
    assert [json.loads(r.body)["data"] for r in receiver.delivered()] == [{"n": 1}, {"n": 2}, {"n": 3}]


def test_a_rate_limit_between_items_stops_the_step_and_it_resumes_there(receiver):
    ctx = FakeContext({"endpoint": 7, "items": [{"n": i} for i in range(4)]}, step_id=56)
    ctx.deny_after = 2
    with pytest.raises(RateLimited):
        agent(receiver.url).run(ctx)
    assert len(receiver.requests) == 2 and ctx.state["next"] == 2
    ctx.deny_after = None
    agent(receiver.url).run(ctx)
    assert [json.loads(r.body)["data"]["n"] for r in receiver.requests] == [0, 1, 2, 3]


def test_leads_and_upstream_results_are_delivered_too(receiver):
    lead = {"id": 3, "profile_url": "https://s.test/in/a", "custom_fields": {"tier": "gold"}, "status": "invited"}
    agent(receiver.url).run(FakeContext({"endpoint": 7, "leads": [3, 4]}, leads={3: lead}))
    agent(receiver.url).run(FakeContext({"endpoint": 7, "results": True}, upstream={"write": {"notes": 2}}))
    bodies = [json.loads(r.body) for r in receiver.requests]
    assert bodies[0]["type"] == "lead" and bodies[0]["data"] == lead
    assert bodies[1] == {"id": "s10.results", "type": "job.results", "data": {"write": {"notes": 2}}}


def test_a_deleted_or_disabled_endpoint_is_skipped_and_bad_input_is_permanent(receiver):
    assert agent(receiver.url).run(FakeContext({"endpoint": 8, "event": {"id": "e"}}))["skipped"]
    assert agent(receiver.url, active=False).run(FakeContext({"endpoint": 7, "event": {"id": "e"}}))["skipped"]
    for bad in ({}, {"endpoint": "7"}, {"endpoint": 7}, {"endpoint": 7, "items": "x"}, {"endpoint": 7, "leads": ["a"]}):
        with pytest.raises(PermanentError):
            agent(receiver.url).run(FakeContext(bad))
    assert receiver.requests == []


def test_the_notification_agent_sends_one_mail_through_djangos_backend(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    ctx = FakeContext(
        {"to": ["ada@example.com"], "subject": "Job done", "body": "All 20 leads invited.", "html": "<b>20</b>"}
    )
    output = Notification().run(ctx)
    Notification().run(ctx)  # a retried step: the effect is recorded, no second mail
    assert output == {"sent": 1, "to": ["ada@example.com"], "subject": "Job done"}
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "Job done" and mail.outbox[0].alternatives[0][0] == "<b>20</b>"
    assert ctx.acquired == ["email", "email"]
    for bad in ({"subject": "x"}, {"to": "not-an-address", "subject": "x"}, {"to": "a@b.co", "subject": "two\nlines"}):
        with pytest.raises(PermanentError):
            Notification().run(FakeContext(bad))


def test_the_readme_verification_recipe_accepts_our_signatures_and_rejects_tampering(receiver):
    """The README's code, run as written, against a real delivery."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Webhooks", 1)[1]
    code = section.split("```python", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(code, namespace)  # our own documentation, run as written
    readme_verify = namespace["verify"]

    agent(receiver.url).run(FakeContext({"endpoint": 7, "event": {"id": "evt_3_1", "type": "job.failed"}}))
    [request] = receiver.requests
    headers = {"X-Reachly-Timestamp": request.headers["x-reachly-timestamp"],
               "X-Reachly-Signature": request.headers["x-reachly-signature"]}  # fmt: skip
    assert readme_verify(SECRET, headers, request.body)
    assert not readme_verify(SECRET, headers, request.body.replace(b"failed", b"completed"))
    assert not readme_verify("whsec_wrong", headers, request.body)
