"""Starting a job for a campaign (the API's `POST /campaigns/{id}/jobs/`).

Minimal version: one `copywriter` step that names the campaign, its brief
and its lead ids. The LLM-agents work replaces the body of
`campaign_job_start` with the real graph (planner → copywriter → outreach →
analyst); the signature stays.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from reachly.campaigns.errors import Conflict
from reachly.campaigns.models import Campaign
from reachly.orchestration import services
from reachly.orchestration.graph import StepSpec
from reachly.orchestration.models import Job


def campaign_job_start(campaign: Campaign, *, priority: int | None = None, by: AbstractBaseUser | None = None) -> Job:
    if campaign.status == Campaign.Status.ARCHIVED:
        raise Conflict("the campaign is archived; set its status to active to run it", details={"status": "archived"})
    lead_ids = list(campaign.leads.order_by("id").values_list("id", flat=True))
    steps = [
        StepSpec(
            key="copywriter",
            agent="copywriter",
            input={"campaign": campaign.pk, "brief": campaign.brief, "leads": lead_ids},
        )
    ]
    return services.job_start(
        tenant=campaign.tenant,
        steps=steps,
        campaign=campaign,
        name=campaign.name,
        priority=priority if priority is not None else campaign.priority,
        created_by=by,
    )
