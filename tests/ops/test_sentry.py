"""Sentry: an exception in a step, raised in a real worker process, arrives
once at a (fake, local) Sentry with tenant, job, step and agent as tags, and
without the secrets that were in the step's input."""

from __future__ import annotations

import pytest

from reachly.orchestration.graph import StepSpec
from reachly.orchestration.models import Step
from reachly.orchestration.services import job_start
from tests.conftest import wait_for
from tests.factories import CampaignFactory, TenantFactory
from tests.helpers import wait_job
from tests.ops.fake_sentry import FakeSentry

SECRET = "pa55word-in-step-input-SECRET"


@pytest.fixture
def fake_sentry():
    server = FakeSentry()
    yield server
    server.close()


def test_without_a_dsn_sentry_is_not_initialised():
    import sentry_sdk

    from reachly.ops import sentry

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
    job = job_start(
        tenant=tenant,
        campaign=campaign,
        steps=[StepSpec("buggy", "test", {"items": "not-a-number", "password": SECRET}, max_attempts=1)],
    )
    wait_job(job, "failed")
    step = Step.objects.get(job=job)
    assert step.error["type"] == "ValueError"

    wait_for(fake_sentry.events, timeout=20, what="the event at the fake Sentry")
    worker.stop()  # flushes whatever the SDK still holds
    workers.stop_all()
    (event,) = fake_sentry.events()
    tags = event["tags"]
    assert {k: tags.get(k) for k in ("tenant", "job", "step", "agent", "campaign")} == {
        "tenant": str(tenant.id),
        "job": str(job.id),
        "step": str(step.id),
        "agent": "test",
        "campaign": str(campaign.id),
    }
    assert event["environment"] == "ci"
    assert event["exception"]["values"][-1]["type"] == "ValueError"
    # PII off, secrets scrubbed (frames' local variables included).
    assert "user" not in event or not event["user"].get("ip_address")
    for body in fake_sentry.raw:
        i = body.find(SECRET.encode())
        assert i < 0, body[max(0, i - 1500) : i + 100]
