"""Test data: tenants, accounts, campaigns, leads and jobs of the test agent."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from reachly.campaigns.models import Campaign, Lead, SenderAccount
from reachly.orchestration.graph import StepSpec
from reachly.tenants.models import AgentAllocation, Plan, Tenant


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    slug = factory.Sequence(lambda n: f"tenant-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.title())
    plan = factory.LazyFunction(lambda: Plan.objects.get(code="agency"))


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")


class SenderAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SenderAccount

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Account {n}")
    login = factory.Sequence(lambda n: f"sender{n}@example.com")


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Campaign {n}")
    brief = "Reach engineering leaders at mid-size SaaS companies."


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    campaign = factory.SubFactory(CampaignFactory)
    tenant = factory.LazyAttribute(lambda o: o.campaign.tenant)
    profile_url = factory.Sequence(lambda n: f"https://sandbox.test/in/person-{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    company = factory.Faker("company")
    title = "VP Engineering"


def allow(tenant: Tenant, role: str = "test", **fields) -> AgentAllocation:
    alloc, _ = AgentAllocation.objects.update_or_create(tenant=tenant, role=role, defaults=fields)
    return alloc


def test_steps(n: int, prefix: str = "s", **input) -> list[StepSpec]:
    """n independent steps of the test agent."""
    return [StepSpec(key=f"{prefix}{i}", agent="test", input=dict(input)) for i in range(n)]


test_steps.__test__ = False  # a helper, not a test
