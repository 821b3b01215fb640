"""Webhook endpoints: register (the secret shown once), list, change, delete."""

from __future__ import annotations

import pytest

from reachly.webhooks.models import WebhookEndpoint
from tests.api.conftest import error

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhooks/"


def test_it_registers_an_endpoint_and_shows_the_secret_only_once(alice):
    created = alice.client.post(
        URL,
        {"url": "https://hooks.example.com/reachly", "events": ["job.failed", "job.completed"], "description": "CRM"},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    secret = body["secret"]
    assert secret.startswith("whsec_") and len(secret) > 30
    assert body["events"] == ["job.completed", "job.failed"] and body["active"] is True

    endpoint = WebhookEndpoint.objects.get(pk=body["id"])
    assert endpoint.tenant == alice.tenant and endpoint.secret == {"secret": secret}
    for response in (alice.client.get(URL), alice.client.get(f"{URL}{body['id']}/")):
        assert response.status_code == 200
        assert secret not in response.content.decode() and "secret" not in response.content.decode()


def test_it_changes_and_deletes_an_endpoint(alice):
    endpoint_id = alice.client.post(
        URL, {"url": "https://hooks.example.com/a", "events": ["job.completed"]}, format="json"
    ).json()["id"]
    patched = alice.client.patch(
        f"{URL}{endpoint_id}/", {"events": ["lead.status_changed", "step.failed"], "active": False}, format="json"
    )
    assert patched.status_code == 200
    assert patched.json()["events"] == ["lead.status_changed", "step.failed"] and patched.json()["active"] is False
    assert alice.client.delete(f"{URL}{endpoint_id}/").status_code == 204
    assert not WebhookEndpoint.objects.filter(pk=endpoint_id).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": ["job.completed"]}, "url"),
        ({"url": "https://hooks.example.com/a"}, "events"),
        ({"url": "https://hooks.example.com/a", "events": []}, "events"),
        ({"url": "https://hooks.example.com/a", "events": ["job.exploded"]}, "events[0]"),
        ({"url": "ftp://hooks.example.com/a", "events": ["job.completed"]}, "url"),
        ({"url": "https://user:pw@hooks.example.com/a", "events": ["job.completed"]}, "url"),
        ({"url": "hooks.example.com", "events": ["job.completed"]}, "url"),
        ({"url": "http://127.0.0.1:8000/hook", "events": ["job.completed"]}, "url"),
        ({"url": "http://localhost/hook", "events": ["job.completed"]}, "url"),
        ({"url": "http://10.1.2.3/hook", "events": ["job.completed"]}, "url"),
        ({"url": "http://169.254.169.254/latest/meta-data", "events": ["job.completed"]}, "url"),
        ({"url": "http://[::1]/hook", "events": ["job.completed"]}, "url"),
    ],
)
def test_bad_or_private_urls_and_unknown_events_are_a_400_naming_the_field(alice, body, field):
    response = alice.client.post(URL, body, format="json")
    assert response.status_code == 400
    assert field in error(response)["details"], error(response)
    assert not WebhookEndpoint.objects.exists()


def test_private_urls_are_accepted_when_the_setting_allows_them(alice, settings):
    settings.REACHLY_EGRESS_ALLOW = ["127.0.0.0/8"]
    response = alice.client.post(URL, {"url": "http://127.0.0.1:8000/hook", "events": ["job.failed"]}, format="json")
    assert response.status_code == 201
