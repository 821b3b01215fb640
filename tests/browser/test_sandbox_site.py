"""The sandbox site module drives the real sandbox in a real Chromium: it
signs in, reads profile states, connects with a note, messages, and
recognises the network's pushback."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.browser.sites import Challenge, LoginFailed, NeedsLogin, ProfileNotFound, ProfileState, TooManyRequests
from agents.browser.sites.sandbox import SandboxSite
from reachly.sandbox import selectors
from reachly.sandbox import services as sandbox
from reachly.sandbox.models import Invitation, Member
from tests.browser.conftest import PASSWORD, sender

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("loopback_egress")]


@pytest.fixture
def site(browser_pool, sandbox_url):
    with browser_pool.session(None) as session:
        yield SandboxSite(session.page, sandbox_url)


def test_it_signs_in_and_reads_a_profile(site, sandbox_url):
    sender("alice")
    bob = sandbox.member_create(handle="bob", name="Bob Baker", title="CTO", company="Globex")
    url = sandbox.profile_url(bob, sandbox_url)

    with pytest.raises(NeedsLogin):
        site.open_profile(url)
    with pytest.raises(LoginFailed):
        site.login("alice", "wrong")
    site.login("alice", PASSWORD)

    profile = site.open_profile(url)
    assert (profile.state, profile.name, profile.title, profile.company) == (
        ProfileState.AVAILABLE,
        "Bob Baker",
        "CTO",
        "Globex",
    )
    with pytest.raises(ProfileNotFound):
        site.open_profile(url + "-nobody")
    # A page of the network that is no profile: the lead's failure (no retry
    # can mend it), not a retryable SiteError.
    with pytest.raises(ProfileNotFound, match="not a profile page") as caught:
        site.open_profile(sandbox_url)
    assert type(caught.value) is ProfileNotFound


def test_it_connects_with_a_note_and_messages_once_accepted(site, sandbox_url):
    sender("alice")
    bob = sandbox.member_create(handle="bob", name="Bob Baker", accept_after_seconds=3600)
    url = sandbox.profile_url(bob, sandbox_url)
    site.login("alice", PASSWORD)

    note = "Hi Bob — ünïcode and a 300-character limit. " * 6
    site.connect_with_note(url, note[:300])
    assert site.open_profile(url).state is ProfileState.PENDING
    assert [i["note"] for i in selectors.invitations(sender="alice")] == [note[:300]]
    assert not site.message_sent(url, "Thanks!")

    Invitation.objects.update(accept_at=timezone.now() - timedelta(seconds=1))
    assert site.open_profile(url).state is ProfileState.CONNECTED
    site.send_message(url, "Thanks for connecting!")
    assert site.message_sent(url, "Thanks for connecting!")
    assert [m["body"] for m in selectors.messages(sender="alice")] == ["Thanks for connecting!"]


def test_it_recognises_a_challenge_and_too_many_requests(site, sandbox_url):
    alice = sender("alice")
    bob = sandbox.member_create(handle="bob", name="Bob Baker")
    url = sandbox.profile_url(bob, sandbox_url)
    site.login("alice", PASSWORD)

    Member.objects.filter(pk=alice.pk).update(challenge_in=1)
    with pytest.raises(Challenge):
        site.open_profile(url)

    Member.objects.filter(pk=alice.pk).update(challenged_until=None, actions_per_hour=0)
    with pytest.raises(TooManyRequests):
        site.open_profile(url)
