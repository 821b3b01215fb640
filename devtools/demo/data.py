"""Demo data: two tenants with users, sender accounts and a campaign.

Idempotent: running it again updates what exists. Used by `manage.py
seed_demo` and `manage.py demo`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from reachly.campaigns.models import Campaign, Lead, SenderAccount
from reachly.sandbox import services as sandbox
from reachly.sandbox.models import Member
from reachly.tenants import plans
from reachly.tenants.models import Membership, Plan, Tenant
from reachly.tenants.services import membership_add

DEMO_PASSWORD = "reachly-demo"


@dataclass
class DemoData:
    acme: Tenant
    globex: Tenant
    alice: object
    bob: object
    admin: object
    campaigns: list[Campaign]


@transaction.atomic
def seed(*, sandbox_url: str | None = None) -> DemoData:
    """Tenants, users and accounts (updated in place), and for each tenant a
    new campaign with fresh sandbox profiles: every run starts a clean story.
    `sandbox_url` is where the leads' profiles live (the demo's web server)."""
    plans.install()
    acme, _ = Tenant.objects.update_or_create(
        slug="acme", defaults={"name": "Acme Growth Agency", "plan": Plan.objects.get(code="agency")}
    )
    globex, _ = Tenant.objects.update_or_create(
        slug="globex", defaults={"name": "Globex Sales", "plan": Plan.objects.get(code="pro")}
    )
    users = get_user_model()
    admin = _user(users, "admin", staff=True)
    alice = _user(users, "alice")
    bob = _user(users, "bob")
    membership_add(tenant=acme, user=alice, role=Membership.Role.OWNER)
    membership_add(tenant=globex, user=bob, role=Membership.Role.OWNER)
    membership_add(tenant=acme, user=admin, role=Membership.Role.ADMIN)
    membership_add(tenant=globex, user=admin, role=Membership.Role.ADMIN)
    run = Campaign.objects.filter(tenant=acme).count() + 1
    campaigns = [
        _campaign(
            acme,
            f"Q4 outreach: engineering leaders (run {run})",
            "Introduce Acme's platform-engineering audit to VPs of Engineering at mid-size SaaS companies;"
            " mention their scaling work and offer a 20-minute call.",
            senders=[("acme-ava", "Ava (sales)", "America/New_York"), ("acme-noah", "Noah (founder)", "Europe/Berlin")],
            leads=30,
            run=run,
            sandbox_url=sandbox_url,
        ),
        _campaign(
            globex,
            f"Partner programme pilot (run {run})",
            "Invite heads of sales at logistics companies to Globex's partner pilot.",
            senders=[("globex-mia", "Mia (SDR)", "Europe/London")],
            leads=8,
            run=run,
            sandbox_url=sandbox_url,
        ),
    ]
    return DemoData(acme=acme, globex=globex, alice=alice, bob=bob, admin=admin, campaigns=campaigns)


def _campaign(tenant: Tenant, name: str, brief: str, *, senders, leads: int, run: int, sandbox_url) -> Campaign:
    """A campaign whose leads and senders are members of the sandbox network."""

    campaign, _ = Campaign.objects.update_or_create(tenant=tenant, name=name, defaults={"brief": brief})
    for handle, label, tz in senders:
        sandbox.member_create(handle=handle, name=label.split(" (")[0], password=DEMO_PASSWORD, title=label)
        # Caps high enough that repeated demo runs on one day never wait for
        # tomorrow (real accounts keep the cautious defaults).
        account, _ = SenderAccount.objects.update_or_create(
            tenant=tenant,
            network="sandbox",
            login=handle,
            defaults={"name": label, "timezone": tz, "daily_invite_cap": 500, "daily_message_cap": 500,
                      "daily_visit_cap": 1000, "status": SenderAccount.Status.ACTIVE, "cooling_down_until": None},
        )  # fmt: skip
        account.password = {"password": DEMO_PASSWORD}
        account.save(update_fields=["password"])
        campaign.sender_accounts.add(account)
    # Lead profiles accept invitations after 8-20 seconds, so follow-ups
    # happen within the demo.
    members = sandbox.members_seed(leads, prefix=f"{tenant.slug}-r{run}-lead")
    for i, member in enumerate(members):
        Member.objects.filter(pk=member.pk).update(accept_after_seconds=8 + (i * 5) % 13)
        first, _, last = member.name.partition(" ")
        Lead.objects.update_or_create(
            campaign=campaign,
            profile_url=sandbox.profile_url(member, sandbox_url or settings.REACHLY_SANDBOX_URL),
            defaults={"tenant": tenant, "first_name": first, "last_name": last, "full_name": member.name,
                      "title": member.title, "company": member.company, "status": Lead.Status.NEW, "status_detail": ""},
        )  # fmt: skip
    return campaign


def _user(users, username: str, staff: bool = False):
    user, created = users.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
    if created or not user.has_usable_password():
        user.set_password(DEMO_PASSWORD)
    user.is_staff = user.is_superuser = staff
    user.save()
    return user
