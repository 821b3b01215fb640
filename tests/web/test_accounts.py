"""Sender account pages: add and edit, the session state (write-only, never
shown), status (ok / cooling down until … / needs login) and today's usage."""

from __future__ import annotations

import json
from datetime import UTC, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from reachly import limiter
from reachly.campaigns.models import SenderAccount
from reachly.orchestration.graph import StepSpec
from reachly.orchestration.services import job_start
from tests.factories import SenderAccountFactory
from tests.web.conftest import field_errors

pytestmark = pytest.mark.django_db

STATE = {
    "cookies": [{"name": "li_at", "value": "SECRET-COOKIE-VALUE", "domain": ".sandbox.test", "path": "/"}],
    "origins": [],
}
FIELDS = {
    "name": "Ava (sales)",
    "network": "sandbox",
    "login": "ava@example.com",
    "password": "hunter2-secret",
    "timezone": "America/New_York",
    "working_hours_start": "08:00",
    "working_hours_end": "18:00",
    "daily_invite_cap": "15",
    "daily_message_cap": "40",
    "daily_visit_cap": "80",
}


def test_it_adds_an_account_with_a_session_stored_encrypted(alice):
    response = alice.client.post("/sender-accounts/new", {**FIELDS, "text": json.dumps(STATE)})
    account = SenderAccount.objects.get(tenant=alice.tenant)
    assert response.status_code == 302 and response["Location"] == f"/sender-accounts/{account.pk}/"
    assert account.session_state == STATE and account.password == {"password": "hunter2-secret"}
    assert (account.daily_invite_cap, account.timezone) == (15, "America/New_York")
    # Write-only: no page shows the secrets.
    for url in ("/sender-accounts/", f"/sender-accounts/{account.pk}/"):
        html = alice.client.get(url).content.decode()
        assert "SECRET-COOKIE-VALUE" not in html and "hunter2-secret" not in html


def test_a_session_is_optional_when_adding_an_account(alice):
    response = alice.client.post("/sender-accounts/new", FIELDS)
    assert response.status_code == 302
    assert SenderAccount.objects.get(tenant=alice.tenant).session_state is None


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"login": ""}, "login", "This field is required."),
        ({"network": "not a slug!"}, "network", "Enter a valid"),
        ({"timezone": "Atlantis/Capital"}, "timezone", "Select a valid choice."),
        ({"daily_invite_cap": "-1"}, "daily_invite_cap", "greater than or equal to 0"),
        ({"working_hours_end": "08:00"}, "working_hours_end", "must not start and end at the same time"),
        ({"text": "{not json"}, "text", "Not valid JSON"),
        ({"text": "[1, 2]"}, "text", "Expected a JSON object"),
        ({"text": '{"cookies": [{"value": "x"}]}'}, "text", "cookies[0] must be an object with a name and a value"),
        ({"text": '{"cookies": [], "origins": []}'}, "text", "The storage state is empty"),
    ],
)
def test_bad_input_is_shown_next_to_its_field(alice, changes, field, message):
    response = alice.client.post("/sender-accounts/new", {**FIELDS, **changes})
    assert response.status_code == 400
    assert message in field_errors(response, field)
    assert not SenderAccount.objects.filter(tenant=alice.tenant).exists()


def test_a_login_already_used_in_the_tenant_is_refused_on_the_login_field(alice):
    SenderAccountFactory(tenant=alice.tenant, login="ava@example.com")
    response = alice.client.post("/sender-accounts/new", FIELDS)
    assert response.status_code == 400
    assert "already has an account" in field_errors(response, "login")


def test_editing_keeps_the_stored_password_when_the_field_is_left_empty(alice):
    alice.client.post("/sender-accounts/new", FIELDS)
    account = SenderAccount.objects.get(tenant=alice.tenant)
    response = alice.client.post(
        f"/sender-accounts/{account.pk}/", {**FIELDS, "password": "", "name": "Ava", "daily_visit_cap": "5"}
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.name, account.daily_visit_cap) == ("Ava", 5)
    assert account.password == {"password": "hunter2-secret"}


