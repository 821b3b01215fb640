"""The dispatcher's choices, pass by pass (no workers: we read what it admitted)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from reachly.orchestration import dispatcher
from reachly.orchestration.graph import StepSpec
from reachly.orchestration.models import Step
from reachly.orchestration.services import job_start
from tests.factories import SenderAccountFactory, TenantFactory, allow, test_steps

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _plans(plans):
    pass


def admitted(job=None):
    qs = Step.objects.filter(status="enqueued")
    if job is not None:
        qs = qs.filter(job=job)
    return qs


def run_admitted(ids=None):
    """Pretend workers picked up everything admitted (frees the queue)."""
    qs = Step.objects.filter(status="enqueued")
    if ids is not None:
        qs = qs.filter(id__in=ids)
    qs.update(status="running")


def test_urgent_work_is_admitted_before_normal_and_normal_before_batch(settings):
    settings.REACHLY_QUEUE_DEPTH = 3
    tenant = TenantFactory()
    batch = job_start(tenant=tenant, steps=test_steps(3, "b"), priority=10)
    normal = job_start(tenant=tenant, steps=test_steps(3, "n"), priority=5)
    urgent = job_start(tenant=tenant, steps=test_steps(2, "u"), priority=1)

    assert dispatcher.dispatch("test") == 3
    assert admitted(urgent).count() == 2 and admitted(normal).count() == 1
    assert not admitted(batch).exists()


def test_waiting_batch_work_ages_into_urgent_so_it_is_never_starved(settings):
    settings.REACHLY_QUEUE_DEPTH = 1
    settings.REACHLY_AGING_SECONDS = 30
    tenant = TenantFactory()
    old_batch = job_start(tenant=tenant, steps=test_steps(1, "b"), priority=10)
    # Waiting 5 minutes = 10 aging intervals: effective priority 1.
    Step.objects.filter(job=old_batch).update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    job_start(tenant=tenant, steps=test_steps(3, "n"), priority=5)

    dispatcher.dispatch("test")
    assert admitted(old_batch).count() == 1


def test_tenants_are_served_round_robin_whatever_they_submitted(settings):
    settings.REACHLY_QUEUE_DEPTH = 8
    alice, bob = TenantFactory(), TenantFactory()
    big = job_start(tenant=alice, steps=test_steps(500))
    small = job_start(tenant=bob, steps=test_steps(5))

    dispatcher.dispatch("test")
    assert admitted(big).count() == 4 and admitted(small).count() == 4


def test_round_robin_holds_across_passes_when_one_slot_frees_at_a_time(settings):
    settings.REACHLY_QUEUE_DEPTH = 1
    alice, bob = TenantFactory(), TenantFactory()
    job_start(tenant=alice, steps=test_steps(50))
    job_start(tenant=bob, steps=test_steps(50))

    order = []
    for _ in range(8):
        assert dispatcher.dispatch("test") == 1
        step = admitted().get()
        order.append(step.tenant_id)
        run_admitted()
    assert order in ([alice.id, bob.id] * 4, [bob.id, alice.id] * 4)


def test_a_tenant_never_exceeds_its_max_concurrent_for_an_agent(settings):
    settings.REACHLY_QUEUE_DEPTH = 8
    tenant = TenantFactory()
    allow(tenant, "test", max_concurrent=2)
    job = job_start(tenant=tenant, steps=test_steps(10))

    dispatcher.dispatch("test")
    run_admitted()
    dispatcher.dispatch("test")
    assert Step.objects.filter(job=job, status__in=["enqueued", "running"]).count() == 2


def test_a_spent_monthly_limit_parks_the_tenants_steps_until_next_month(settings):
    settings.REACHLY_QUEUE_DEPTH = 8
    tenant = TenantFactory()
    allow(tenant, "test", monthly_limit=3)
    job = job_start(tenant=tenant, steps=test_steps(6))

    dispatcher.dispatch("test")
    run_admitted()
    dispatcher.dispatch("test")
    assert Step.objects.filter(job=job, status="running").count() == 3
    parked = Step.objects.filter(job=job, status="ready")
    assert parked.count() == 3
    assert all(s.wait_reason == dispatcher.WAIT_MONTHLY for s in parked)
    assert all(s.next_attempt_at.day == 1 and s.next_attempt_at > timezone.now() for s in parked)


def test_one_step_per_sender_account_is_admitted_or_running_at_a_time(settings):
    settings.REACHLY_QUEUE_DEPTH = 8
    tenant = TenantFactory()
    account = SenderAccountFactory(tenant=tenant)
    jobs = [
        job_start(tenant=tenant, steps=[StepSpec(f"s{i}", "test", sender_account_id=account.id) for i in range(2)])
        for _ in range(3)
    ]
    dispatcher.dispatch("test")
    assert Step.objects.filter(job__in=jobs, status="enqueued").count() == 1
    run_admitted()
    dispatcher.dispatch("test")
    assert Step.objects.filter(job__in=jobs, status__in=["enqueued", "running"]).count() == 1


def test_a_cooling_down_account_waits_while_other_accounts_go_on(settings):
    settings.REACHLY_QUEUE_DEPTH = 8
    tenant = TenantFactory()
    resting = SenderAccountFactory(
        tenant=tenant, status="cooling_down", cooling_down_until=timezone.now() + timedelta(minutes=5)
    )
    fresh = SenderAccountFactory(tenant=tenant)
    job = job_start(
        tenant=tenant,
        steps=[StepSpec("a", "test", sender_account_id=resting.id), StepSpec("b", "test", sender_account_id=fresh.id)],
    )
    dispatcher.dispatch("test")
    assert list(admitted(job).values_list("key", flat=True)) == ["b"]


def test_paused_jobs_are_not_admitted(settings):
    from reachly.orchestration.services import job_pause

    settings.REACHLY_QUEUE_DEPTH = 8
    tenant = TenantFactory()
    job = job_start(tenant=tenant, steps=test_steps(3))
    job_pause(job)
    assert dispatcher.dispatch("test") == 0


@pytest.mark.django_db(transaction=True)
def test_several_dispatchers_at_once_never_admit_more_than_the_queue_holds(settings):
    settings.REACHLY_QUEUE_DEPTH = 20
    tenants = [TenantFactory() for _ in range(3)]
    for tenant in tenants:
        job_start(tenant=tenant, steps=test_steps(100))

    barrier = threading.Barrier(4)
    counts = []

    def one_dispatcher():
        barrier.wait()
        try:
            counts.append(dispatcher.dispatch("test"))
        finally:
            connection.close()

    threads = [threading.Thread(target=one_dispatcher) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts) == 20
    assert Step.objects.filter(status="enqueued").count() == 20
