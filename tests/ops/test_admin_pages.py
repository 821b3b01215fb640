"""Every admin page renders for an operator and is refused to everyone else;
secrets never appear on them; lists cost the same number of queries for 3
rows as for 30."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reachly.orchestration.services import job_start
from tests.factories import TenantFactory, test_steps
from tests.ops.data import ACCOUNT_PASSWORD, SESSION_COOKIE, populate

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _plans(plans):
    pass


def _pages(with_objects: bool = True) -> list[tuple[str, str, bool]]:
    """(what, url, allowed for a superuser) for every registered model, plus the site's own pages."""
    pages = [("index", reverse("admin:index"), True), ("capacity", reverse("admin:capacity"), True)]
    for model, model_admin in admin.site._registry.items():
        info = f"{model._meta.app_label}_{model._meta.model_name}"
        pages.append((f"{info} changelist", reverse(f"admin:{info}_changelist"), True))
        pages.append((f"{info} add", reverse(f"admin:{info}_add"), model_admin.has_add_permission(_superuser())))
        obj = model.objects.order_by("pk").first() if with_objects else None
        if obj is not None:
            pages.append((f"{info} change", reverse(f"admin:{info}_change", args=[obj.pk]), True))
    return pages


def _superuser():
    from django.contrib.auth import get_user_model

    class Request:
        user = get_user_model()(is_staff=True, is_superuser=True, is_active=True)

    return Request()


def test_every_admin_page_renders_for_an_operator(alice, alice_client):
    populate(actor=alice)
    pages = _pages()
    registered = {m._meta.label_lower for m in admin.site._registry}
    # Each registered model has an object, so each has a change page here.
    assert sum(1 for what, _, _ in pages if what.endswith(" change")) == len(registered)
    for what, url, allowed in pages:
        response = alice_client.get(url)
        expected = 200 if allowed else 403
        assert response.status_code == expected, f"{what}: {url} answered {response.status_code}"


def test_read_only_models_cannot_be_added_in_the_admin(alice_client):
    """Jobs, steps and events change only through the services."""
    for info in (
        "orchestration_job",
        "orchestration_step",
        "orchestration_event",
        "orchestration_effect",
        "orchestration_usagecounter",
        "ops_auditlog",
    ):
        assert alice_client.get(reverse(f"admin:{info}_add")).status_code == 403, info


def test_every_admin_page_is_refused_to_a_user_who_is_not_staff(alice, charlie_client, client):
    populate(actor=alice)
    login = reverse("admin:login")
    for what, url, _ in _pages():
        for who, c in (("charlie", charlie_client), ("anonymous", client)):
            response = c.get(url)
            assert response.status_code == 302, f"{what} for {who}: {response.status_code}"
            assert response["Location"].startswith(login), f"{what} for {who} went to {response['Location']}"
    # The capacity page's data, too.
    assert charlie_client.get(reverse("admin:capacity") + "?fragment=1").status_code == 302


def test_the_index_links_to_the_capacity_page_and_flower(alice_client, settings):
    settings.FLOWER_URL = "https://ops.example.com/flower/"
    page = alice_client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:capacity") in page
    assert "https://ops.example.com/flower/" in page


def test_no_admin_page_shows_a_sender_account_secret_or_an_api_key(alice, alice_client):
    data = populate(actor=alice)
    for _what, url, allowed in _pages():
        if not allowed:
            continue
        body = alice_client.get(url).content.decode()
        for secret in (ACCOUNT_PASSWORD, SESSION_COOKIE, data["key"], data["key"].split("_", 2)[2]):
            assert secret not in body, f"{url} shows a secret"


def test_the_tenant_page_shows_the_plans_defaults_beside_the_effective_allocation(alice_client):
    data = populate()
    page = alice_client.get(reverse("admin:tenants_tenant_change", args=[data["tenant"].pk])).content.decode()
    # acme is on the agency plan: copywriter is in the plan at 4, overridden to 2.
    row = page[page.index("<td>copywriter</td>") :].split("</tr>")[0]
    cells = [c.split("</td>")[0] for c in row.split("<td>")[1:]]
    # agent, in plan, plan max concurrent, plan monthly, source, enabled, max concurrent
    assert cells[:3] == ["copywriter", "yes", "4"]
    assert cells[4:7] == ["override", "yes", "2"]
    assert "outreach" in page


