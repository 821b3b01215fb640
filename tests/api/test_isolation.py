"""Tenant isolation: Charlie, with his own valid token, reaches none of Alice's objects.

The tests walk the URL configuration itself, so an endpoint added later
without an entry here fails the test instead of going unchecked.
"""

from __future__ import annotations

import json

import pytest
from django.urls import URLPattern, reverse

from reachly.api import urls as api_urls
from reachly.orchestration.models import Job, Step
from reachly.tenants.models import ApiToken
from tests.api.conftest import error
from tests.api.world import build_world

pytestmark = pytest.mark.django_db

# URL name → which of Alice's objects goes in its {id}.
TARGET = {
    "sender-account-detail": "account",
    "campaign-detail": "campaign",
    "campaign-leads-import": "campaign",
    "campaign-leads": "campaign",
    "campaign-jobs": "campaign",
    "job-detail": "job",
    "job-pause": "job",
    "job-resume": "job",
    "job-cancel": "job",
    "job-steps": "job",
    "job-events": "job",
    "job-stream": "job",
    "webhook-detail": "webhook",
    "api-token-detail": "token",
}
# A body that would succeed for Alice, per method (so a 404 is isolation, not validation).
BODIES = {
    "post": {"priority": 5, "steps": [{"key": "x", "agent": "test"}]},
    "patch": {"name": "taken over", "events": ["job.failed"], "daily_invite_cap": 1},
}


def methods_of(pattern: URLPattern) -> list[str]:
    view = pattern.callback
    actions = getattr(view, "actions", None)
    if actions:
        return sorted(m for m in actions if m not in ("head", "options"))
    cls = view.view_class
    return [m for m in ("get", "post", "patch", "put", "delete") if hasattr(cls, m)]


def api_patterns() -> list[URLPattern]:
    return [p for p in api_urls.urlpatterns if isinstance(p, URLPattern)]


def test_every_endpoint_with_an_id_answers_404_to_another_tenant_and_changes_nothing(alice, charlie):
    world = build_world(alice.tenant).ids()
    seen = []
    for pattern in api_patterns():
        if "pk" not in pattern.pattern.regex.groupindex:
            continue
        assert pattern.name in TARGET, f"new endpoint {pattern.name}: add it to TARGET"
        url = reverse(pattern.name, kwargs={"pk": world[TARGET[pattern.name]]})
        for method in methods_of(pattern):
            body = BODIES.get(method)
            response = charlie.client.generic(
                method.upper(), url, json.dumps(body) if body else "", content_type="application/json"
            )
            assert response.status_code == 404, f"{method.upper()} {url}: {response.status_code} {response.content!r}"
            assert error(response)["code"] == "not_found"
            seen.append(f"{method.upper()} {pattern.name}")
    assert len(seen) >= 17, seen

    # Nothing of Alice's moved.
    job = Job.objects.get(pk=world["job"])
    assert job.status == "running" and job.name == ""
    assert Step.objects.filter(job=job).count() == 2
    assert alice.tenant.campaigns.get(pk=world["campaign"]).name == "Spring outreach"
    assert alice.tenant.campaigns.get(pk=world["campaign"]).leads.count() == 1
    assert alice.tenant.sender_accounts.get(pk=world["account"]).daily_invite_cap == 20
    assert alice.tenant.webhook_endpoints.get(pk=world["webhook"]).events == ["job.completed"]
    assert ApiToken.objects.get(pk=world["token"]).revoked_at is None
    assert Job.objects.filter(tenant=alice.tenant).count() == 1


def test_collections_list_only_the_callers_own_objects(alice, charlie):
    alice_world = build_world(alice.tenant)
    charlie_world = build_world(charlie.tenant)
    for pattern in api_patterns():
        if "pk" in pattern.pattern.regex.groupindex or "get" not in methods_of(pattern):
            continue
        response = charlie.client.get(reverse(pattern.name))
        assert response.status_code == 200, pattern.name
        text = response.content.decode()
        assert "alice-co" not in text, pattern.name
        assert f"main@{alice.tenant.slug}" not in text, pattern.name
    # Typed lists, precisely.
    assert [c["id"] for c in charlie.client.get("/api/v1/campaigns/").json()["results"]] == [charlie_world.campaign.pk]
    assert [j["id"] for j in charlie.client.get("/api/v1/jobs/").json()["results"]] == [charlie_world.job.pk]
    assert [a["id"] for a in charlie.client.get("/api/v1/sender-accounts/").json()["results"]] == [
        charlie_world.account.pk
    ]
    assert {w["id"] for w in charlie.client.get("/api/v1/webhooks/").json()["results"]} == {charlie_world.webhook.pk}
    assert alice_world.token.pk not in {t["id"] for t in charlie.client.get("/api/v1/api-tokens/").json()["results"]}


def test_another_tenants_ids_inside_a_body_are_refused_naming_the_field(alice, charlie):
    world = build_world(alice.tenant)
    response = charlie.client.post(
        "/api/v1/campaigns/", {"name": "Mine", "sender_accounts": [world.account.pk]}, format="json"
    )
    assert response.status_code == 400
    assert "sender_accounts" in error(response)["details"]

    response = charlie.client.post(
        "/api/v1/jobs/",
        {"campaign": world.campaign.pk, "steps": [{"key": "a", "agent": "test"}]},
        format="json",
    )
    assert response.status_code == 400
    assert "campaign" in error(response)["details"]

    response = charlie.client.post(
        "/api/v1/jobs/",
        {"steps": [{"key": "a", "agent": "outreach", "sender_account": world.account.pk}]},
        format="json",
    )
    assert response.status_code == 400
    assert "steps[0].sender_account" in error(response)["details"]
    assert not Job.objects.filter(tenant=charlie.tenant).exists()
