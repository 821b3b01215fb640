"""Jobs: ad-hoc graphs, progress, control (409 on illegal transitions), steps, event replay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from reachly.campaigns.services import campaign_create
from reachly.orchestration import lifecycle
from reachly.orchestration.graph import StepSpec
from reachly.orchestration.models import Job, Step
from reachly.orchestration.services import job_start
from tests.api.conftest import error

pytestmark = pytest.mark.django_db

URL = "/api/v1/jobs/"


def test_it_starts_an_ad_hoc_job_from_a_step_graph(alice):
    response = alice.client.post(
        URL,
        {
            "name": "research then write",
            "priority": 10,
            "steps": [
                {"key": "research", "agent": "test", "input": {"items": 2}},
                {"key": "write", "agent": "test", "depends_on": ["research"], "priority": 1, "max_attempts": 2},
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["priority"], body["status"], body["system"]) == (
        "research then write",
        10,
        "running",
        False,
    )
    steps = {s.key: s for s in Step.objects.filter(job_id=body["id"])}
    assert steps["research"].status == "ready" and steps["research"].input == {"items": 2}
    assert steps["write"].status == "blocked" and steps["write"].priority == 1 and steps["write"].max_attempts == 2
    assert Job.objects.get(pk=body["id"]).tenant == alice.tenant


@pytest.mark.parametrize(
    ("steps", "field"),
    [
        ([], "steps"),
        ([{"agent": "test"}], "steps[0].key"),
        ([{"key": "a"}], "steps[0].agent"),
        ([{"key": "a", "agent": "astrologer"}], "steps[0].agent"),
        ([{"key": "a", "agent": "test"}, {"key": "a", "agent": "test"}], "steps[1].key"),
        ([{"key": "bad key!", "agent": "test"}], "steps[0].key"),
        ([{"key": "a", "agent": "test", "depends_on": ["ghost"]}], "steps[0].depends_on"),
        (
            [{"key": "a", "agent": "test", "depends_on": ["b"]}, {"key": "b", "agent": "test", "depends_on": ["a"]}],
            "steps[0].depends_on",
        ),
        ([{"key": "a", "agent": "test", "priority": 3}], "steps[0].priority"),
        ([{"key": "a", "agent": "test", "input": "text"}], "steps[0].input"),
        ([{"key": "a", "agent": "outreach"}], "steps[0].sender_account"),
        ([{"key": "a", "agent": "test", "max_attempts": 0}], "steps[0].max_attempts"),
    ],
)
def test_an_invalid_graph_is_a_400_naming_the_step_field(alice, steps, field):
    response = alice.client.post(URL, {"steps": steps}, format="json")
    assert response.status_code == 400
    assert field in error(response)["details"], error(response)
    assert not Job.objects.exists()


def test_other_bad_input_is_named_too(alice):
    for body, field in [
        ({"steps": [{"key": "a", "agent": "test"}], "priority": 7}, "priority"),
        ({"steps": [{"key": "a", "agent": "test"}], "name": "system:webhooks"}, "name"),
        ({"steps": "a,b"}, "steps"),
        ({}, "steps"),
    ]:
        response = alice.client.post(URL, body, format="json")
        assert response.status_code == 400
        assert field in error(response)["details"], (body, error(response))
    malformed = alice.client.generic("POST", URL, "{not json", content_type="application/json")
    assert malformed.status_code == 400 and error(malformed)["code"] == "parse_error"


def test_progress_counts_total_done_failed_and_percent(alice):
    job = job_start(tenant=alice.tenant, steps=[StepSpec(f"s{i}", "test") for i in range(4)])
    Job.objects.filter(pk=job.pk).update(succeeded_steps=3, failed_steps=1)
    body = alice.client.get(f"{URL}{job.pk}/").json()
    assert body["progress"] == {"total": 4, "done": 3, "failed": 1, "cancelled": 0, "percent": 75.0}


def test_pause_resume_cancel_and_409_for_an_illegal_transition(alice):
    job = job_start(tenant=alice.tenant, steps=[StepSpec("a", "test"), StepSpec("b", "test")])
    paused = alice.client.post(f"{URL}{job.pk}/pause")
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    assert set(Step.objects.filter(job=job).values_list("status", flat=True)) == {"paused"}
    again = alice.client.post(f"{URL}{job.pk}/pause")
    assert again.status_code == 409

    assert alice.client.post(f"{URL}{job.pk}/resume").json()["status"] == "running"
    cancelled = alice.client.post(f"{URL}{job.pk}/cancel")
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["progress"]["cancelled"] == 2

    response = alice.client.post(f"{URL}{job.pk}/resume")
    assert response.status_code == 409
    err = error(response)
    assert err == {
        "code": "illegal_transition",
        "message": "cannot resume a job that is cancelled",
        "details": {"action": "resume", "status": "cancelled"},
    }
    assert alice.client.get(f"{URL}{job.pk}/pause").status_code == 405


def test_job_lists_filter_by_status_campaign_created_range_and_system(alice):
    campaign = campaign_create(tenant=alice.tenant, name="C")
    in_campaign = job_start(tenant=alice.tenant, campaign=campaign, steps=[StepSpec("a", "test")])
    ad_hoc = job_start(tenant=alice.tenant, steps=[StepSpec("a", "test")])
    delivery = job_start(tenant=alice.tenant, steps=[StepSpec("a", "test")], name="system:webhooks")
    alice.client.post(f"{URL}{ad_hoc.pk}/cancel")
    Job.objects.filter(pk=in_campaign.pk).update(created_at=timezone.now() - timedelta(days=3))

    def ids(query: str) -> list[int]:
        response = alice.client.get(f"{URL}?{query}")
        assert response.status_code == 200, response.content
        return [j["id"] for j in response.json()["results"]]

    assert ids("") == [delivery.pk, ad_hoc.pk, in_campaign.pk]
    assert ids("status=cancelled") == [ad_hoc.pk]
    assert ids(f"campaign={campaign.pk}") == [in_campaign.pk]
    since = (timezone.now() - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert ids(f"created_after={since}") == [delivery.pk, ad_hoc.pk]
    assert ids(f"created_before={since}") == [in_campaign.pk]
    assert ids("system=true") == [delivery.pk]
    assert ids("system=false") == [ad_hoc.pk, in_campaign.pk]
    for query, field in [
        ("status=exploded", "status"),
        ("campaign=x", "campaign"),
        ("campaign=1" + "0" * 30, "campaign"),
    ]:
        response = alice.client.get(f"{URL}?{query}")
        assert response.status_code == 400 and field in error(response)["details"], query
    page = alice.client.get(f"{URL}?page_size=1").json()
    assert len(page["results"]) == 1 and page["next"]
    assert alice.client.get(page["next"]).json()["results"][0]["id"] == ad_hoc.pk
    forged = alice.client.get(f"{URL}?cursor=cD05OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5")
    assert forged.status_code == 400 and "cursor" in error(forged)["details"]


def test_steps_are_listed_with_filters_and_without_tracebacks(alice):
    job = job_start(tenant=alice.tenant, steps=[StepSpec("a", "test"), StepSpec("b", "copywriter")])
    Step.objects.filter(job=job, key="b").update(
        status="failed", error={"type": "Boom", "message": "it broke", "retryable": True, "trace": "File x.py"}
    )
    steps = {s["key"]: s for s in alice.client.get(f"{URL}{job.pk}/steps/").json()["results"]}
    assert set(steps) == {"a", "b"}
    assert steps["b"]["error"] == {"type": "Boom", "message": "it broke", "retryable": True}
    failed = alice.client.get(f"{URL}{job.pk}/steps/?status=failed").json()["results"]
    assert [s["key"] for s in failed] == ["b"]
    assert [s["key"] for s in alice.client.get(f"{URL}{job.pk}/steps/?agent=test").json()["results"]] == ["a"]
    bad = alice.client.get(f"{URL}{job.pk}/steps/?agent=wizard")
    assert bad.status_code == 400 and "agent" in error(bad)["details"]


def test_events_replay_after_a_sequence_number(alice):
    job = job_start(tenant=alice.tenant, steps=[StepSpec("a", "test")])
    Step.objects.filter(job=job).update(status="enqueued")
    claimed = lifecycle.claim(Step.objects.get(job=job).pk, "w1", timezone.now())
    lifecycle.succeed(claimed.id, claimed.fencing_token, {"ok": True})

    events = alice.client.get(f"{URL}{job.pk}/events/").json()["results"]
    assert [e["seq"] for e in events] == [1, 2, 3, 4]
    assert [e["type"] for e in events] == ["job.status", "step.status", "step.status", "job.status"]
    assert events[-1]["data"]["status"] == "succeeded"
    after = alice.client.get(f"{URL}{job.pk}/events/?after=2").json()["results"]
    assert [e["seq"] for e in after] == [3, 4]
    typed = alice.client.get(f"{URL}{job.pk}/events/?type=job.status").json()["results"]
    assert [e["seq"] for e in typed] == [1, 4]
    bad = alice.client.get(f"{URL}{job.pk}/events/?after=-1")
    assert bad.status_code == 400 and "after" in error(bad)["details"]


def test_a_job_bigger_than_the_plan_allows_this_month_is_a_400_naming_the_limit(alice, settings):
    """Issue 11: a Free tenant (1,000 steps a month) created a 70,000-step job (201 after 33 s)."""
    from reachly.tenants.models import Plan

    alice.tenant.plan = Plan.objects.get(code="free")
    alice.tenant.save()
    steps = [{"key": f"s{i}", "agent": "copywriter", "input": {}} for i in range(1_001)]
    response = alice.client.post(URL, {"name": "too big", "steps": steps}, format="json")
    assert response.status_code == 400
    assert "1,000 steps a month" in error(response)["details"]["steps"][0]
    assert not Job.objects.filter(tenant=alice.tenant).exists()
    # Steps already waiting count against the month too.
    job_start(tenant=alice.tenant, steps=[StepSpec(f"w{i}", "copywriter") for i in range(990)])
    response = alice.client.post(URL, {"name": "a bit", "steps": steps[:11]}, format="json")
    assert response.status_code == 400 and "10 more fit" in error(response)["details"]["steps"][0]
    settings.REACHLY_TENANT_PENDING_STEPS_MAX = 995
    response = alice.client.post(URL, {"name": "wait cap", "steps": steps[:6]}, format="json")
    assert response.status_code == 400 and "at most 995 may wait" in error(response)["details"]["steps"][0]
