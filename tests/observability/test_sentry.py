"""Sentry: an exception in a step, raised in a real worker process, arrives
once per step at a (fake, local) Sentry with tenant, job, step and agent as tags, and
without the secrets that were in the step's input."""

from __future__ import annotations

import pytest

from reachly.orchestration.graph import StepSpec
from reachly.orchestration.models import Step
from reachly.orchestration.services import job_start
from tests.conftest import wait_for
from tests.factories import CampaignFactory, TenantFactory
from tests.helpers import wait_job
from tests.observability.fake_sentry import FakeSentry

SECRET = "pa55word-in-step-input-SECRET"


@pytest.fixture
def fake_sentry():
    server = FakeSentry()
    yield server
    server.close()


def test_without_a_dsn_sentry_is_not_initialised():
    import sentry_sdk

    from reachly.observability import sentry

    # The test settings have no SENTRY_DSN: the SDK was never started.
    assert not sentry_sdk.get_client().is_active()
    assert sentry.init(dsn="", environment="test") is False


@pytest.mark.workers
def test_an_agent_bug_in_a_step_reaches_sentry_once_with_its_tags(workers, fake_sentry):
    env = {"SENTRY_DSN": fake_sentry.dsn, "SENTRY_ENVIRONMENT": "ci"}
    workers.start("control", beat=True, extra_env=env)
    worker = workers.start("agent.test", extra_env=env)
    tenant = TenantFactory()
    campaign = CampaignFactory(tenant=tenant)
    # `items` must be a number: the test agent's int() raises ValueError, an
    # agent bug, which the runner records as a failed attempt.
    # Two such steps, admitted together: they may travel in one batch message,
    # and each event must still name its own step.
    job = job_start(
        tenant=tenant,
        campaign=campaign,
        steps=[
            StepSpec(key, "test", {"items": "not-a-number", "password": SECRET}, max_attempts=1)
            for key in ("buggy-1", "buggy-2")
        ],
    )
    wait_job(job, "failed")
    steps = list(Step.objects.filter(job=job))
    assert {s.error["type"] for s in steps} == {"ValueError"}

    wait_for(lambda: len(fake_sentry.events()) >= 2, timeout=20, what="the events at the fake Sentry")
    worker.stop()  # flushes whatever the SDK still holds
    workers.stop_all()
    events = fake_sentry.events()
    assert len(events) == 2, "one event per failed step, not more"
    tagged = sorted(
        ({k: e["tags"].get(k) for k in ("tenant", "job", "step", "agent", "campaign")} for e in events),
        key=lambda t: t["step"],
    )
    assert tagged == [
        {"tenant": str(tenant.id), "job": str(job.id), "step": str(s.id), "agent": "test", "campaign": str(campaign.id)}
        for s in sorted(steps, key=lambda s: str(s.id))
    ]
    for event in events:
        assert event["environment"] == "ci"
        assert event["exception"]["values"][-1]["type"] == "ValueError"
        # PII off.
        assert "user" not in event or not event["user"].get("ip_address")
    # Secrets scrubbed, frames' local variables included.
    for body in fake_sentry.raw:
        i = body.find(SECRET.encode())
        assert i < 0, body[max(0, i - 1500) : i + 100]
