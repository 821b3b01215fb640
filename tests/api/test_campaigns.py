"""Campaigns: CRUD, and starting a job for one."""

from __future__ import annotations

import pytest
from django.conf import settings

from reachly.campaigns.accounts import sender_account_create
from reachly.campaigns.imports import lead_import_rows
from reachly.campaigns.models import Campaign
from reachly.orchestration.models import Job, Step
from tests.api.conftest import error

pytestmark = pytest.mark.django_db

URL = "/api/v1/campaigns/"


def test_it_creates_lists_shows_updates_and_deletes_a_campaign(alice):
    account = sender_account_create(tenant=alice.tenant, name="A", login="a@example.com")
    created = alice.client.post(
        URL,
        {
            "name": "Q3 CTOs",
            "brief": "Reach CTOs of fintechs in Berlin.",
            "sender_accounts": [account.pk],
            "priority": 1,
            "timezone": "Europe/Berlin",
            "schedule_start": "08:30",
            "settings": {"note_template": "Hi {first_name}"},
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["sender_accounts"] == [account.pk] and body["priority"] == 1 and body["lead_count"] == 0
    assert body["schedule_start"] == "08:30:00" and body["settings"] == {"note_template": "Hi {first_name}"}
    campaign_id = body["id"]

    # The campaign's account is on the sandbox: its leads must be sandbox profiles.
    sandbox_lead = f"{settings.REACHLY_SANDBOX_URL}in/1"
    lead_import_rows(campaign=Campaign.objects.get(pk=campaign_id), rows=[{"url": sandbox_lead}])
    assert alice.client.get(f"{URL}{campaign_id}/").json()["lead_count"] == 1
    assert [c["id"] for c in alice.client.get(URL).json()["results"]] == [campaign_id]

    patched = alice.client.patch(f"{URL}{campaign_id}/", {"status": "draft", "sender_accounts": []}, format="json")
    assert patched.status_code == 200
    assert patched.json()["status"] == "draft" and patched.json()["sender_accounts"] == []

    assert alice.client.delete(f"{URL}{campaign_id}/").status_code == 204
    assert not Campaign.objects.filter(pk=campaign_id).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "system:webhooks"}, "name"),
        ({"name": "x", "priority": 3}, "priority"),
        ({"name": "x", "status": "running"}, "status"),
        ({"name": "x", "sender_accounts": [999999]}, "sender_accounts"),
        ({"name": "x", "sender_accounts": ["abc"]}, "sender_accounts[0]"),
        ({"name": "x", "settings": [1, 2]}, "settings"),
        ({"name": "x", "timezone": "Nowhere"}, "timezone"),
        ({"name": "x", "schedule_end": "noon"}, "schedule_end"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(alice, body, field):
    response = alice.client.post(URL, body, format="json")
    assert response.status_code == 400
    assert field in error(response)["details"], error(response)


def test_starting_a_campaign_job_runs_through_the_control_plane(alice):
    campaign_id = alice.client.post(URL, {"name": "Go"}, format="json").json()["id"]
    empty = alice.client.post(f"{URL}{campaign_id}/jobs/", {}, format="json")
    assert empty.status_code == 400 and "leads" in error(empty)["details"]

    lead_import_rows(
        campaign=Campaign.objects.get(pk=campaign_id),
        rows=[{"url": "https://s.test/in/a"}, {"url": "https://s.test/in/b"}],
    )
    response = alice.client.post(f"{URL}{campaign_id}/jobs/", {"priority": 10}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["campaign"] == campaign_id and body["status"] == "running" and body["priority"] == 10
    assert body["progress"]["done"] == 0 and body["progress"]["total"] >= 1
    # The campaign's steps carry its leads (reachly.campaigns.jobs decides the graph).
    lead_ids = list(Campaign.objects.get(pk=campaign_id).leads.order_by("id").values_list("id", flat=True))
    first = Step.objects.filter(job_id=body["id"]).order_by("id").first()
    assert first.input["leads"] == lead_ids and first.input["campaign"] == campaign_id

    bad = alice.client.post(f"{URL}{campaign_id}/jobs/", {"priority": 2}, format="json")
    assert bad.status_code == 400 and "priority" in error(bad)["details"]


def test_a_campaign_with_running_jobs_is_not_deleted(alice):
    campaign_id = alice.client.post(URL, {"name": "Busy"}, format="json").json()["id"]
    lead_import_rows(campaign=Campaign.objects.get(pk=campaign_id), rows=[{"url": "https://s.test/in/a"}])
    assert alice.client.post(f"{URL}{campaign_id}/jobs/", {}, format="json").status_code == 201
    response = alice.client.delete(f"{URL}{campaign_id}/")
    assert response.status_code == 409 and "cancel" in error(response)["message"]
    assert Job.objects.filter(campaign_id=campaign_id).count() == 1


def test_a_plan_without_the_agent_is_a_400_naming_the_step(plans):
    from reachly.tenants.models import Plan
    from tests.api.conftest import _persona

    free = _persona("free-co", "frank")
    free.tenant.plan = Plan.objects.get(code="free")
    free.tenant.save()
    response = free.client.post("/api/v1/jobs/", {"steps": [{"key": "a", "agent": "data_analyst"}]}, format="json")
    assert response.status_code == 400
    assert "not enabled" in error(response)["details"]["steps[0].agent"][0]
