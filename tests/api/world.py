"""A tenant's worth of objects for API tests: one of each kind an endpoint can name."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from reachly.campaigns.accounts import sender_account_create
from reachly.campaigns.imports import lead_import_rows
from reachly.campaigns.models import Campaign, Lead, SenderAccount
from reachly.campaigns.services import campaign_create
from reachly.orchestration.graph import StepSpec
from reachly.orchestration.models import Job
from reachly.orchestration.services import job_start
from reachly.tenants.models import ApiToken, Tenant
from reachly.tenants.services import api_token_create
from reachly.webhooks.models import WebhookEndpoint
from reachly.webhooks.services import webhook_endpoint_create


@dataclass
class World:
    account: SenderAccount
    campaign: Campaign
    lead: Lead
    job: Job
    webhook: WebhookEndpoint
    token: ApiToken

    def ids(self) -> dict[str, int]:
        return {
            "account": self.account.pk,
            "campaign": self.campaign.pk,
            "lead": self.lead.pk,
            "job": self.job.pk,
            "webhook": self.webhook.pk,
            "token": self.token.pk,
        }


def build_world(tenant: Tenant) -> World:
    account = sender_account_create(tenant=tenant, name="Main", login=f"main@{tenant.slug}.test", password="s3cret")
    campaign = campaign_create(tenant=tenant, name="Spring outreach", sender_accounts=[account])
    lead_import_rows(campaign=campaign, rows=[{"profile_url": f"{settings.REACHLY_SANDBOX_URL}in/{tenant.slug}-lead"}])
    job = job_start(
        tenant=tenant,
        campaign=campaign,
        steps=[StepSpec("first", "test"), StepSpec("second", "test", depends_on=["first"])],
    )
    webhook, _ = webhook_endpoint_create(tenant=tenant, url="https://hooks.example.com/x", events=["job.completed"])
    token, _ = api_token_create(tenant=tenant, name="spare")
    return World(account, campaign, campaign.leads.get(), job, webhook, token)
