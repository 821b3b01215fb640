"""Shared by the browser benchmarks: the sandbox network served by a real
Reachly web process, and a tenant whose sender accounts and leads live on it.
"""

from __future__ import annotations

import sys
import urllib.request

from harness import Bench, wait_for

from devtools.processes import free_port

PASSWORD = "bench-pass"
# Room for every action of a run: the benchmarks measure speed, not caps.
BIG = 100_000


def serve(bench: Bench) -> str:
    """Start `manage.py runserver` (threaded) on a free port; its sandbox URL."""
    port = free_port()
    bench.procs.spawn(
        "web", [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload", "--skip-checks"]
    )
    url = f"http://127.0.0.1:{port}/sandbox/"

    def up() -> bool:
        try:
            with urllib.request.urlopen(url + "login", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    wait_for(up, timeout=60, interval=0.2, what="the sandbox web server")
    return url


def world(tenant, url: str, senders: int, leads: int, *, prefix: str = "bench"):
    """`senders` accounts (sandbox members with a password) and `leads` leads
    on sandbox profiles that accept nothing during the run."""
    from reachly.campaigns.models import Campaign, Lead, SenderAccount
    from reachly.sandbox import services as sandbox

    campaign = Campaign.objects.create(tenant=tenant, name=f"{prefix} campaign")
    accounts = []
    for member in sandbox.members_seed(senders, prefix=f"{prefix}-sender", password=PASSWORD, actions_per_hour=BIG):
        accounts.append(
            SenderAccount.objects.create(
                tenant=tenant,
                name=member.name,
                login=member.handle,
                password=PASSWORD,
                daily_invite_cap=BIG,
                daily_visit_cap=BIG,
                daily_message_cap=BIG,
            )
        )
    rows = []
    for member in sandbox.members_seed(leads, prefix=f"{prefix}-lead", accepts_invitations=False):
        first, _, last = member.name.partition(" ")
        rows.append(
            Lead.objects.create(
                tenant=tenant,
                campaign=campaign,
                profile_url=sandbox.profile_url(member, url),
                first_name=first,
                last_name=last,
                title=member.title,
                company=member.company,
            )
        )
    return accounts, rows


def invite_steps(accounts, leads, per_step: int, prefix: str = "invite"):
    """Leads dealt to the accounts in turn, `per_step` per outreach step."""
    from reachly.orchestration.graph import StepSpec

    steps = []
    for a, account in enumerate(accounts):
        mine = [lead.id for lead in leads[a :: len(accounts)]]
        for i in range(0, len(mine), per_step):
            steps.append(
                StepSpec(
                    f"{prefix}-{a}-{i}",
                    "outreach",
                    {"action": "invite", "leads": mine[i : i + per_step]},
                    sender_account_id=account.id,
                )
            )
    return steps


def run_job(tenant, steps, timeout: float = 600):
    from reachly.orchestration.models import Job
    from reachly.orchestration.services import job_start

    job = job_start(tenant=tenant, steps=steps)
    wait_for(
        lambda: Job.objects.filter(pk=job.pk, status__in=["succeeded", "failed"]).exists(),
        timeout=timeout,
        interval=0.05,
        what=f"job {job.id}",
    )
    job.refresh_from_db()
    if job.status != "succeeded":
        errors = list(job.steps.exclude(error=None).values_list("key", "error")[:3])
        raise RuntimeError(f"job {job.id} {job.status}: {errors}")
    return job
