"""A campaign's job end to end on the embedded defaults: the planner and the
copywriter on the `local` LLM provider, the outreach agent in Chromium on the
sandbox, the analyst's summary. Checks the contract between the LLM agents'
graph and the outreach agent from the sandbox's side."""

from __future__ import annotations

from collections import Counter

import pytest

from agents.registry import queues_for_group
from reachly.campaigns.jobs import campaign_job_start
from reachly.campaigns.models import Lead
from reachly.orchestration.models import Step
from reachly.sandbox import selectors
from reachly.sandbox import services as sandbox
from tests.browser.conftest import PASSWORD, browser_env, sender
from tests.factories import CampaignFactory, LeadFactory, SenderAccountFactory, TenantFactory
from tests.helpers import wait_job

pytestmark = [pytest.mark.workers, pytest.mark.browser]


def test_a_campaign_is_planned_written_sent_followed_up_and_summarised(workers, sandbox_url):
    tenant = TenantFactory()
    campaign = CampaignFactory(tenant=tenant)
    for handle in ("sender-a", "sender-b"):
        sender(handle)
        campaign.sender_accounts.add(SenderAccountFactory(tenant=tenant, login=handle, password=PASSWORD))
    for member in sandbox.members_seed(4, prefix="lead", accept_after_seconds=0):
        first, _, last = member.name.partition(" ")
        LeadFactory(
            campaign=campaign,
            profile_url=sandbox.profile_url(member, sandbox_url),
            first_name=first,
            last_name=last,
            title=member.title,
            company=member.company,
        )
    workers.start(["control"], beat=True)
    workers.start(queues_for_group("general"), pool="threads", concurrency=4)
    workers.start(["agent.outreach"], extra_env=browser_env(sandbox_url))

    job = campaign_job_start(campaign)
    wait_job(job, timeout=180)

    copy = Step.objects.get(job=job, key="write-copy").output
    handle_of = {lead.id: lead.profile_url.rsplit("/", 1)[1] for lead in campaign.leads.all()}
    invitations = selectors.invitations()
    assert Counter(i["recipient"] for i in invitations) == Counter(handle_of.values())
    assert {i["recipient"]: i["note"] for i in invitations} == {handle_of[int(k)]: v for k, v in copy["notes"].items()}
    messages = selectors.messages()
    assert {m["recipient"]: m["body"] for m in messages} == {handle_of[int(k)]: v for k, v in copy["messages"].items()}
    assert len(messages) == 4
    assert set(Lead.objects.filter(campaign=campaign).values_list("status", flat=True)) == {"messaged"}
    assert Step.objects.get(job=job, key="summarise").status == "succeeded"
