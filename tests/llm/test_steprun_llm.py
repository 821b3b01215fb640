"""StepRun's LLM door, in process against PostgreSQL and Redis: a retried
step reuses a recorded completion through the effect ledger, even when the
worker died after recording the call and before marking the effect done."""

from __future__ import annotations

import pytest
from django.utils import timezone

from agents.llm.client import LLM
from reachly.llm.models import LLMCall
from reachly.orchestration import lifecycle, limits
from reachly.orchestration.graph import StepSpec
from reachly.orchestration.leases import Lease
from reachly.orchestration.models import Effect, Step, UsageCounter
from reachly.orchestration.runner import StepRun
from reachly.orchestration.services import job_start
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db

CONTEXT = {"lead": {"id": 1, "first_name": "Ada", "company": "Engines", "title": "CTO"}, "topic": "pipelines"}


def _run_of(step: Step) -> StepRun:
    """Admit and claim the step as a worker would; the StepRun for it."""
    Step.objects.filter(pk=step.pk).update(status="enqueued", next_attempt_at=timezone.now())
    claimed = lifecycle.claim(step.pk, "test-worker", timezone.now())
    assert claimed is not None
    subject = limits.Subject(tenant_id=step.tenant_id, agent=step.agent)
    return StepRun(claimed, subject, Lease(step.pk, claimed.fencing_token))


def _complete(ctx: StepRun) -> dict:
    return LLM(ctx).complete("copy:1", "copywriter.outreach", CONTEXT, variables={**CONTEXT, "brief": "b"})


def test_a_retried_step_reuses_its_completion_instead_of_paying_twice(plans):
    tenant = TenantFactory()
    job = job_start(tenant=tenant, steps=[StepSpec("write-copy", "copywriter", {"leads": [1]})])
    step = Step.objects.get(job=job)

    ctx = _run_of(step)
    first = _complete(ctx)
    assert first["provider"] == "local" and LLMCall.objects.filter(step=step).count() == 1

    # The worker died after recording the call, before the ledger said "done".
    Effect.objects.filter(step=step).update(state="started", result=None)
    lifecycle.fail(step.pk, ctx.claimed.fencing_token, ctx.attempt, {"message": "worker lost"}, True)

    retry = _run_of(step)
    assert retry.claimed.fencing_token > ctx.claimed.fencing_token
    again = _complete(retry)

    assert again == first
    assert LLMCall.objects.filter(step=step).count() == 1
    effect = Effect.objects.get(step=step)
    assert (effect.key, effect.state) == (f"s{step.pk}:llm:copy:1", "done")
    counter = UsageCounter.objects.get(tenant=tenant, agent="copywriter")
    assert counter.llm_tokens == first["prompt_tokens"] + first["completion_tokens"]
    # And once done, the ledger answers without asking anyone.
    assert _complete(retry) == first and LLMCall.objects.filter(step=step).count() == 1
