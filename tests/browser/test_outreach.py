"""The outreach agent in real Chromium, in real Celery worker processes,
against the sandbox network served by the live server. Effects are checked
from the target's side: the sandbox's own record."""

from __future__ import annotations

from collections import Counter

import psutil
import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.db import connection

from reachly.campaigns.models import Lead, SenderAccount
from reachly.core import crypto
from reachly.orchestration.graph import StepSpec
from reachly.orchestration.models import Effect, Step, StepAttempt
from reachly.orchestration.services import job_start
from reachly.sandbox import selectors
from reachly.sandbox import services as sandbox
from reachly.sandbox.models import Incident, Member, Session
from tests.browser.conftest import PASSWORD, CountingServer, browser_env, sender
from tests.conftest import wait_for
from tests.factories import CampaignFactory, LeadFactory, SenderAccountFactory, TenantFactory
from tests.helpers import wait_job

pytestmark = [pytest.mark.workers, pytest.mark.browser]


def _world(sandbox_url: str, leads: int, senders: list[str], **lead_knobs):
    """A tenant with sender accounts (sandbox members who can sign in) and
    leads pointing at sandbox profiles."""
    tenant = TenantFactory()
    campaign = CampaignFactory(tenant=tenant)
    accounts = []
    for handle in senders:
        sender(handle)
        accounts.append(SenderAccountFactory(tenant=tenant, name=handle, login=handle, password=PASSWORD))
    rows = []
    for member in sandbox.members_seed(leads, prefix="lead", **lead_knobs):
        first, _, last = member.name.partition(" ")
        rows.append(
            LeadFactory(
                campaign=campaign,
                profile_url=sandbox.profile_url(member, sandbox_url),
                first_name=first,
                last_name=last,
                title=member.title,
                company=member.company,
            )
        )
    return tenant, accounts, rows


def _invite_steps(accounts, leads, per_step: int, notes_from: str = "copy") -> list[StepSpec]:
    """Leads dealt to the accounts in turn, `per_step` leads per outreach step."""
    steps = []
    for a, account in enumerate(accounts):
        mine = [lead.id for lead in leads[a :: len(accounts)]]
        for i in range(0, len(mine), per_step):
            steps.append(
                StepSpec(
                    f"invite-{account.login}-{i}",
                    "outreach",
                    {"action": "invite", "leads": mine[i : i + per_step], "notes_from": notes_from},
                    depends_on=[notes_from],
                    sender_account_id=account.id,
                )
            )
    return steps


def _copy_step(notes: dict[str, str], messages: dict[str, str] | None = None) -> StepSpec:
    """The copywriter's output, from a `test` step (no LLM needed here)."""
    return StepSpec("copy", "test", {"output": {"notes": notes, "messages": messages or {}}})


def _expected_sender(accounts, leads) -> dict[str, str]:
    return {lead.profile_url.rsplit("/", 1)[1]: accounts[i % len(accounts)].login for i, lead in enumerate(leads)}


def _start(workers, sandbox_url, **env):
    workers.start(["control", "agent.test"], beat=True)
    return workers.start(["agent.outreach"], extra_env=browser_env(sandbox_url, **env))


def test_it_invites_20_leads_across_2_accounts_each_exactly_once_with_the_right_note(workers, sandbox_url):
    tenant, accounts, leads = _world(sandbox_url, 20, ["sender-a", "sender-b"], accept_after_seconds=3600)
    # The copywriter wrote notes for all but the last two leads: they get the default.
    notes = {str(lead.id): f"Hi {lead.first_name}, a note written for lead {lead.id}." for lead in leads[:18]}
    # Charlie's lead (another tenant) slipped into a step's input: not touched.
    charlie = sandbox.member_create(handle="charlie-lead", name="Charlie Chaplin")
    charlies_lead = LeadFactory(profile_url=sandbox.profile_url(charlie, sandbox_url))
    steps = _invite_steps(accounts, leads, per_step=5)
    steps[0].input["leads"].append(charlies_lead.id)
    _start(workers, sandbox_url)

    job = job_start(tenant=tenant, steps=[_copy_step(notes), *steps])
    wait_job(job, timeout=180)

    received = selectors.invitations()
    assert len(received) == 20 and not any(i["duplicate"] for i in received)
    by_recipient = {i["recipient"]: i for i in received}
    assert Counter(i["recipient"] for i in received) == Counter({h: 1 for h in by_recipient})
    assert {h: i["sender"] for h, i in by_recipient.items()} == _expected_sender(accounts, leads)
    for lead in leads:
        note = by_recipient[lead.profile_url.rsplit("/", 1)[1]]["note"]
        if str(lead.id) in notes:
            assert note == notes[str(lead.id)]
        else:
            assert note.startswith(f"Hi {lead.first_name},") and lead.company in note and len(note) <= 300

    assert set(Lead.objects.filter(tenant=tenant).values_list("status", flat=True)) == {"invited"}
    assert "charlie-lead" not in by_recipient
    charlies_lead.refresh_from_db()
    assert charlies_lead.status == "new"
    first = Step.objects.get(job=job, key=steps[0].key).output
    assert first["results"][str(charlies_lead.id)] == {"status": "failed", "detail": "no such lead in this tenant"}
    outputs = [s.output for s in Step.objects.filter(job=job, agent="outreach")]
    assert sum(o["counts"].get("invited", 0) for o in outputs) == 20
    # Each account signed in once; its later steps reused the session.
    assert [selectors.login_count(a.login) for a in accounts] == [1, 1]


