"""Sender accounts: CRUD; the password and session state are write-only."""

from __future__ import annotations

import pytest
from django.db import connection

from reachly.campaigns.models import SenderAccount
from reachly.orchestration.graph import StepSpec
from reachly.orchestration.services import job_start
from tests.api.conftest import error

pytestmark = pytest.mark.django_db

URL = "/api/v1/sender-accounts/"


def test_it_creates_lists_shows_updates_and_deletes_an_account(alice):
    created = alice.client.post(
        URL,
        {
            "name": "Ada's account",
            "login": "ada@example.com",
            "password": "hunter2-very-secret",
            "session_state": {"cookies": [{"name": "li_at", "value": "cookie-secret", "domain": ".sandbox.test"}]},
            "timezone": "Europe/Paris",
            "working_hours_start": "09:00",
            "working_hours_end": "18:00",
            "daily_invite_cap": 15,
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert "password" not in body and "session_state" not in body
    assert body["has_session"] is True
    assert (body["timezone"], body["working_hours_start"], body["daily_invite_cap"]) == ("Europe/Paris", "09:00:00", 15)
    account_id = body["id"]

    listed = alice.client.get(URL).json()["results"]
    assert [a["id"] for a in listed] == [account_id]
    shown = alice.client.get(f"{URL}{account_id}/")
    assert shown.status_code == 200
    assert "hunter2" not in shown.content.decode() and "cookie-secret" not in shown.content.decode()

    patched = alice.client.patch(f"{URL}{account_id}/", {"daily_invite_cap": 5, "status": "paused"}, format="json")
    assert patched.status_code == 200, patched.content
    assert patched.json()["daily_invite_cap"] == 5 and patched.json()["status"] == "paused"
    resumed = alice.client.patch(f"{URL}{account_id}/", {"status": "active"}, format="json")
    assert resumed.json()["status"] == "active"

    assert alice.client.delete(f"{URL}{account_id}/").status_code == 204
    assert not SenderAccount.objects.filter(pk=account_id).exists()


def test_secrets_are_encrypted_at_rest_and_replaceable(alice):
    account_id = alice.client.post(
        URL, {"name": "A", "login": "a@example.com", "password": "plain-password-123"}, format="json"
    ).json()["id"]
    with connection.cursor() as cur:
        cur.execute("SELECT password FROM campaigns_senderaccount WHERE id = %s", [account_id])
        raw = bytes(cur.fetchone()[0])
    assert b"plain-password-123" not in raw
    assert SenderAccount.objects.get(pk=account_id).password == {"password": "plain-password-123"}

    alice.client.patch(f"{URL}{account_id}/", {"password": "new-one", "session_state": None}, format="json")
    account = SenderAccount.objects.get(pk=account_id)
    assert account.password == {"password": "new-one"} and account.session_state is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"login": "x"}, "name"),
        ({"name": "x"}, "login"),
        ({"name": "x", "login": "x", "timezone": "Mars/Olympus"}, "timezone"),
        ({"name": "x", "login": "x", "daily_invite_cap": -1}, "daily_invite_cap"),
        ({"name": "x", "login": "x", "daily_visit_cap": 2**40}, "daily_visit_cap"),
        ({"name": "x", "login": "x", "working_hours_start": "25:00"}, "working_hours_start"),
        ({"name": "x", "login": "x", "session_state": ["not", "an", "object"]}, "session_state"),
        ({"name": "x", "login": "x", "session_state": {"k": "nul\u0000"}}, "session_state"),
        # Issue 11: any object was accepted, and any network; the step then
        # failed "retryable" at run time and the account stayed active.
        ({"name": "x", "login": "x", "session_state": {"anything": True}}, "session_state"),
        ({"name": "x", "login": "x", "session_state": {"cookies": [{"name": "a", "value": "b"}]}}, "session_state"),
        ({"name": "x", "login": "x", "network": "myspace"}, "network"),
        ({"name": "x", "login": "x", "status": "cooling_down"}, "status"),
        ({"name": "x" * 129, "login": "x"}, "name"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(alice, body, field):
    response = alice.client.post(URL, body, format="json")
    assert response.status_code == 400
    assert field in error(response)["details"], error(response)


def test_a_second_account_with_the_same_login_is_refused(alice):
    body = {"name": "A", "login": "same@example.com"}
    assert alice.client.post(URL, body, format="json").status_code == 201
    response = alice.client.post(URL, body, format="json")
    assert response.status_code == 400
    assert "login" in error(response)["details"]


def test_an_account_with_unfinished_steps_cannot_be_deleted(alice):
    account_id = alice.client.post(URL, {"name": "A", "login": "a@example.com"}, format="json").json()["id"]
    job_start(tenant=alice.tenant, steps=[StepSpec("s", "test", sender_account_id=account_id)])
    response = alice.client.delete(f"{URL}{account_id}/")
    assert response.status_code == 409
    assert error(response)["code"] == "conflict"
    assert SenderAccount.objects.filter(pk=account_id).exists()
