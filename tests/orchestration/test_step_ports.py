"""The agent ports the domains register (reachly/orchestration/ports.py):
every port of agents/ports.py is provided, and each one reads and writes
only the step's own tenant's rows."""

from __future__ import annotations

import pytest

from reachly.campaigns.models import Lead
from reachly.orchestration import ports
from reachly.orchestration.models import Event
from reachly.orchestration.services import job_start
from reachly.webhooks.models import WebhookEndpoint
from tests.factories import LeadFactory, SenderAccountFactory, TenantFactory, allow, test_steps

pytestmark = pytest.mark.django_db


def _scope(tenant_id: int, account_id: int | None = None, job_id: int = 1) -> ports.StepScope:
    return ports.StepScope(step_id=1, job_id=job_id, tenant_id=tenant_id, role="outreach", sender_account_id=account_id)


def test_every_port_of_the_step_context_is_registered_by_its_domain():
    scope = _scope(1)
    built = {name: ports.build(name, scope) for name in ports.PORTS}
    assert {name: type(port).__module__ for name, port in built.items()} == {
        "sender": "reachly.campaigns.step_ports",
        "leads": "reachly.campaigns.step_ports",
        "llm": "reachly.llm.step_ports",
        "webhooks": "reachly.webhooks.step_ports",
    }
    with pytest.raises(KeyError, match="unknown port 'billing'"):
        ports.provide("billing", lambda scope: None)


def test_the_lead_port_sees_and_changes_only_the_steps_tenant():
    mine, theirs = LeadFactory(), LeadFactory()
    allow(mine.tenant)
    job = job_start(tenant=mine.tenant, steps=test_steps(1))
    leads = ports.build("leads", _scope(mine.tenant_id, job_id=job.pk))

    assert [row["id"] for row in leads.get([theirs.pk, mine.pk])] == [mine.pk]
    leads.update(theirs.pk, "invited", "invitation sent")
    leads.update(mine.pk, "invited", "invitation sent")

    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert (theirs.status, mine.status) == (Lead.Status.NEW, Lead.Status.INVITED)
    assert [e.data["lead"] for e in Event.objects.filter(job=job, type="lead.status_changed")] == [mine.pk]
    with pytest.raises(ValueError, match="unknown lead status 'bribed'"):
        leads.update(mine.pk, "bribed")


def test_the_sender_account_port_gives_no_secret_and_no_other_tenants_account():
    account = SenderAccountFactory(password={"password": "s3cret"})
    other = TenantFactory()

    data = ports.build("sender", _scope(account.tenant_id, account.pk)).data()
    assert data is not None and data["id"] == account.pk
    assert "password" not in data and "session_state" not in data
    assert ports.build("sender", _scope(other.pk, account.pk)).data() is None
    assert ports.build("sender", _scope(account.tenant_id)).data() is None


def test_the_webhook_port_finds_only_the_steps_tenants_endpoints():
    tenant, other = TenantFactory(), TenantFactory()
    endpoint = WebhookEndpoint.objects.create(
        tenant=tenant, url="https://hooks.example.com/r", secret={"secret": "whsec_1"}, events=["job.completed"]
    )
    target = ports.build("webhooks", _scope(tenant.pk)).target(endpoint.pk)
    assert target == {"url": "https://hooks.example.com/r", "secret": "whsec_1", "active": True}
    assert ports.build("webhooks", _scope(other.pk)).target(endpoint.pk) is None