def test_profile_urls_off_the_network_are_never_opened_with_the_senders_session(workers, sandbox_url):
    """Issue 11, MEDIUM: the outreach agent opened any lead's profile_url (a
    blind SSRF with the sender's session). Only the network's own profiles are
    opened; the others fail, named, and the internal service sees nothing."""
    internal = CountingServer()
    try:
        tenant, accounts, leads = _world(sandbox_url, 1, ["sender-a"], accept_after_seconds=3600)
        campaign = leads[0].campaign
        off = [
            LeadFactory(campaign=campaign, profile_url=f"http://127.0.0.1:{internal.port}/in/x"),
            LeadFactory(campaign=campaign, profile_url="http://169.254.169.254/latest/meta-data"),
            LeadFactory(campaign=campaign, profile_url=f"{sandbox_url}in/../../admin/"),
        ]
        _start(workers, sandbox_url)
        job = job_start(tenant=tenant, steps=[_copy_step({}), *_invite_steps(accounts, [*leads, *off], per_step=5)])
        wait_job(job, timeout=120)

        assert internal.hits == []
        for lead in off:
            lead.refresh_from_db()
            assert lead.status == "failed" and "not a sandbox profile" in lead.status_detail
        assert [i["recipient"] for i in selectors.invitations()] == [leads[0].profile_url.rsplit("/", 1)[1]]
    finally:
        internal.shutdown()


def test_a_challenge_mid_run_cools_the_account_down_and_the_job_completes_after(workers, sandbox_url, settings):
    settings.REACHLY_SANDBOX_CHALLENGE_SECONDS = 1  # the site forgives after a second...
    tenant, accounts, leads = _world(sandbox_url, 10, ["sender-a", "sender-b"], accept_after_seconds=3600)
    # ...sender-a's 5th request shows the challenge (mid-run: after its 1st lead).
    Member.objects.filter(handle="sender-a").update(challenge_in=5)
    _start(workers, sandbox_url, REACHLY_BROWSER_CHALLENGE_COOL_DOWN_SECONDS="3")  # ...we rest 3 s

    job = job_start(tenant=tenant, steps=[_copy_step({}), *_invite_steps(accounts, leads, per_step=5)])
    wait_job(job, timeout=120)

    received = selectors.invitations()
    assert Counter(i["recipient"] for i in received) == Counter({f"lead-{n}": 1 for n in range(1, 11)})
    assert Incident.objects.filter(member__handle="sender-a", kind="challenge").exists()

    a, b = accounts
    a.refresh_from_db()
    # Still resting, or already active again (the reaper ends a finished
    # cool-down); the attempt below is the record that it rested.
    assert (a.status, a.status_reason[:9]) in {("cooling_down", "challenge"), ("active", "")}
    step_a = Step.objects.get(job=job, sender_account=a)
    outcomes_a = list(StepAttempt.objects.filter(step=step_a).values_list("outcome", "error"))
    assert outcomes_a[0][0] == "rate_limited" and "cooling down after challenge" in outcomes_a[0][1]
    assert outcomes_a[-1][0] == "succeeded"
    assert step_a.attempts == 0  # waiting on the account is not a failed attempt
    # The other account was not held back.
    step_b = Step.objects.get(job=job, sender_account=b)
    assert list(StepAttempt.objects.filter(step=step_b).values_list("outcome", flat=True)) == ["succeeded"]
    b.refresh_from_db()
    assert b.status == SenderAccount.Status.ACTIVE


