"""Demo data: two tenants with users, sender accounts and a campaign.

Idempotent: running it again updates what exists. Used by `manage.py
seed_demo` and `manage.py demo`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from reachly.campaigns.models import Campaign, SenderAccount
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


@transaction.atomic
def seed() -> DemoData:
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
    for tenant, names in ((acme, ("Ava (sales)", "Noah (founder)")), (globex, ("Mia (SDR)",))):
        for i, name in enumerate(names):
            account, _ = SenderAccount.objects.update_or_create(
                tenant=tenant,
                network="sandbox",
                login=f"{tenant.slug}-sender{i + 1}@example.com",
                defaults={"name": name, "timezone": "Europe/Berlin" if i else "America/New_York"},
            )
            if account.password is None:
                account.password = {"password": DEMO_PASSWORD}
                account.save(update_fields=["password"])
    Campaign.objects.get_or_create(
        tenant=acme,
        name="Q4 outreach: engineering leaders",
        defaults={"brief": "Introduce Acme's platform-engineering audit to VPs of Engineering at mid-size SaaS."},
    )
    return DemoData(acme=acme, globex=globex, alice=alice, bob=bob, admin=admin)


def _user(users, username: str, staff: bool = False):
    user, created = users.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
    if created or not user.has_usable_password():
        user.set_password(DEMO_PASSWORD)
    user.is_staff = user.is_superuser = staff
    user.save()
    return user
