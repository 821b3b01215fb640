"""Personas for web UI tests (STYLE.md): Alice owns "alice-co"; Bob is on
Alice's team as a viewer; Charlie has his own tenant and "should have no
access to Alice's stuff"; Dave belongs to both Alice's and Charlie's tenants
(the tenant switcher)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.conf import settings
from django.test import Client

from reachly.campaigns.accounts import sender_account_create
from reachly.campaigns.imports import lead_import_rows
from reachly.campaigns.models import Campaign, SenderAccount
from reachly.campaigns.services import campaign_create
from reachly.orchestration.graph import StepSpec
from reachly.orchestration.models import Job
from reachly.orchestration.services import job_start
from reachly.tenants.models import ApiToken, Membership, Tenant
from reachly.tenants.services import api_token_create, membership_add
from tests.factories import TenantFactory, UserFactory

PASSWORD = "correct horse battery"


def make_user(username: str, **fields):
    user = UserFactory(username=username, **fields)
    user.save()  # UserFactory skips the save after set_password
    return user


@dataclass
class Persona:
    user: object
    tenant: Tenant
    client: Client


@dataclass
class World:
    """One object of each kind a page can name, in one tenant."""

    account: SenderAccount
    campaign: Campaign
    job: Job
    token: ApiToken

    def urls(self) -> list[str]:
        """Every page of these objects (GET)."""
        return [
            f"/campaigns/{self.campaign.pk}/",
            f"/campaigns/{self.campaign.pk}/edit",
            f"/jobs/{self.job.pk}/",
            f"/jobs/{self.job.pk}/graph",
            f"/sender-accounts/{self.account.pk}/",
        ]

    def posts(self) -> list[str]:
        """Every action on these objects (POST)."""
        step = self.job.steps.first()
        return [
            f"/campaigns/{self.campaign.pk}/edit",
            f"/campaigns/{self.campaign.pk}/leads/preview",
            f"/campaigns/{self.campaign.pk}/leads/import",
            f"/campaigns/{self.campaign.pk}/start",
            f"/jobs/{self.job.pk}/pause",
            f"/jobs/{self.job.pk}/resume",
            f"/jobs/{self.job.pk}/cancel",
            f"/jobs/{self.job.pk}/retry-failed",
            f"/jobs/{self.job.pk}/steps/{step.pk}/retry",
            f"/sender-accounts/{self.account.pk}/",
            f"/sender-accounts/{self.account.pk}/session",
            f"/sender-accounts/{self.account.pk}/session/clear",
            f"/sender-accounts/{self.account.pk}/status",
            f"/sender-accounts/{self.account.pk}/delete",
            f"/api-tokens/{self.token.pk}/revoke",
        ]


def build_world(tenant: Tenant) -> World:
    account = sender_account_create(tenant=tenant, name="Main", login=f"main@{tenant.slug}.test", password="s3cret")
    campaign = campaign_create(tenant=tenant, name="Spring outreach", sender_accounts=[account])
    lead_import_rows(campaign=campaign, rows=[{"profile_url": f"{settings.REACHLY_SANDBOX_URL}in/{tenant.slug}-lead"}])
    job = job_start(
        tenant=tenant,
        campaign=campaign,
        name="Spring outreach",
        steps=[StepSpec("first", "test"), StepSpec("second", "test", depends_on=["first"])],
    )
    token, _ = api_token_create(tenant=tenant, name="spare")
    return World(account, campaign, job, token)


def _persona(slug: str, username: str, role=Membership.Role.OWNER) -> Persona:
    tenant = TenantFactory(slug=slug, name=slug.replace("-", " ").title())
    user = make_user(username)
    membership_add(tenant=tenant, user=user, role=role)
    client = Client()
    client.force_login(user)
    return Persona(user, tenant, client)


@pytest.fixture
def alice(plans) -> Persona:
    return _persona("alice-co", "alice")


@pytest.fixture
def charlie(plans) -> Persona:
    return _persona("charlie-co", "charlie")


@pytest.fixture
def bob(alice) -> Persona:
    user = make_user("bob")
    membership_add(tenant=alice.tenant, user=user, role=Membership.Role.VIEWER)
    client = Client()
    client.force_login(user)
    return Persona(user, alice.tenant, client)


@pytest.fixture
def dave(alice, charlie) -> Persona:
    user = make_user("dave")
    membership_add(tenant=alice.tenant, user=user, role=Membership.Role.MEMBER)
    membership_add(tenant=charlie.tenant, user=user, role=Membership.Role.MEMBER)
    client = Client()
    client.force_login(user)
    return Persona(user, alice.tenant, client)


@pytest.fixture
def alices_world(alice) -> World:
    return build_world(alice.tenant)


@pytest.fixture
def charlies_world(charlie) -> World:
    return build_world(charlie.tenant)


def field_errors(response, field: str) -> str:
    """The error list rendered next to `field` (empty string if none)."""
    html = response.content.decode()
    marker = f'id="id_{field}_error"'
    start = html.find(marker)
    if start < 0:
        return ""
    return html[start : html.find("</ul>", start)]


def widget_html(response, field: str) -> str:
    """The opening tag of a field's widget."""
    html = response.content.decode()
    start = html.find(f'id="id_{field}"')
    return html[html.rfind("<", 0, start) : html.find(">", start) + 1]