def test_the_job_page_shows_progress_steps_controls_and_who_acted(alice, alice_client):
    data = populate(actor=alice)
    page = alice_client.get(reverse("admin:orchestration_job_change", args=[data["job"].pk])).content.decode()
    assert "<progress" in page and "0/2 (0.0%)" in page
    for control in ("pause", "resume", "cancel", "retry_failed"):
        assert f'id="job-{control}"' in page
    assert "job.pause" in page and "alice" in page  # the audit trail


def test_the_step_page_shows_the_error_readably_and_the_lease(alice_client):
    from reachly.orchestration.models import Step

    data = populate()
    step = data["step"]
    Step.objects.filter(pk=step.pk).update(
        error={"type": "ValueError", "message": "bad <input>", "retryable": True, "trace": "Traceback ...\nValueError"},
        lease_owner="host:4242",
    )
    page = alice_client.get(reverse("admin:orchestration_step_change", args=[step.pk])).content.decode()
    assert "&quot;message&quot;: &quot;bad &lt;input&gt;&quot;" in page  # indented JSON, escaped
    assert "Traceback ...\nValueError" in page
    assert "host:4242" in page
    assert "ValueError: boom" in page  # the attempts inline


def test_usage_and_llm_call_changelists_show_token_and_cost_totals(alice_client):
    populate()
    page = alice_client.get(reverse("admin:orchestration_usagecounter_changelist")).content.decode()
    # populate's own counter (1200 tokens, $0.012) and the two LLM calls' (1400, $0.0042), on two rows.
    assert 'data-total="llm_tokens">2600' in page
    assert 'data-total="llm_cost">0.016200' in page
    page = alice_client.get(reverse("admin:llm_llmcall_changelist")).content.decode()
    assert 'data-total="prompt_tokens">1200' in page
    assert 'data-total="completion_tokens">200' in page
    assert 'data-total="cost">0.004200' in page
    filtered = alice_client.get(reverse("admin:llm_llmcall_changelist"), {"q": "claude"}).content.decode()
    assert 'data-total="cost">0.003000' in filtered


@pytest.mark.parametrize(
    "info",
    [
        "orchestration_job",
        "orchestration_step",
        "orchestration_event",
        "tenants_tenant",
        "tenants_apitoken",
        "campaigns_senderaccount",
        "campaigns_lead",
        "campaigns_campaign",
        "ops_auditlog",
    ],
)
def test_changelists_cost_the_same_queries_for_3_rows_as_for_30(alice, alice_client, info):
    from reachly.campaigns.models import Lead
    from reachly.ops.services import audit_record
    from reachly.tenants.services import api_token_create
    from tests.factories import CampaignFactory, LeadFactory, SenderAccountFactory

    def grow(n: int) -> None:
        for _ in range(n):
            tenant = TenantFactory()
            campaign = CampaignFactory(tenant=tenant)
            job = job_start(tenant=tenant, campaign=campaign, steps=test_steps(1))
            SenderAccountFactory(tenant=tenant)
            LeadFactory(campaign=campaign)
            api_token_create(tenant=tenant, name="t", created_by=alice)
            audit_record(actor=alice, action="job.pause", obj=job)

    url = reverse(f"admin:{info}_changelist")

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert alice_client.get(url).status_code == 200
        return len(ctx.captured_queries)

    grow(3)
    few = queries()
    grow(27)
    assert Lead.objects.count() == 30
    assert queries() == few


def test_searching_by_words_or_ids_never_fails(alice_client):
    populate()
    for info in ("orchestration_job", "orchestration_step", "orchestration_event", "ops_auditlog", "tenants_apitoken"):
        for query in ("acme", "42", "a b'\""):
            assert alice_client.get(reverse(f"admin:{info}_changelist"), {"q": query}).status_code == 200, info
    for info in ("orchestration_step", "orchestration_event"):
        # The job id box: a word matches nothing, it is not an error.
        assert alice_client.get(reverse(f"admin:{info}_changelist"), {"job": "x"}).status_code == 200
