"""Every admin action works, through the orchestration services, and leaves
a trace of who did it: in the job's events (`by`) and in the AuditLog."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from reachly.campaigns.models import SenderAccount
from reachly.ops.models import AuditLog
from reachly.orchestration.graph import StepSpec
from reachly.orchestration.models import Event, Job, Step, StepAttempt
from reachly.orchestration.services import job_cancel, job_start
from reachly.tenants.models import ApiToken
from reachly.tenants.services import api_token_authenticate, api_token_create
from tests.conftest import wait_for
from tests.factories import CampaignFactory, SenderAccountFactory, TenantFactory, test_steps
from tests.helpers import wait_job


def _act(client, info: str, action: str, ids: list[int]):
    return client.post(
        reverse(f"admin:{info}_changelist"), {"action": action, "_selected_action": [str(i) for i in ids]}, follow=True
    )


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _audited(action: str, obj) -> AuditLog:
    return AuditLog.objects.get(action=action, object_type=obj._meta.label_lower, object_id=str(obj.pk))


# ---------------------------------------------------------------------------
# Jobs on real workers
# ---------------------------------------------------------------------------


@pytest.mark.workers
def test_job_actions_pause_resume_cancel_and_retry_real_jobs(workers, alice, alice_client):
    workers.start("control", beat=True)
    workers.start("agent.test")
    tenant = TenantFactory()
    slow = job_start(tenant=tenant, name="slow", steps=[StepSpec("work", "test", {"items": 40, "sleep": 0.05})])
    doomed = job_start(tenant=tenant, name="doomed", steps=[StepSpec("x", "test", {"fail": "permanent"})])
    wait_for(lambda: Step.objects.filter(job=slow, status="running").exists(), what="the slow step to run")

    # Pause: the running step stops at a safe point, checkpointed.
    response = _act(alice_client, "orchestration_job", "pause", [slow.id])
    assert response.status_code == 200 and any("Paused 1" in m for m in _messages(response))
    step = wait_for(lambda: Step.objects.filter(job=slow, status="paused").first(), what="the step to pause")
    assert 0 < step.checkpoint["next"] < 40
    slow.refresh_from_db()
    assert slow.status == "paused"
    assert Event.objects.filter(job=slow, type="job.status", data__status="paused", data__by="alice").exists()

    # Resume: it finishes from its checkpoint.
    _act(alice_client, "orchestration_job", "resume", [slow.id])
    wait_job(slow, "succeeded")
    assert Step.objects.get(job=slow).output["processed"] == list(range(40))

    # Retry failed steps: the failed step runs again (a second attempt), fails again, as asked.
    wait_job(doomed, "failed")
    _act(alice_client, "orchestration_job", "retry_failed", [doomed.id])
    wait_for(lambda: StepAttempt.objects.filter(step__job=doomed).count() == 2, what="a second attempt")
    assert Event.objects.filter(job=doomed, data__reason="retry requested", data__by="alice").exists()
    wait_job(doomed, "failed")

    # Cancel a running job.
    endless = job_start(tenant=tenant, name="endless", steps=[StepSpec("w", "test", {"items": 500, "sleep": 0.05})])
    wait_for(lambda: Step.objects.filter(job=endless, status="running").exists(), what="endless to run")
    _act(alice_client, "orchestration_job", "cancel", [endless.id])
    endless.refresh_from_db()
    assert endless.status == "cancelled"
    wait_for(
        lambda: StepAttempt.objects.filter(step__job=endless).exclude(outcome="running").exists(),
        what="the running attempt to end",
    )

    for action, job in (
        ("job.pause", slow),
        ("job.resume", slow),
        ("job.retry_failed", doomed),
        ("job.cancel", endless),
    ):
        entry = _audited(action, job)
        assert entry.actor == alice and entry.actor_name == "alice" and entry.tenant == tenant


# ---------------------------------------------------------------------------
# Without workers: messages, buttons, steps, tenants, campaigns, accounts, tokens
# ---------------------------------------------------------------------------

pytestmark_db = pytest.mark.django_db


@pytest.fixture
def tenant(plans):
    return TenantFactory()


@pytestmark_db
def test_an_illegal_transition_is_reported_by_job_and_the_others_still_change(alice_client, tenant):
    running = job_start(tenant=tenant, name="running one", steps=test_steps(1))
    cancelled = job_cancel(job_start(tenant=tenant, name="cancelled one", steps=test_steps(1)))
    response = _act(alice_client, "orchestration_job", "resume", [running.id, cancelled.id])
    msgs = _messages(response)
    (msg,) = msgs  # newest first, as the changelist orders them
    assert msg.startswith("Not changed — ")
    assert "running one: cannot resume a job that is running" in msg
    assert "cancelled one: cannot resume a job that is cancelled" in msg
    response = _act(alice_client, "orchestration_job", "pause", [running.id, cancelled.id])
    msgs = _messages(response)
    assert "Paused 1: running one." in msgs
    assert "Not changed — cancelled one: cannot pause a job that is cancelled" in msgs
    assert Job.objects.get(pk=running.pk).status == "paused"
    assert not AuditLog.objects.filter(object_id=str(cancelled.pk)).exists()


@pytestmark_db
def test_retrying_a_job_without_failed_steps_says_so(alice_client, tenant):
    job = job_start(tenant=tenant, name="fine", steps=test_steps(1))
    response = _act(alice_client, "orchestration_job", "retry_failed", [job.id])
    assert "fine: no failed step to retry" in _messages(response)


@pytestmark_db
def test_the_job_pages_buttons_use_the_same_services(alice, alice_client, tenant):
    job = job_start(tenant=tenant, name="buttons", steps=test_steps(2))
    url = reverse("admin:orchestration_job_control", args=[job.pk, "pause"])
    assert alice_client.get(url).status_code == 405  # POST only
    response = alice_client.post(url, follow=True)
    assert response.redirect_chain[-1][0] == reverse("admin:orchestration_job_change", args=[job.pk])
    job.refresh_from_db()
    assert job.status == "paused"
    response = alice_client.post(reverse("admin:orchestration_job_control", args=[job.pk, "pause"]), follow=True)
    assert "Not changed — buttons: cannot pause a job that is paused" in _messages(response)
    alice_client.post(reverse("admin:orchestration_job_control", args=[job.pk, "cancel"]))
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert list(AuditLog.objects.filter(object_id=str(job.pk)).values_list("action", flat=True)) == [
        "job.cancel",
        "job.pause",
    ]


@pytestmark_db
def test_the_step_retry_action_retries_failed_steps_only(alice, alice_client, tenant):
    job = job_start(tenant=tenant, steps=test_steps(2))
    failed, other = Step.objects.filter(job=job).order_by("key")
    Step.objects.filter(pk=failed.pk).update(status="failed", error={"type": "X", "message": "boom"}, attempts=5)
    Job.objects.filter(pk=job.pk).update(failed_steps=1)
    response = _act(alice_client, "orchestration_step", "retry", [failed.id, other.id])
    msgs = _messages(response)
    assert "1 selected steps are not failed and were left alone" in msgs
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.error) == ("ready", 0, None)
    assert _audited("step.retry", failed).actor == alice


@pytestmark_db
def test_tenant_and_campaign_actions_control_all_their_jobs(alice, alice_client, tenant):
    campaign = CampaignFactory(tenant=tenant)
    in_campaign = job_start(tenant=tenant, campaign=campaign, steps=test_steps(1))
    other = job_start(tenant=tenant, steps=test_steps(1))

    _act(alice_client, "campaigns_campaign", "pause_jobs", [campaign.id])
    assert Job.objects.get(pk=in_campaign.pk).status == "paused"
    assert Job.objects.get(pk=other.pk).status == "running"
    assert _audited("campaign.pause", campaign).details == {"jobs": [in_campaign.id]}
    _act(alice_client, "campaigns_campaign", "resume_jobs", [campaign.id])
    assert Job.objects.get(pk=in_campaign.pk).status == "running"

    _act(alice_client, "tenants_tenant", "pause_jobs", [tenant.id])
    assert set(Job.objects.filter(tenant=tenant).values_list("status", flat=True)) == {"paused"}
    _act(alice_client, "tenants_tenant", "resume_jobs", [tenant.id])
    assert set(Job.objects.filter(tenant=tenant).values_list("status", flat=True)) == {"running"}
    _act(alice_client, "campaigns_campaign", "cancel_jobs", [campaign.id])
    assert Job.objects.get(pk=in_campaign.pk).status == "cancelled"
    _act(alice_client, "tenants_tenant", "cancel_jobs", [tenant.id])
    assert Job.objects.get(pk=other.pk).status == "cancelled"
    assert {e.action for e in AuditLog.objects.filter(tenant=tenant)} >= {
        "campaign.pause",
        "campaign.resume",
        "campaign.cancel",
        "tenant.pause",
        "tenant.resume",
        "tenant.cancel",
    }


@pytestmark_db
def test_sender_account_actions_pause_resume_and_forget_the_session(alice, alice_client, tenant):
    from datetime import timedelta

    from django.utils import timezone

    account = SenderAccountFactory(tenant=tenant)
    account.session_state = {"cookies": [{"value": "x"}]}
    account.save()
    SenderAccount.objects.filter(pk=account.pk).update(
        status="cooling_down", cooling_down_until=timezone.now() + timedelta(minutes=10)
    )
    _act(alice_client, "campaigns_senderaccount", "pause", [account.id])
    account.refresh_from_db()
    assert (account.status, account.status_reason) == ("paused", "paused by alice")
    _act(alice_client, "campaigns_senderaccount", "resume", [account.id])
    account.refresh_from_db()
    assert (account.status, account.cooling_down_until) == ("active", None)
    _act(alice_client, "campaigns_senderaccount", "forget_session", [account.id])
    account.refresh_from_db()
    assert account.session_state is None
    assert [e.action for e in AuditLog.objects.filter(object_id=str(account.pk)).order_by("id")] == [
        "sender_account.pause",
        "sender_account.resume",
        "sender_account.forget_session",
    ]


@pytestmark_db
def test_a_new_password_is_write_only_and_an_edit_keeps_the_old_one(alice_client, tenant):
    account = SenderAccountFactory(tenant=tenant)
    account.password = {"password": "old-secret"}
    account.save()
    url = reverse("admin:campaigns_senderaccount_change", args=[account.pk])
    form = alice_client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update(
        {
            "tenant": tenant.pk,
            "name": "Renamed",
            "new_password": "",
            "_save": "Save",
            "working_hours_start": "00:00:00",
            "working_hours_end": "23:59:59",
        }
    )
    response = alice_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    account = SenderAccount.objects.get(pk=account.pk)
    assert account.name == "Renamed" and account.password == {"password": "old-secret"}
    data["new_password"] = "new-secret"
    alice_client.post(url, data)
    assert SenderAccount.objects.get(pk=account.pk).password == {"password": "new-secret"}
    assert "new-secret" not in alice_client.get(url).content.decode()
    assert AuditLog.objects.filter(action="senderaccount.change", object_id=str(account.pk)).count() == 2


@pytestmark_db
def test_creating_an_api_token_shows_its_key_once_and_stores_only_the_hash(alice, alice_client, tenant):
    response = alice_client.post(reverse("admin:tenants_apitoken_add"), {"tenant": tenant.pk, "name": "zapier"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]  # the admin never caches
    page = response.content.decode()
    key = page.split('id="api-token-key"')[1].split(">", 1)[1].split("<", 1)[0]
    token = ApiToken.objects.get(name="zapier")
    assert key.startswith(f"rly_{token.prefix}_")
    assert api_token_authenticate(key) == token
    assert token.created_by == alice
    assert key not in str(ApiToken.objects.filter(pk=token.pk).values().first())
    assert key not in alice_client.get(reverse("admin:tenants_apitoken_change", args=[token.pk])).content.decode()
    assert _audited("api_token.create", token).actor == alice


@pytestmark_db
def test_revoking_tokens_goes_through_the_service(alice, alice_client, tenant):
    token, key = api_token_create(tenant=tenant, name="old")
    _act(alice_client, "tenants_apitoken", "revoke", [token.id])
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert api_token_authenticate(key) is None
    assert _audited("api_token.revoke", token).actor == alice


@pytestmark_db
def test_a_user_with_view_permission_only_cannot_pause_a_job(tenant, client):
    from django.contrib.auth.models import Permission

    from tests.ops.conftest import _user

    viewer = _user(username="victor", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_job"))
    client.force_login(viewer)
    job = job_start(tenant=tenant, steps=test_steps(1))
    assert client.get(reverse("admin:orchestration_job_changelist")).status_code == 200
    _act(client, "orchestration_job", "pause", [job.id])
    client.post(reverse("admin:orchestration_job_control", args=[job.pk, "pause"]))
    assert Job.objects.get(pk=job.pk).status == "running"


@pytestmark_db
def test_admin_edits_and_deletions_are_in_the_audit_log(alice, alice_client, tenant):
    from reachly.orchestration.models import RateLimit

    response = alice_client.post(
        reverse("admin:orchestration_ratelimit_add"),
        {"name": "slow down", "subject": "steps", "per": "global", "limit": "5", "period": "minute", "enabled": "on"},
    )
    assert response.status_code == 302
    rule = RateLimit.objects.get(name="slow down")
    alice_client.post(reverse("admin:orchestration_ratelimit_delete", args=[rule.pk]), {"post": "yes"})
    assert not RateLimit.objects.filter(pk=rule.pk).exists()
    actions = list(
        AuditLog.objects.filter(object_type="orchestration.ratelimit", object_id=str(rule.pk))
        .order_by("id")
        .values_list("action", "actor_name")
    )
    assert actions == [("ratelimit.add", "alice"), ("ratelimit.delete", "alice")]
    page = alice_client.get(reverse("admin:ops_auditlog_changelist")).content.decode()
    assert "ratelimit.delete" in page and "slow down" in page
