"""Recorded events become webhook delivery jobs, in their own transaction, started through the control plane."""

from __future__ import annotations

import pytest

from reachly.campaigns.imports import lead_import_rows
from reachly.campaigns.services import campaign_create, lead_status_set
from reachly.orchestration.graph import StepSpec
from reachly.orchestration.models import Job, Step
from reachly.orchestration.services import job_cancel, job_start
from reachly.webhooks.fanout import DELIVERY_JOB_NAME, fan_out, public_type
from reachly.webhooks.services import webhook_endpoint_create
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


def deliveries(tenant) -> list[Step]:
    return list(Step.objects.filter(tenant=tenant, job__name=DELIVERY_JOB_NAME).order_by("id"))


def finish(job: Job, status: str) -> None:
    """Record a job outcome the way the control plane does."""
    from django.db import transaction

    from reachly.orchestration.lifecycle import _finish_job

    with transaction.atomic():
        _finish_job(job.pk, status, "" if status == "succeeded" else "one or more steps failed")


def test_public_names_of_wire_events():
    assert public_type({"type": "job.status", "status": "succeeded"}) == "job.completed"
    assert public_type({"type": "job.status", "status": "failed"}) == "job.failed"
    assert public_type({"type": "job.status", "status": "running"}) is None
    assert public_type({"type": "step.status", "status": "failed", "agent": "test"}) == "step.failed"
    assert public_type({"type": "step.status", "status": "failed", "agent": "webhook_delivery"}) is None
    assert public_type({"type": "step.status", "status": "succeeded", "agent": "test"}) is None
    assert public_type({"type": "lead.status_changed", "lead": 1, "status": "invited"}) == "lead.status_changed"


def test_a_completed_job_becomes_one_delivery_per_subscribed_endpoint(plans, django_capture_on_commit_callbacks):
    tenant, other = TenantFactory(), TenantFactory()
    completed, _ = webhook_endpoint_create(tenant=tenant, url="https://a.example.com/h", events=["job.completed"])
    webhook_endpoint_create(tenant=tenant, url="https://b.example.com/h", events=["job.failed"])
    webhook_endpoint_create(tenant=tenant, url="https://c.example.com/h", events=["job.completed"], active=False)
    webhook_endpoint_create(tenant=other, url="https://d.example.com/h", events=["job.completed"])
    campaign = campaign_create(tenant=tenant, name="C")
    job = job_start(tenant=tenant, campaign=campaign, name="nightly", steps=[StepSpec("a", "test")])

    with django_capture_on_commit_callbacks(execute=True):
        finish(job, "succeeded")

    [step] = deliveries(tenant)
    assert step.agent == "webhook_delivery" and step.status == "ready"
    event = step.input["event"]
    assert step.input["endpoint"] == completed.pk
    assert event["type"] == "job.completed" and event["id"].startswith(f"evt_{job.pk}_")
    assert event["data"]["job"] | {"progress": None} == {
        "id": job.pk,
        "name": "nightly",
        "campaign": campaign.pk,
        "status": "succeeded",
        "reason": "",
        "progress": None,
    }
    assert Job.objects.get(pk=step.job_id).tenant == tenant
    assert deliveries(other) == []


def test_failed_steps_jobs_and_lead_changes_are_fanned_out_to_their_subscribers(
    plans, django_capture_on_commit_callbacks
):
    tenant = TenantFactory()
    endpoint, _ = webhook_endpoint_create(
        tenant=tenant, url="https://a.example.com/h", events=["job.failed", "step.failed", "lead.status_changed"]
    )
    campaign = campaign_create(tenant=tenant, name="C")
    lead_import_rows(campaign=campaign, rows=[{"url": "https://s.test/in/x"}])
    lead = campaign.leads.get()
    job = job_start(tenant=tenant, campaign=campaign, steps=[StepSpec("a", "test")])

    with django_capture_on_commit_callbacks(execute=True):
        lead_status_set(lead_id=lead.pk, status="invited", detail="note sent", job_id=job.pk)
        finish(job, "failed")

    events = [s.input["event"] for s in deliveries(tenant)]
    assert [e["type"] for e in events] == ["lead.status_changed", "job.failed"]
    assert events[0]["data"]["lead"] == {"id": lead.pk, "status": "invited", "detail": "note sent"}
    assert all(s.input["endpoint"] == endpoint.pk for s in deliveries(tenant))


def test_a_delivery_jobs_own_events_are_never_fanned_out(plans, django_capture_on_commit_callbacks):
    tenant = TenantFactory()
    webhook_endpoint_create(tenant=tenant, url="https://a.example.com/h", events=["job.completed", "job.failed"])
    job = job_start(tenant=tenant, steps=[StepSpec("a", "test")])
    with django_capture_on_commit_callbacks(execute=True):
        finish(job, "succeeded")
    [delivery] = deliveries(tenant)

    with django_capture_on_commit_callbacks(execute=True):
        finish(delivery.job, "succeeded")
    with django_capture_on_commit_callbacks(execute=True):
        fan_out(
            [
                {"type": "step.status", "status": "failed", "agent": "webhook_delivery", "job": delivery.job_id,
                 "tenant": tenant.pk, "seq": 9, "ts": "2026-01-01T00:00:00Z"},
            ]
        )  # fmt: skip
    assert len(deliveries(tenant)) == 1
    assert Job.objects.filter(tenant=tenant, name=DELIVERY_JOB_NAME).count() == 1


def test_without_subscribers_nothing_is_started(plans, django_capture_on_commit_callbacks):
    tenant = TenantFactory()
    webhook_endpoint_create(tenant=tenant, url="https://a.example.com/h", events=["job.failed"])
    job = job_start(tenant=tenant, steps=[StepSpec("a", "test")])
    with django_capture_on_commit_callbacks(execute=True):
        job_cancel(job)  # cancelled: not a subscribable event
        finish(job_start(tenant=tenant, steps=[StepSpec("a", "test")]), "succeeded")
    assert deliveries(tenant) == []


def test_a_delivery_commits_or_rolls_back_with_its_event_and_needs_no_after_commit_hook(plans):
    from django.db import transaction

    from reachly.orchestration.lifecycle import _finish_job

    tenant = TenantFactory()
    webhook_endpoint_create(tenant=tenant, url="https://a.example.com/h", events=["job.completed"])
    job = job_start(tenant=tenant, name="nightly", steps=[StepSpec("a", "test")])

    with pytest.raises(RuntimeError), transaction.atomic():
        _finish_job(job.pk, "succeeded", "")
        assert len(deliveries(tenant)) == 1, "written in the event's own transaction"
        raise RuntimeError("the transaction dies before its commit")
    assert deliveries(tenant) == [], "rolled back with the event"

    # Committed, with no after-commit hook run at all (this test's hooks never
    # run: as if the process died right after the commit): the delivery is there.
    with transaction.atomic():
        _finish_job(job.pk, "succeeded", "")
    [step] = deliveries(tenant)
    assert step.input["event"]["type"] == "job.completed"


def test_a_failing_fan_out_never_takes_the_callers_change_down(plans, monkeypatch, caplog):
    from reachly.webhooks import fanout

    tenant = TenantFactory()
    webhook_endpoint_create(tenant=tenant, url="https://a.example.com/h", events=["job.completed"])
    job = job_start(tenant=tenant, name="nightly", steps=[StepSpec("a", "test")])

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(fanout, "job_start", broken)
    finish(job, "succeeded")
    job.refresh_from_db()
    assert job.status == "succeeded", "the job's outcome committed"
    assert deliveries(tenant) == []
    assert "webhook deliveries for 1 event(s) not scheduled" in caplog.text