def _chromium_under(pid: int) -> list[psutil.Process]:
    found = []
    for proc in psutil.Process(pid).children(recursive=True):
        try:
            if "chrom" in proc.name():
                found.append(proc)
        except psutil.NoSuchProcess:
            pass
    return found


def test_kill_9_of_the_browser_worker_mid_run_sends_no_invitation_twice(workers, sandbox_url):
    tenant, accounts, leads = _world(sandbox_url, 6, ["sender-a"], accept_after_seconds=3600)
    # The site records each invitation, then answers a moment later: the
    # worker dies not knowing whether its click went through.
    Member.objects.filter(handle="sender-a").update(action_delay_seconds=0.6)
    browser_worker = _start(workers, sandbox_url)

    job = job_start(tenant=tenant, steps=[_copy_step({}), *_invite_steps(accounts, leads, per_step=6)])
    wait_for(lambda: len(selectors.invitations()) >= 3, timeout=60, what="3 invitations")
    chromium = _chromium_under(browser_worker.pid)
    assert chromium, "the browser worker runs Chromium"
    browser_worker.kill9()
    in_doubt = Effect.objects.filter(tenant=tenant, state="started").count()

    workers.start(["agent.outreach"], extra_env=browser_env(sandbox_url))
    wait_job(job, timeout=120)

    received = selectors.invitations()
    assert Counter(i["recipient"] for i in received) == Counter({f"lead-{n}": 1 for n in range(1, 7)})
    assert not any(i["duplicate"] for i in received)
    step = Step.objects.get(job=job, agent="outreach")
    assert "lease_lost" in StepAttempt.objects.filter(step=step).values_list("outcome", flat=True)
    # The click in doubt was settled by looking at the profile, not by clicking again.
    assert in_doubt == 1
    results = [e.result for e in Effect.objects.filter(tenant=tenant, key__contains=":invite:")]
    assert len(results) == 6 and sum(1 for r in results if r.get("verified")) == 1
    # The dead worker's Chromium went with it.
    wait_for(
        lambda: not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in chromium),
        timeout=15,
        what="the killed worker's Chromium to exit",
    )


def test_the_session_survives_a_worker_restart_and_is_unreadable_without_the_key(workers, sandbox_url):
    tenant, accounts, leads = _world(sandbox_url, 4, ["sender-a"], accept_after_seconds=3600)
    (account,) = accounts
    first = _start(workers, sandbox_url)
    job = job_start(tenant=tenant, steps=[_copy_step({}), *_invite_steps(accounts, leads[:2], per_step=2)])
    wait_job(job, timeout=90)
    first.stop()

    workers.start(["agent.outreach"], extra_env=browser_env(sandbox_url))
    job = job_start(tenant=tenant, steps=[_copy_step({}), *_invite_steps(accounts, leads[2:], per_step=2)])
    wait_job(job, timeout=90)

    assert len(selectors.invitations(sender="sender-a")) == 4
    # The second worker restored the signed-in context from the database.
    assert selectors.login_count("sender-a") == 1

    with connection.cursor() as cursor:
        cursor.execute("SELECT session_state FROM campaigns_senderaccount WHERE id = %s", [account.id])
        raw = bytes(cursor.fetchone()[0])
    cookie = Session.objects.get(member__handle="sender-a").key
    assert b"sbx_session" not in raw and cookie.encode() not in raw and b"localStorage" not in raw
    with pytest.raises(InvalidToken):
        Fernet(Fernet.generate_key()).decrypt(raw)
    import json

    state = json.loads(crypto.decrypt(raw))
    assert {c["name"]: c["value"] for c in state["cookies"]}["sbx_session"] == cookie


