"""Webhook delivery on real Celery workers against a real local HTTP receiver.

(issue 3, must show) Webhook delivery refuses a loopback URL by default and
delivers signed, rate-limited requests to an allowed local receiver; a
429/5xx from the receiver is retried and the delivery arrives once.
"""

from __future__ import annotations

import json
import time

import pytest

from agents.http.webhooks import verify
from reachly.orchestration.graph import StepSpec
from reachly.orchestration.models import Effect, Job, RateLimit, Step, StepAttempt
from reachly.orchestration.services import job_start
from reachly.webhooks.fanout import DELIVERY_JOB_NAME
from reachly.webhooks.services import webhook_endpoint_create
from tests.conftest import wait_for
from tests.factories import TenantFactory
from tests.helpers import wait_job
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.workers

ALLOW_PRIVATE = {"REACHLY_EGRESS_ALLOW": "127.0.0.0/8"}


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def endpoint(settings, receiver):
    """An endpoint on the loopback receiver; registering it is allowed in this
    process (as in dev), delivering it depends on the workers' setting."""
    settings.REACHLY_EGRESS_ALLOW = ["127.0.0.0/8"]

    def make(tenant, events):
        return webhook_endpoint_create(tenant=tenant, url=receiver.url, events=events)

    return make


def test_a_loopback_receiver_is_refused_by_default(workers, receiver, endpoint):
    workers.start(["control"], beat=True)
    workers.start("agent.webhook_delivery")  # no REACHLY_EGRESS_ALLOW
    tenant = TenantFactory()
    hook, _ = endpoint(tenant, ["job.completed"])
    event = {"id": "evt_1_1", "type": "job.completed", "data": {}}

    job = job_start(
        tenant=tenant, steps=[StepSpec("deliver", "webhook_delivery", {"endpoint": hook.pk, "event": event})]
    )
    wait_job(job, "failed", timeout=60)

    step = Step.objects.get(job=job)
    assert "127.0.0.1 is a loopback address" in step.error["message"]
    assert step.error["retryable"] is False and step.attempts == 1
    assert receiver.requests == []


def test_completed_jobs_are_delivered_signed_once_each_and_within_the_rate(workers, receiver, endpoint):
    rate = 5  # requests per second, for every worker together
    RateLimit.objects.create(agent="webhook_delivery", subject="actions", action="deliver", limit=rate, period="second")
    workers.start(["control"], beat=True)
    workers.start("agent.test")
    tenant = TenantFactory()
    hook, secret = endpoint(tenant, ["job.completed"])

    jobs = [job_start(tenant=tenant, name=f"job {i}", steps=[StepSpec("a", "test")]) for i in range(15)]
    for job in jobs:
        wait_job(job, timeout=60)
    # Every delivery is due before a delivery worker starts: 15 ready at once
    # for 4 slots and a rate of 5/s, so the limit must bind.
    workers.start("agent.webhook_delivery", concurrency=2, extra_env=ALLOW_PRIVATE)
    workers.start("agent.webhook_delivery", concurrency=2, extra_env=ALLOW_PRIVATE)
    wait_for(lambda: len(receiver.delivered()) >= 15, timeout=60, what="15 deliveries")
    for delivery in Job.objects.filter(tenant=tenant, name=DELIVERY_JOB_NAME):
        wait_job(delivery, timeout=30)

    received = receiver.delivered()
    bodies = [json.loads(r.body) for r in received]
    # Each job's completion, exactly once, signed with the endpoint's secret.
    assert sorted(b["data"]["job"]["id"] for b in bodies) == sorted(j.pk for j in jobs)
    assert {b["type"] for b in bodies} == {"job.completed"}
    for r in received:
        assert verify(secret, r.headers["x-reachly-timestamp"], r.headers["x-reachly-signature"], r.body)
    keys = [r.headers["idempotency-key"] for r in received]
    assert len(set(keys)) == 15 and all(k.endswith(f".e{hook.pk}") for k in keys)

    # The rate held across both worker processes: deliveries were made to
    # wait by the limiter (no timing is asserted here; the limiter's windows
    # are tested in tests/orchestration/test_limiter.py and measured in
    # benchmarks/).
    throttled = StepAttempt.objects.filter(
        step__job__tenant=tenant, step__agent="webhook_delivery", outcome="rate_limited"
    )
    assert throttled.exists()

    # Deliveries are not themselves announced: no loop.
    time.sleep(2)
    assert Job.objects.filter(tenant=tenant, name=DELIVERY_JOB_NAME).count() == 15
    assert len(receiver.requests) == 15


def test_a_429_or_5xx_is_retried_and_the_receiver_gets_the_delivery_once(workers, receiver, endpoint):
    workers.start(["control"], beat=True)
    workers.start("agent.webhook_delivery", extra_env=ALLOW_PRIVATE)
    tenant = TenantFactory()
    # Subscribed to nothing this job emits: only the items arrive.
    hook, secret = endpoint(tenant, ["lead.status_changed"])
    # The second item: first a 503 (retried with backoff), then a 429 asking
    # for 1 s (the step waits in the database), then accepted.
    job = job_start(
        tenant=tenant,
        steps=[StepSpec("push", "webhook_delivery", {"endpoint": hook.pk, "items": [{"n": 0}, {"n": 1}, {"n": 2}]})],
    )
    step = Step.objects.get(job=job)
    receiver.script[f"s{step.pk}.1.e{hook.pk}"] = [(503, {}), (429, {"Retry-After": "1"})]
    wait_job(job, timeout=60)

    assert [r.status for r in receiver.requests] == [200, 503, 429, 200, 200]
    keys = [r.headers["idempotency-key"] for r in receiver.requests]
    assert keys[1] == keys[2] == keys[3], "a retry keeps its Idempotency-Key"
    assert [json.loads(r.body)["data"] for r in receiver.delivered()] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert all(verify(secret, r.headers["x-reachly-timestamp"], r.headers["x-reachly-signature"], r.body)
               for r in receiver.requests)  # fmt: skip
    step.refresh_from_db()
    # The 503 used an attempt; the 429 only made the step wait.
    assert step.attempts == 1 and step.output["statuses"] == [200, 200, 200]
    assert Effect.objects.filter(step=step, state="done").count() == 3
