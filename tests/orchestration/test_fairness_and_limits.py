"""Fairness, global limits and account exclusivity, on real worker processes."""

import itertools
from collections import Counter

import pytest
from django.db.models import Max, Min

from reachly.orchestration.graph import StepSpec
from reachly.orchestration.models import RateLimit, Step, StepAttempt
from reachly.orchestration.services import job_start
from tests.conftest import wait_for
from tests.factories import SenderAccountFactory, TenantFactory, test_steps
from tests.helpers import wait_job

pytestmark = pytest.mark.workers

QUEUE_DEPTH = 16  # settings.REACHLY_QUEUE_DEPTH, the default
WORKERS = 2


def test_a_small_tenant_is_served_while_a_big_one_is_far_from_done(workers):
    """Tenant A submits 2,000 steps, then tenant B 20: B finishes first.

    The bound: when B submits, at most QUEUE_DEPTH of A's steps are admitted
    and WORKERS are running; from then on every dispatcher pass alternates
    A and B (round-robin within a priority), so A gets at most one step per
    step of B. All of B is done before A completes QUEUE_DEPTH + WORKERS +
    20 more = 38 steps; we assert 60 to absorb pass timing.
    """
    workers.start("control", beat=True)
    for _ in range(WORKERS):
        workers.start("agent.test")
    tenant_a, tenant_b = TenantFactory(), TenantFactory()

    big = job_start(tenant=tenant_a, steps=test_steps(2000, sleep=0.005))
    wait_for(lambda: Step.objects.filter(job=big, status="succeeded").count() >= 50, timeout=60, what="A running")
    small = job_start(tenant=tenant_b, steps=test_steps(20, sleep=0.005))
    submitted_at = small.created_at
    wait_job(small, timeout=60)

    b_done_at = Step.objects.filter(job=small).aggregate(t=Max("finished_at"))["t"]
    a_meanwhile = Step.objects.filter(job=big, finished_at__gt=submitted_at, finished_at__lte=b_done_at).count()
    a_total_done = Step.objects.filter(job=big, status="succeeded").count()
    assert a_meanwhile <= 60, f"A finished {a_meanwhile} steps while B's 20 waited"
    assert a_total_done < 2000 / 2, "A should still be far from done"


def test_a_global_limit_holds_across_four_worker_processes(workers):
    """10 steps/s for the test agent, 4 processes: never more than 10 starts in a second."""
    RateLimit.objects.create(name="test agent 10/s", agent="test", subject="steps", limit=10, period="second")
    workers.start("control", beat=True)
    for _ in range(4):
        workers.start("agent.test")
    tenant = TenantFactory()

    job = job_start(tenant=tenant, steps=test_steps(60))
    wait_job(job, timeout=90)

    # started_at is when the limiter granted the start (Redis's clock).
    starts = sorted(StepAttempt.objects.filter(step__job=job, outcome="succeeded").values_list("started_at", flat=True))
    assert len(starts) == 60
    per_second = Counter(int(t.timestamp()) for t in starts)
    assert max(per_second.values()) <= 10
    # Sliding: any 1-second window, not only aligned ones.
    for i, t in enumerate(starts):
        assert sum(1 for u in starts[i:] if (u - t).total_seconds() < 1.0) <= 10
    # The limit was shared by several processes, not met by one alone.
    assert len({s.output["pid"] for s in Step.objects.filter(job=job)}) >= 2


def test_steps_on_one_sender_account_never_overlap_across_jobs(workers):
    workers.start("control", beat=True)
    for _ in range(3):
        workers.start("agent.test")
    tenant = TenantFactory()
    account = SenderAccountFactory(tenant=tenant)
    other = SenderAccountFactory(tenant=tenant)

    jobs = [
        job_start(
            tenant=tenant,
            steps=[StepSpec(f"s{i}", "test", {"sleep": 0.2}, sender_account_id=account.id) for i in range(3)]
            + [StepSpec("free", "test", {"sleep": 0.2}, sender_account_id=other.id)],
        )
        for _ in range(3)
    ]
    for job in jobs:
        wait_job(job, timeout=60)

    spans = sorted(
        StepAttempt.objects.filter(step__sender_account=account, outcome="succeeded").values_list(
            "started_at", "finished_at"
        )
    )
    assert len(spans) == 9
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end, "two steps of one account overlapped"
    # Meanwhile the other account's steps were not held up behind them.
    other_first = StepAttempt.objects.filter(step__sender_account=other).aggregate(t=Min("started_at"))["t"]
    assert other_first < spans[-1][0]