def test_follow_ups_message_those_who_accepted_and_skip_those_who_do_not_in_time(workers, sandbox_url):
    tenant, accounts, leads = _world(sandbox_url, 3, ["sender-a"])
    Member.objects.filter(handle="lead-1").update(accept_after_seconds=0)
    Member.objects.filter(handle="lead-2").update(accept_after_seconds=1.5)
    Member.objects.filter(handle="lead-3").update(accepts_invitations=False)
    messages = {str(lead.id): f"Thanks for connecting, {lead.first_name}! ({lead.id})" for lead in leads}
    ids = [lead.id for lead in leads]
    _start(workers, sandbox_url)

    job = job_start(
        tenant=tenant,
        steps=[
            _copy_step({}, messages),
            StepSpec(
                "invite",
                "outreach",
                {"action": "invite", "leads": ids, "notes_from": "copy"},
                depends_on=["copy"],
                sender_account_id=accounts[0].id,
            ),
            StepSpec(
                "follow-up",
                "outreach",
                {"action": "follow_up", "leads": ids, "messages_from": "copy", "wait_seconds": 4, "recheck_seconds": 1},
                depends_on=["copy", "invite"],
                sender_account_id=accounts[0].id,
            ),
        ],
    )
    wait_job(job, timeout=120)

    sent = selectors.messages(sender="sender-a")
    assert sorted((m["recipient"], m["body"]) for m in sent) == [
        ("lead-1", messages[str(ids[0])]),
        ("lead-2", messages[str(ids[1])]),
    ]
    output = Step.objects.get(job=job, key="follow-up").output
    assert [output["results"][str(i)]["status"] for i in ids] == ["messaged", "messaged", "skipped"]
    assert dict(Lead.objects.filter(id__in=ids).values_list("id", "status")) == {
        ids[0]: "messaged",
        ids[1]: "messaged",
        ids[2]: "skipped",
    }
    follow = Step.objects.get(job=job, key="follow-up")
    assert StepAttempt.objects.filter(step=follow, outcome="rate_limited", error__contains="waiting for").exists()


def test_pause_stops_between_two_leads_and_resume_continues_without_resending(workers, sandbox_url):
    from reachly.orchestration.services import job_pause, job_resume

    tenant, accounts, leads = _world(sandbox_url, 6, ["sender-a"], accept_after_seconds=3600)
    Member.objects.filter(handle="sender-a").update(action_delay_seconds=0.3)
    _start(workers, sandbox_url)

    job = job_start(tenant=tenant, steps=[_copy_step({}), *_invite_steps(accounts, leads, per_step=6)])
    wait_for(lambda: len(selectors.invitations()) >= 2, timeout=60, what="2 invitations")
    job_pause(job)
    step = Step.objects.get(job=job, agent="outreach")
    wait_for(lambda: Step.objects.get(pk=step.pk).status == "paused", timeout=30, what="the step to pause")
    sent_while_paused = len(selectors.invitations())
    assert 2 <= sent_while_paused < 6
    assert Step.objects.get(pk=step.pk).checkpoint["results"]  # progress kept

    job_resume(job)
    wait_job(job, timeout=90)
    assert Counter(i["recipient"] for i in selectors.invitations()) == Counter({f"lead-{n}": 1 for n in range(1, 7)})


def test_an_accounts_daily_invitation_cap_holds_the_step_until_its_next_day(workers, sandbox_url):
    tenant, accounts, leads = _world(sandbox_url, 5, ["sender-a"], accept_after_seconds=3600)
    SenderAccount.objects.filter(pk=accounts[0].pk).update(daily_invite_cap=3, timezone="Europe/Paris")
    _start(workers, sandbox_url)

    job = job_start(tenant=tenant, steps=[_copy_step({}), *_invite_steps(accounts, leads, per_step=5)])
    step = Step.objects.get(job=job, agent="outreach")
    wait_for(
        lambda: StepAttempt.objects.filter(step=step, outcome="rate_limited").exists(),
        timeout=60,
        what="the cap to stop the step",
    )
    step.refresh_from_db()
    assert len(selectors.invitations()) == 3
    assert step.status == "ready" and f"account:{accounts[0].id}:invite" in step.wait_reason
    assert len(step.checkpoint["results"]) == 3  # the 4th lead waits for tomorrow, not failed
    job.refresh_from_db()
    assert job.status == "running"


def test_a_refused_sign_in_fails_the_step_and_marks_the_account_as_needing_a_login(workers, sandbox_url):
    tenant, accounts, leads = _world(sandbox_url, 2, ["sender-a"])
    account = accounts[0]
    account.password = "not the password"
    account.save(update_fields=["password"])
    _start(workers, sandbox_url)

    job = job_start(tenant=tenant, steps=[_copy_step({}), *_invite_steps(accounts, leads, per_step=2)])
    wait_job(job, "failed", timeout=120)

    account.refresh_from_db()
    assert account.status == "needs_login"
    assert "sign-in refused" in account.status_reason
    step = job.steps.get(agent="outreach")
    assert step.status == "failed" and "sign-in" in step.error["message"]
    assert not selectors.invitations()
