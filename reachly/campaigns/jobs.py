"""Starting a campaign's job: the planner's graph, or the default one.

The default graph (agents/llm/plan.py: the contract with the outreach agent)
is write-copy → invite/follow-up batches per sender account → summarise.
A tenant with the activity planner enabled gets one urgent planner step
instead, whose output graph extends the same job; on the `local` provider
the planner answers with that same default graph.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from agents.llm import plan
from reachly.campaigns.models import Campaign, SenderAccount
from reachly.orchestration import graph
from reachly.orchestration.graph import GraphError, StepSpec
from reachly.orchestration.models import Job
from reachly.orchestration.services import job_start
from reachly.tenants.selectors import allocation

PLAN_KEY = "plan"
DEFAULT_BATCH_SIZE = 5


def campaign_plan_input(campaign: Campaign) -> dict:
    """The campaign as plain data: what the planner (or the default graph) works from."""
    leads = list(campaign.leads.order_by("id").values_list("id", flat=True))
    accounts = list(
        campaign.sender_accounts.exclude(status=SenderAccount.Status.DISABLED)
        .order_by("id")
        .values_list("id", flat=True)
    )
    batch_size = campaign.settings.get("batch_size", DEFAULT_BATCH_SIZE) if isinstance(campaign.settings, dict) else 5
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise GraphError({"settings.batch_size": "must be a positive integer"})
    return {
        "campaign": campaign.id,
        "brief": campaign.brief,
        "leads": leads,
        "sender_accounts": accounts,
        "batch_size": batch_size,
    }


def campaign_job_start(campaign: Campaign, *, priority: int | None = None, by: AbstractBaseUser | None = None) -> Job:
    """Start a job for `campaign`. Raises GraphError (a 4xx naming the
    field) when the campaign cannot run: no leads, a bad batch size, an
    agent its tenant may not use."""
    data = campaign_plan_input(campaign)
    if not data["leads"]:
        raise GraphError({"leads": "the campaign has no leads: import some first"})
    if allocation(campaign.tenant_id, "activity_planner").enabled:
        steps = [StepSpec(key=PLAN_KEY, agent="activity_planner", input=data, priority=1)]
    else:
        steps = graph.from_dicts(plan.default_graph(**data))
    return job_start(
        tenant=campaign.tenant,
        steps=steps,
        campaign=campaign,
        name=campaign.name,
        priority=priority,
        created_by=by,
    )
