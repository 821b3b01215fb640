"""What `manage.py demo` runs: each demo tenant's campaign, side by side.

Acme (Agency plan) has the activity planner: its job starts with the plan,
which extends the job with the copywriter, outreach and analyst steps.
Globex (Pro plan) has no planner: its job is the same default graph, built
directly. The outreach agent works both tenants' leads in Chromium on the
sandbox network; the terminal follows the events; the analyst's summary
closes each job.
"""

from __future__ import annotations

from collections.abc import Callable

from devtools.demo.stack import console
from reachly.campaigns.jobs import campaign_job_start
from reachly.campaigns.models import Lead
from reachly.orchestration.models import Job, Step
from reachly.sandbox import selectors as sandbox

# Environment for every demo process: human pacing shortened so the demo
# takes minutes, not hours; follow-ups look for acceptances every few seconds.
DEMO_ENV = {
    "REACHLY_BROWSER_PACE_MIN_SECONDS": "0.2",
    "REACHLY_BROWSER_PACE_MAX_SECONDS": "0.8",
    "REACHLY_FOLLOW_UP_RECHECK_SECONDS": "6",
    "REACHLY_FOLLOW_UP_WAIT_SECONDS": "180",
}


def start_demo_jobs(data, stack) -> tuple[list[Job], Callable[[dict], str | None], Callable[[list[Job]], None]]:
    jobs = [campaign_job_start(campaign, by=data.admin) for campaign in data.campaigns]
    for campaign, job in zip(data.campaigns, jobs, strict=True):
        job.name = job.name or campaign.name
    names = dict(Lead.objects.filter(campaign__in=data.campaigns).values_list("id", "full_name"))
    return jobs, lambda event: _describe(event, names), _summarise


def _describe(event: dict, names: dict[int, str]) -> str | None:
    kind = event["type"]
    if kind == "job.status":
        reason = event.get("reason")
        return f"[bold]job {event['status']}[/]" + (f": {reason}" if reason else "")
    if kind == "lead.status_changed":
        who = names.get(event["lead"], f"lead {event['lead']}")
        return f"{who}: [cyan]{event['status']}[/] ({event.get('detail', '')})"
    if kind == "step.status":
        if event["status"] in ("failed", "retrying", "waiting"):
            return f"step {event['key']} {event['status']}: {event.get('error') or event.get('reason') or ''}"
        if event["status"] == "succeeded" and event["agent"] != "outreach":
            return f"step {event['key']} ({event['agent']}) done"
    return None


def _summarise(jobs: list[Job]) -> None:
    console.print()
    for job in jobs:
        job.refresh_from_db()
        seconds = (job.finished_at - job.created_at).total_seconds() if job.finished_at else 0
        console.print(
            f"[bold]{job.tenant.slug}[/]: {job.name} — {job.status}, "
            f"{job.succeeded_steps}/{job.total_steps} steps in {seconds:.0f}s"
        )
        summary = Step.objects.filter(job=job, agent="data_analyst", status="succeeded").first()
        if summary and summary.output:
            console.print(f"  [italic]{summary.output.get('headline', '')}[/]")
            console.print(f"  {summary.output.get('summary', '')}")
    # What the target network itself recorded for this run's leads.
    handles = {url.rstrip("/").rsplit("/", 1)[-1] for url in Lead.objects.filter(
        campaign__in=[j.campaign_id for j in jobs]).values_list("profile_url", flat=True)}  # fmt: skip
    invitations = [i for i in sandbox.invitations() if i["recipient"] in handles]
    messages = [m for m in sandbox.messages() if m["recipient"] in handles]
    console.print(
        f"\nThe sandbox network received {len(invitations)} invitations for {len(handles)} leads "
        f"({sum(1 for i in invitations if i.get('duplicate'))} duplicates) and {len(messages)} follow-up messages."
    )
