"""The sandbox network behaves like a professional network, trouble included,
and keeps its own record of what it received."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.urls import clear_url_caches, reverse
from django.utils import timezone

from reachly.sandbox import selectors, services
from reachly.sandbox.models import Incident, Invitation, Member
from reachly.sandbox.views import COOKIE

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice() -> Member:
    return services.member_create(handle="alice", name="Alice Archer", password="alice-pass", title="CTO")


@pytest.fixture
def bob() -> Member:
    return services.member_create(handle="bob", name="Bob Baker", title="VP Engineering", company="Globex")


def _sign_in(client, username="alice", password="alice-pass"):
    return client.post(reverse("sandbox:login"), {"username": username, "password": password})


def _csrf(client) -> str:
    from django.utils.crypto import salted_hmac

    return salted_hmac("reachly.sandbox.csrf", client.cookies[COOKIE].value).hexdigest()


def test_it_sends_strangers_to_the_login_page(client, bob):
    response = client.get(reverse("sandbox:profile", args=["bob"]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("sandbox:login") + "?next=")


def test_it_signs_in_with_a_session_cookie_and_records_the_login(client, alice, bob):
    assert _sign_in(client, password="wrong").status_code == 401
    response = _sign_in(client, username="alice@sandbox.test")
    assert response.status_code == 302
    assert client.cookies[COOKIE]["path"] == reverse("sandbox:home")
    assert client.get(reverse("sandbox:profile", args=["bob"])).status_code == 200
    assert selectors.login_count("alice") == 1


def test_a_profile_goes_from_connect_to_pending_to_connected_after_the_delay(client, alice, bob):
    _sign_in(client)
    page = client.get(reverse("sandbox:profile", args=["bob"])).content.decode()
    assert 'id="connect"' in page and "Bob Baker" in page and "Globex" in page

    response = client.post(
        reverse("sandbox:connect", args=["bob"]), {"note": "Hi Bob!", "csrf": _csrf(client)}, follow=True
    )
    assert 'id="pending"' in response.content.decode()

    Invitation.objects.update(accept_at=timezone.now() - timedelta(seconds=1))
    page = client.get(reverse("sandbox:profile", args=["bob"])).content.decode()
    assert 'id="message"' in page
    assert [(i["recipient"], i["note"], i["accepted"]) for i in selectors.invitations(sender="alice")] == [
        ("bob", "Hi Bob!", True)
    ]


def test_a_note_longer_than_300_characters_is_refused(client, alice, bob):
    _sign_in(client)
    response = client.post(reverse("sandbox:connect", args=["bob"]), {"note": "x" * 301, "csrf": _csrf(client)})
    assert response.status_code == 400
    assert "too long" in response.content.decode()
    assert not Invitation.objects.exists()


def test_a_form_without_the_session_token_is_refused(client, alice, bob):
    _sign_in(client)
    response = client.post(reverse("sandbox:connect", args=["bob"]), {"note": "hi"})
    assert response.status_code == 403
    assert not Invitation.objects.exists()


def test_a_repeated_invitation_is_recorded_as_a_duplicate(client, alice, bob):
    _sign_in(client)
    for _ in range(2):
        client.post(reverse("sandbox:connect", args=["bob"]), {"note": "Hi", "csrf": _csrf(client)})
    assert [i["duplicate"] for i in selectors.invitations()] == [False, True]


def test_messages_reach_connections_only(client, alice, bob):
    _sign_in(client)
    url = reverse("sandbox:messages", args=["bob"])
    assert client.post(url, {"body": "Hello", "csrf": _csrf(client)}).status_code == 403

    services.invitation_send(alice, bob, "")
    Invitation.objects.update(accept_at=timezone.now())
    response = client.post(url, {"body": "Hello Bob", "csrf": _csrf(client)}, follow=True)
    assert 'class="message mine"' in response.content.decode()
    assert selectors.messages(sender="alice") == [{"sender": "alice", "recipient": "bob", "body": "Hello Bob"}]


def test_a_member_who_never_accepts_stays_pending(client, alice):
    services.member_create(handle="carol", name="Carol", accepts_invitations=False)
    _sign_in(client)
    client.post(reverse("sandbox:connect", args=["carol"]), {"note": "", "csrf": _csrf(client)})
    assert services.state(alice, Member.objects.get(handle="carol")) == services.State.PENDING


def test_a_forced_challenge_shows_on_the_nth_request_and_lasts_its_time(client, alice, bob, settings):
    settings.REACHLY_SANDBOX_CHALLENGE_SECONDS = 60
    Member.objects.filter(pk=alice.pk).update(challenge_in=2)
    _sign_in(client)
    url = reverse("sandbox:profile", args=["bob"])
    assert client.get(url).status_code == 200
    second = client.get(url)
    assert second.status_code == 403 and 'id="challenge"' in second.content.decode()
    assert client.get(url).status_code == 403  # still challenged

    Member.objects.filter(pk=alice.pk).update(challenged_until=timezone.now())
    assert client.get(url).status_code == 200
    assert Incident.objects.filter(kind="challenge").count() == 2


def test_too_many_actions_in_an_hour_get_a_too_many_requests_page(client, alice, bob):
    Member.objects.filter(pk=alice.pk).update(actions_per_hour=3)
    _sign_in(client)
    url = reverse("sandbox:profile", args=["bob"])
    assert [client.get(url).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert 'id="too-many-requests"' in client.get(url).content.decode()


def test_members_seed_makes_deterministic_profiles_with_profile_urls(settings):
    settings.REACHLY_SANDBOX_URL = "http://sandbox.example:8000/sandbox/"
    first = services.members_seed(3, prefix="lead")
    again = services.members_seed(3, prefix="lead")
    assert [m.pk for m in first] == [m.pk for m in again]
    assert services.profile_url(first[0]) == "http://sandbox.example:8000/sandbox/in/lead-1"
    assert len({m.name for m in first}) == 3


def test_the_sandbox_is_not_served_when_disabled(client, settings):
    import reachly.urls

    settings.REACHLY_SANDBOX_ENABLED = False
    try:
        importlib.reload(reachly.urls)
        clear_url_caches()
        assert client.get("/sandbox/login").status_code == 404
    finally:
        settings.REACHLY_SANDBOX_ENABLED = True
        importlib.reload(reachly.urls)
        clear_url_caches()
