"""API tokens: created (the key shown once), listed by prefix, revoked."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from reachly.tenants.models import ApiToken
from tests.api.conftest import error

pytestmark = pytest.mark.django_db

URL = "/api/v1/api-tokens/"


def test_a_new_token_works_at_once_and_its_key_is_never_shown_again(alice):
    created = alice.client.post(URL, {"name": "CI"}, format="json")
    assert created.status_code == 201
    body = created.json()
    key = body["key"]
    assert key.startswith(f"rly_{body['prefix']}_") and body["active"] is True

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/usage/").status_code == 200
    listed = alice.client.get(URL)
    assert key not in listed.content.decode()
    assert {t["name"] for t in listed.json()["results"]} == {"CI", "alice's token"}
    stored = ApiToken.objects.get(pk=body["id"])
    assert key not in (stored.key_hash, stored.prefix) and stored.tenant == alice.tenant

    assert alice.client.delete(f"{URL}{body['id']}/").status_code == 204
    assert client.get("/api/v1/usage/").status_code == 401
    shown = alice.client.get(f"{URL}{body['id']}/").json()
    assert shown["active"] is False and shown["revoked_at"]


def test_a_token_needs_a_name(alice):
    response = alice.client.post(URL, {}, format="json")
    assert response.status_code == 400 and "name" in error(response)["details"]


def test_the_management_command_prints_a_working_key(alice, capsys):
    call_command("create_api_token", "alice-co", "--name", "cli")
    key = capsys.readouterr().out.strip()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/agents/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("name", [0, 12.5, True, ["x"]])
def test_a_name_that_is_not_text_is_a_400_not_a_silent_conversion(alice, name):
    """Issue 11: `{"name": 0}` created a token named "0"."""
    response = alice.client.post(URL, {"name": name}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()["error"]["details"]
