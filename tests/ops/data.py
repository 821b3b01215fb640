"""One object of every model the admin shows, made through the services
where a service exists."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import Group
from django.utils import timezone

from reachly.llm.services import llm_call_record
from reachly.ops.services import audit_record
from reachly.orchestration.graph import StepSpec
from reachly.orchestration.models import Effect, RateLimit, Step, StepAttempt, UsageCounter
from reachly.orchestration.services import job_start
from reachly.tenants.models import AgentAllocation, Membership
from reachly.tenants.services import api_token_create
from reachly.webhooks.services import webhook_endpoint_create
from tests.factories import CampaignFactory, LeadFactory, SenderAccountFactory, TenantFactory, UserFactory

ACCOUNT_PASSWORD = "hunter2-account-password-SECRET"
SESSION_COOKIE = "li_at-session-cookie-SECRET-0451"


def populate(actor=None) -> dict:
    tenant = TenantFactory(slug="acme")
    AgentAllocation.objects.create(tenant=tenant, role="copywriter", max_concurrent=2)
    Membership.objects.create(tenant=tenant, user=UserFactory(username="bob"))
    account = SenderAccountFactory(tenant=tenant, name="Acme sales")
    account.password = {"password": ACCOUNT_PASSWORD}
    account.session_state = {"cookies": [{"name": "li_at", "value": SESSION_COOKIE}]}
    account.save()
    campaign = CampaignFactory(tenant=tenant)
    campaign.sender_accounts.add(account)
    lead = LeadFactory(campaign=campaign, sender_account=account)
    job = job_start(
        tenant=tenant,
        campaign=campaign,
        name="acme outreach",
        steps=[StepSpec("a", "test", {"items": 2}), StepSpec("b", "test", depends_on=["a"])],
    )
    step = Step.objects.get(job=job, key="a")
    StepAttempt.objects.create(
        step=step,
        fencing_token=1,
        worker="host:1",
        outcome="failed",
        error="ValueError: boom",
        started_at=timezone.now() - timedelta(seconds=3),
        finished_at=timezone.now(),
    )
    Effect.objects.create(key=f"s{step.id}:item:0", tenant=tenant, job=job, step=step, state="done", result={"ok": 1})
    RateLimit.objects.create(
        name="invites", subject="actions", action="invite", per="account", limit=20, period="calendar_day"
    )
    UsageCounter.objects.create(
        tenant=tenant,
        agent="test",
        month=timezone.now().date().replace(day=1),
        steps=3,
        llm_tokens=1200,
        llm_cost="0.012000",
    )
    token, key = api_token_create(tenant=tenant, name="ci")
    webhook_endpoint_create(tenant=tenant, url="https://hooks.example.com/acme", events=["job.completed"])
    audit_record(actor=actor, action="job.pause", obj=job)
    Group.objects.create(name="operators")
    for model, tokens, cost in (("gpt-4o-mini", 900, "0.0012"), ("claude-haiku", 300, "0.0030")):
        llm_call_record(
            tenant_id=tenant.id,
            agent="copywriter",
            provider="openai",
            model=model,
            outcome="ok",
            job_id=job.id,
            step_id=step.id,
            prompt_tokens=tokens,
            completion_tokens=100,
            cost=cost,
        )
    # The sandbox network's own records (its admin pages list them).
    from reachly.sandbox import services as sandbox
    from reachly.sandbox.models import Incident, Login

    sender, recipient = sandbox.members_seed(2, prefix="admin-page")
    Login.objects.create(member=sender, user_agent="Chromium")
    invitation = sandbox.invitation_send(sender, recipient, "Hello!")
    invitation.accept_at = timezone.now() - timedelta(seconds=1)  # accepted: they may talk
    invitation.save(update_fields=["accept_at"])
    sandbox.message_send(sender, recipient, "Thanks for connecting")
    Incident.objects.create(member=sender, kind=Incident.Kind.CHALLENGE, path="/sandbox/in/x/")
    return {
        "tenant": tenant,
        "account": account,
        "campaign": campaign,
        "lead": lead,
        "job": job,
        "step": step,
        "token": token,
        "key": key,
    }
