"""The sandbox network's behaviour: members, sign-in, invitations, messages,
and the trouble a real network gives automated clients.

    member_create(handle=..., name=..., password=...)   one member
    members_seed(count, prefix=...)                     deterministic fake profiles
    session_start / session_member / session_end        the `sbx_session` cookie
    gate(member, path, action)                          slow pages, challenges, too many requests
    invitation_send / message_send                      what the network records

Settings (REACHLY_SANDBOX_*) set the site-wide defaults; per-member fields
(`challenge_in`, `actions_per_hour`, `accept_after_seconds`, ...) make one
member's behaviour deterministic for a test or a demo.
"""

from __future__ import annotations

import random
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from reachly.sandbox.models import Action, Incident, Invitation, Login, Member, Message, Session

NOTE_LIMIT = 300
MESSAGE_LIMIT = 2000


class State(StrEnum):
    """A profile as one member sees another."""

    SELF = "self"
    CONNECTED = "connected"
    PENDING = "pending"
    AVAILABLE = "available"


class Refused(Exception):
    """The site refuses the request (shown as a 4xx page)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


# ---------------------------------------------------------------------------
# Members
# ---------------------------------------------------------------------------


def member_create(
    *,
    handle: str,
    name: str,
    password: str | None = None,
    email: str = "",
    title: str = "",
    company: str = "",
    location: str = "",
    about: str = "",
    **knobs,
) -> Member:
    """Create (or update) a member; `knobs` are the test/demo fields."""
    member, _ = Member.objects.update_or_create(
        handle=handle,
        defaults={
            "email": email or f"{handle}@sandbox.test",
            "password": make_password(password) if password else "",
            "name": name,
            "title": title,
            "company": company,
            "location": location,
            "about": about,
            **knobs,
        },
    )
    return member


_FIRST = ["Ada", "Grace", "Linus", "Margaret", "Alan", "Barbara", "Ken", "Frances", "Dennis", "Radia",
          "Edsger", "Hedy", "Tim", "Katherine", "Guido", "Sophie", "Donald", "Annie", "John", "Karen"]  # fmt: skip
_LAST = ["Lovelace", "Hopper", "Torvalds", "Hamilton", "Turing", "Liskov", "Thompson", "Allen", "Ritchie",
         "Perlman", "Dijkstra", "Lamarr", "Berners-Lee", "Johnson", "van Rossum", "Wilson", "Knuth", "Easley",
         "Backus", "Jones"]  # fmt: skip
_TITLES = ["VP Engineering", "CTO", "Head of Growth", "Engineering Manager", "Head of Sales",
           "Director of Marketing", "Staff Engineer", "Product Lead", "COO", "Founder"]  # fmt: skip
_COMPANIES = ["Acme Analytics", "Globex Cloud", "Initech Labs", "Umbrella Data", "Hooli", "Stark Software",
              "Wayne Systems", "Tyrell AI", "Cyberdyne Ops", "Soylent Health", "Aperture Robotics"]  # fmt: skip
_CITIES = ["Berlin", "Lisbon", "Austin", "Toronto", "London", "Paris", "Amsterdam", "Singapore"]


def members_seed(count: int, *, prefix: str = "member", password: str | None = None, **knobs) -> list[Member]:
    """`count` members with deterministic, varied profiles: `<prefix>-1`..`<prefix>-<count>`."""
    members = []
    for i in range(1, count + 1):
        first, last = _FIRST[(i - 1) % len(_FIRST)], _LAST[(i * 7) % len(_LAST)]
        company = _COMPANIES[(i * 3) % len(_COMPANIES)]
        members.append(
            member_create(
                handle=f"{prefix}-{i}",
                name=f"{first} {last}",
                password=password,
                title=_TITLES[i % len(_TITLES)],
                company=company,
                location=_CITIES[i % len(_CITIES)],
                about=f"{first} works on {company}'s platform and writes about scaling teams.",
                **knobs,
            )
        )
    return members


def profile_url(member: Member, base_url: str | None = None) -> str:
    """The member's public profile page (what a lead's profile_url holds)."""
    base = (base_url or settings.REACHLY_SANDBOX_URL).rstrip("/")
    if not base.endswith("/sandbox"):
        base += "/sandbox"
    return f"{base}/in/{member.handle}"


# ---------------------------------------------------------------------------
# Sessions
# ---------------------------------------------------------------------------


def authenticate(username: str, password: str) -> Member | None:
    member = Member.objects.filter(Q(handle=username.strip()) | Q(email__iexact=username.strip())).first()
    if member is None or not member.password or not check_password(password, member.password):
        return None
    return member


def session_start(member: Member, user_agent: str = "") -> Session:
    """Sign in: a new session cookie, and a Login in the site's record."""
    Login.objects.create(member=member, user_agent=user_agent[:300])
    return Session.objects.create(key=secrets.token_urlsafe(32), member=member)


def session_member(key: str | None) -> Member | None:
    if not key:
        return None
    session = Session.objects.select_related("member").filter(key=key).first()
    return session.member if session else None


def session_end(key: str | None) -> None:
    if key:
        Session.objects.filter(key=key).delete()


# ---------------------------------------------------------------------------
# Trouble
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Trouble:
    kind: str  # Incident.Kind
    until: float | None = None  # seconds the challenge lasts


