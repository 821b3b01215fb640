"""The sandbox network's own data: members, their sessions, and the record
of what it received (logins, invitations, messages, trouble shown).

Nothing here belongs to the product: Reachly's agents reach it only through
a browser, and tests and the demo read this record to check effects from the
target's side.
"""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.utils import timezone


class Member(models.Model):
    """A person on the network. Sender accounts sign in as members; leads
    point at members' profile pages.

    The fields after `about` are knobs for tests and demos: they make one
    member's trouble deterministic without touching the others.
    """

    handle = models.SlugField(max_length=80, unique=True)
    email = models.EmailField(unique=True)
    password = models.CharField(max_length=128, blank=True, help_text="A Django password hash.")
    name = models.CharField(max_length=200)
    title = models.CharField(max_length=200, blank=True)
    company = models.CharField(max_length=200, blank=True)
    location = models.CharField(max_length=200, blank=True)
    about = models.TextField(blank=True)

    accepts_invitations = models.BooleanField(default=True)
    accept_after_seconds = models.FloatField(
        null=True, blank=True, help_text="Delay before accepting an invitation; empty: the site's default."
    )
    challenge_in = models.PositiveIntegerField(
        null=True, blank=True, help_text="Show an 'unusual activity' challenge on this member's Nth request from now."
    )
    challenged_until = models.DateTimeField(null=True, blank=True)
    actions_per_hour = models.PositiveIntegerField(
        null=True, blank=True, help_text="Actions before 'too many requests'; empty: the site's default."
    )
    slow_seconds = models.FloatField(default=0.0, help_text="Every page this member loads is this much slower.")
    action_delay_seconds = models.FloatField(
        default=0.0, help_text="Answer this member's invitations and messages this much later (after recording them)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["handle"]

    def __str__(self) -> str:
        return f"{self.name} (@{self.handle})"


class Session(models.Model):
    """A signed-in browser: the `sbx_session` cookie holds `key`."""

    key = models.CharField(max_length=64, unique=True)
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="sessions")
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"session of member {self.member_id}"


class Login(models.Model):
    """Every successful sign-in (a restored session signs in no one)."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="logins")
    user_agent = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"login of member {self.member_id} at {self.at:%Y-%m-%d %H:%M:%S}"


class Invitation(models.Model):
    """A connection request as the network received it. A repeated request
    to the same person is recorded too (flagged `duplicate`), so a client
    that sends twice is caught."""

    sender = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="invitations_sent")
    recipient = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="invitations_received")
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # When the recipient accepts (accepted once it is past); never if empty.
    accept_at = models.DateTimeField(null=True, blank=True)
    duplicate = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["sender", "recipient"], name="sandbox_invitation_pair")]

    def __str__(self) -> str:
        return f"invitation {self.sender_id} → {self.recipient_id}"

    def accepted(self, now: datetime | None = None) -> bool:
        return self.accept_at is not None and self.accept_at <= (now or timezone.now())


class Message(models.Model):
    sender = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="messages_sent")
    recipient = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="messages_received")
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"message {self.sender_id} → {self.recipient_id}"


class Action(models.Model):
    """What a member did, for the per-hour limit ("too many requests")."""

    class Kind(models.TextChoices):
        VIEW = "view"
        INVITE = "invite"
        MESSAGE = "message"

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="actions")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["member", "at"], name="sandbox_action_member_at")]

    def __str__(self) -> str:
        return f"{self.kind} by member {self.member_id}"


class Incident(models.Model):
    """Trouble the site showed a member: a challenge, a too-many-requests page, a slow page."""

    class Kind(models.TextChoices):
        CHALLENGE = "challenge"
        TOO_MANY_REQUESTS = "too_many_requests"
        SLOW = "slow"

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="incidents")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    path = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind} shown to member {self.member_id}"