def test_uploading_a_session_file_signs_a_needs_login_account_back_in(alice):
    account = SenderAccountFactory(tenant=alice.tenant, status="needs_login", status_reason="session expired")
    page = alice.client.get(f"/sender-accounts/{account.pk}/").content.decode()
    assert 'data-status="needs_login"' in page and "needs to sign in again" in page
    upload = SimpleUploadedFile("state.json", json.dumps(STATE).encode(), content_type="application/json")
    response = alice.client.post(f"/sender-accounts/{account.pk}/session", {"file": upload})
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.status == "active" and account.session_state == STATE and account.session_updated_at
    # Forget it again.
    alice.client.post(f"/sender-accounts/{account.pk}/session/clear")
    account.refresh_from_db()
    assert account.session_state is None and account.session_updated_at is None


def test_a_session_upload_without_a_file_or_text_says_what_is_missing(alice):
    account = SenderAccountFactory(tenant=alice.tenant)
    response = alice.client.post(f"/sender-accounts/{account.pk}/session", {})
    assert response.status_code == 400
    assert "Choose the storage state file" in field_errors(response, "file")


def test_the_list_shows_status_and_todays_usage_against_each_cap(alice):
    ok = SenderAccountFactory(tenant=alice.tenant, name="Ok", daily_invite_cap=20, timezone="Europe/Berlin")
    cooling = SenderAccountFactory(
        tenant=alice.tenant,
        name="Cooling",
        status="cooling_down",
        cooling_down_until=timezone.now() + timedelta(hours=2),
        timezone="UTC",
    )
    over = SenderAccountFactory(
        tenant=alice.tenant,
        name="Over",
        status="cooling_down",
        cooling_down_until=timezone.now() - timedelta(minutes=5),
    )
    # Three invitations today, counted by the limiter in the account's time zone.
    for _ in range(3):
        assert limiter.acquire([limiter.calendar_day(f"account:{ok.pk}:invite", 20, "Europe/Berlin")]).allowed
    html = alice.client.get("/sender-accounts/").content.decode()
    section = html[html.index(f'data-account="{ok.pk}"') :]
    assert "3 / 20" in section[: section.index("</section>")]
    until = cooling.cooling_down_until.astimezone(UTC)  # the account's time zone
    assert f"Cooling down until {until:%-d %b, %H:%M}" in html
    # A cool-down that has run out is OK again.
    section = html[html.index(f'data-account="{over.pk}"') :]
    assert 'data-status="ok"' in section[: section.index("</section>")]


def test_pausing_and_resuming_an_account(alice):
    account = SenderAccountFactory(tenant=alice.tenant)
    alice.client.post(f"/sender-accounts/{account.pk}/status", {"status": "paused"})
    assert SenderAccount.objects.get(pk=account.pk).status == "paused"
    alice.client.post(f"/sender-accounts/{account.pk}/status", {"status": "active"})
    assert SenderAccount.objects.get(pk=account.pk).status == "active"


def test_an_account_in_use_is_not_deleted_and_the_page_says_why(alice):
    account = SenderAccountFactory(tenant=alice.tenant)
    job_start(tenant=alice.tenant, steps=[StepSpec("x", "test", sender_account_id=account.pk)])
    response = alice.client.post(f"/sender-accounts/{account.pk}/delete")
    assert response.status_code == 409
    assert b"unfinished steps use this account" in response.content
    assert SenderAccount.objects.filter(pk=account.pk).exists()
    free = SenderAccountFactory(tenant=alice.tenant)
    assert alice.client.post(f"/sender-accounts/{free.pk}/delete").status_code == 302
    assert not SenderAccount.objects.filter(pk=free.pk).exists()


def test_errors_in_the_account_and_in_its_session_show_together(alice):
    response = alice.client.post("/sender-accounts/new", {**FIELDS, "login": "", "text": "{nope"})
    assert "This field is required." in field_errors(response, "login")
    assert "Not valid JSON" in field_errors(response, "text")
    # Without a session, the session part shows no error at all.
    response = alice.client.post("/sender-accounts/new", {**FIELDS, "login": ""})
    assert field_errors(response, "file") == "" and field_errors(response, "text") == ""