def gate(member: Member, *, path: str, action: str | None) -> Trouble | None:
    """Run one request of `member` past the site's defences.

    1. Slow page: the member's own delay, or the site's with SLOW_RATE.
    2. Challenge: while one is active; when `challenge_in` counts down to
       this request; or at random with CHALLENGE_RATE.
    3. Too many requests: `action` requests beyond the hourly limit.
    Allowed action requests are recorded (they count toward the limit).
    """
    slow = member.slow_seconds
    if not slow and settings.REACHLY_SANDBOX_SLOW_RATE and random.random() < settings.REACHLY_SANDBOX_SLOW_RATE:
        slow = settings.REACHLY_SANDBOX_SLOW_SECONDS
        Incident.objects.create(member=member, kind=Incident.Kind.SLOW, path=path[:300])
    if slow:
        time.sleep(slow)

    now = timezone.now()
    with transaction.atomic():
        member = Member.objects.select_for_update().get(pk=member.pk)
        challenged = member.challenged_until is not None and member.challenged_until > now
        if not challenged and member.challenge_in is not None:
            if member.challenge_in <= 1:
                challenged = True
                member.challenge_in = None
            else:
                Member.objects.filter(pk=member.pk).update(challenge_in=F("challenge_in") - 1)
        if not challenged and settings.REACHLY_SANDBOX_CHALLENGE_RATE:
            challenged = random.random() < settings.REACHLY_SANDBOX_CHALLENGE_RATE
        if challenged:
            if not (member.challenged_until and member.challenged_until > now):
                member.challenged_until = now + timedelta(seconds=settings.REACHLY_SANDBOX_CHALLENGE_SECONDS)
            Member.objects.filter(pk=member.pk).update(
                challenge_in=member.challenge_in, challenged_until=member.challenged_until
            )
            Incident.objects.create(member=member, kind=Incident.Kind.CHALLENGE, path=path[:300])
            return Trouble(Incident.Kind.CHALLENGE, (member.challenged_until - now).total_seconds())

        if action:
            limit = member.actions_per_hour
            if limit is None:
                limit = settings.REACHLY_SANDBOX_ACTIONS_PER_HOUR
            recent = Action.objects.filter(member=member, at__gt=now - timedelta(hours=1)).count()
            if recent >= limit:
                Incident.objects.create(member=member, kind=Incident.Kind.TOO_MANY_REQUESTS, path=path[:300])
                return Trouble(Incident.Kind.TOO_MANY_REQUESTS)
            Action.objects.create(member=member, kind=action, at=now)
    return None


# ---------------------------------------------------------------------------
# Connections and messages
# ---------------------------------------------------------------------------


def state(viewer: Member, member: Member) -> State:
    if viewer.pk == member.pk:
        return State.SELF
    now = timezone.now()
    pending = False
    for inv in Invitation.objects.filter(
        Q(sender=viewer, recipient=member) | Q(sender=member, recipient=viewer), duplicate=False
    ):
        if inv.accepted(now):
            return State.CONNECTED
        if inv.sender_id == viewer.pk:
            pending = True
    return State.PENDING if pending else State.AVAILABLE


def _accept_at(recipient: Member):
    if not recipient.accepts_invitations:
        return None
    delay = recipient.accept_after_seconds
    if delay is None:
        delay = settings.REACHLY_SANDBOX_ACCEPT_SECONDS
    return timezone.now() + timedelta(seconds=delay)


def invitation_send(sender: Member, recipient: Member, note: str) -> Invitation:
    """Record a connection request. A repeat (pending or connected already)
    is recorded as a duplicate and changes nothing else."""
    if len(note) > NOTE_LIMIT:
        raise Refused(f"Your note is too long ({len(note)} characters; at most {NOTE_LIMIT}).")
    if sender.pk == recipient.pk:
        raise Refused("You cannot connect with yourself.")
    with transaction.atomic():
        # Serialise requests between the same two members (a double click).
        Member.objects.select_for_update().filter(pk=recipient.pk).first()
        current = state(sender, recipient)
        if current in (State.PENDING, State.CONNECTED):
            return Invitation.objects.create(sender=sender, recipient=recipient, note=note, duplicate=True)
        return Invitation.objects.create(sender=sender, recipient=recipient, note=note, accept_at=_accept_at(recipient))


def message_send(sender: Member, recipient: Member, body: str) -> Message:
    body = body.strip()
    if not body:
        raise Refused("Write a message first.")
    if len(body) > MESSAGE_LIMIT:
        raise Refused(f"Your message is too long (at most {MESSAGE_LIMIT} characters).")
    if state(sender, recipient) != State.CONNECTED:
        raise Refused("You can only message your connections.", status=403)
    return Message.objects.create(sender=sender, recipient=recipient, body=body)


def thread(a: Member, b: Member) -> list[Message]:
    return list(Message.objects.filter(Q(sender=a, recipient=b) | Q(sender=b, recipient=a)).order_by("id"))


def respond_later(member: Member) -> None:
    """A member's slow answer to an action, after it was recorded: the window
    in which a client may die not knowing whether its action went through."""
    if member.action_delay_seconds:
        time.sleep(member.action_delay_seconds)
