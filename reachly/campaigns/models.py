"""Campaigns, their leads, and the sender accounts that work them."""

from __future__ import annotations

from datetime import datetime, time

from django.db import models
from django.utils import timezone

from reachly.core.fields import EncryptedJSONField, URLField
from reachly.tenants.models import Tenant


class SenderAccount(models.Model):
    """A tenant's account on a target network (the sandbox, by default).

    Session state (cookies, local storage) is encrypted at rest and never
    leaves the database unencrypted except into a browser context. Daily caps
    are counted per calendar day in the account's own time zone.
    """

    class Status(models.TextChoices):
        ACTIVE = "active"
        COOLING_DOWN = "cooling_down"
        NEEDS_LOGIN = "needs_login"
        PAUSED = "paused"
        DISABLED = "disabled"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="sender_accounts")
    name = models.CharField(max_length=128)
    network = models.CharField(max_length=32, default="sandbox")
    login = models.CharField(max_length=255, help_text="Username or e-mail on the network.")
    # Write-only from every surface: the API and admin never display it.
    password = EncryptedJSONField()
    session_state = EncryptedJSONField()
    session_updated_at = models.DateTimeField(null=True, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    working_hours_start = models.TimeField(default=time(0, 0))
    working_hours_end = models.TimeField(default=time(23, 59, 59))
    daily_invite_cap = models.PositiveIntegerField(default=20)
    daily_message_cap = models.PositiveIntegerField(default=50)
    daily_visit_cap = models.PositiveIntegerField(default=100)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    cooling_down_until = models.DateTimeField(null=True, blank=True)
    status_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tenant", "name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "network", "login"], name="sender_account_unique_login"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.network})"

    def is_available(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        if self.status == self.Status.COOLING_DOWN:
            return self.cooling_down_until is not None and self.cooling_down_until <= now
        return self.status == self.Status.ACTIVE

    def daily_caps(self) -> dict[str, int]:
        return {
            "invite": self.daily_invite_cap,
            "message": self.daily_message_cap,
            "visit": self.daily_visit_cap,
        }


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        ACTIVE = "active"
        ARCHIVED = "archived"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(max_length=200)
    brief = models.TextField(blank=True, help_text="What the campaign wants; the planner reads it.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    sender_accounts = models.ManyToManyField(SenderAccount, blank=True, related_name="campaigns")
    priority = models.PositiveSmallIntegerField(default=5)
    timezone = models.CharField(max_length=64, default="UTC")
    schedule_start = models.TimeField(null=True, blank=True)
    schedule_end = models.TimeField(null=True, blank=True)
    # Free-form options (note template, follow-up delay, batch size...).
    settings = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "status"], name="campaign_tenant_status")]

    def __str__(self) -> str:
        return self.name


class Lead(models.Model):
    class Status(models.TextChoices):
        NEW = "new"
        VISITED = "visited"
        INVITED = "invited"
        CONNECTED = "connected"
        MESSAGED = "messaged"
        REPLIED = "replied"
        SKIPPED = "skipped"
        FAILED = "failed"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="leads")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="leads")
    # Normalised (scheme, host lowercased, no trailing slash or query).
    profile_url = URLField(max_length=500)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    full_name = models.CharField(max_length=200, blank=True)
    company = models.CharField(max_length=200, blank=True)
    title = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    custom_fields = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    status_detail = models.CharField(max_length=255, blank=True)
    sender_account = models.ForeignKey(
        SenderAccount, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "profile_url"], name="lead_unique_per_campaign"),
        ]
        indexes = [
            models.Index(fields=["campaign", "status"], name="lead_campaign_status"),
            models.Index(fields=["tenant", "created_at"], name="lead_tenant_created"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.profile_url

    @property
    def display_name(self) -> str:
        return self.full_name or " ".join(p for p in (self.first_name, self.last_name) if p)
