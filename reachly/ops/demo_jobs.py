"""What `manage.py demo` runs: two tenants' jobs side by side."""

from __future__ import annotations

from collections.abc import Callable

from reachly.ops.demo import console
from reachly.orchestration.graph import StepSpec
from reachly.orchestration.models import Job
from reachly.orchestration.services import job_start


def start_demo_jobs(data, stack) -> tuple[list[Job], Callable[[dict], str | None], Callable[[list[Job]], None]]:
    """A 3-level graph of test-agent steps for Acme, a small batch for Globex."""
    fan_out = [StepSpec(f"work-{i:03d}", "test", {"sleep": 0.05}, depends_on=["plan"]) for i in range(240)]
    acme_job = job_start(
        tenant=data.acme,
        name="demo: plan, 240 steps, merge",
        steps=[StepSpec("plan", "test", {"sleep": 0.3}, priority=1), *fan_out,
               StepSpec("merge", "test", {"sleep": 0.2}, depends_on=[s.key for s in fan_out])],
    )  # fmt: skip
    globex_job = job_start(
        tenant=data.globex,
        name="demo: 40 urgent steps",
        steps=[StepSpec(f"task-{i:02d}", "test", {"sleep": 0.05}) for i in range(40)],
        priority=1,
    )
    return [acme_job, globex_job], _describe, _summarise


def _describe(event: dict) -> str | None:
    if event["type"] == "job.status":
        return f"job {event['status']}: {event.get('reason', '')}"
    if event["type"] == "step.status" and event["status"] in ("failed", "retrying", "waiting"):
        return f"step {event['key']} {event['status']} {event.get('error') or event.get('reason') or ''}"
    return None


def _summarise(jobs: list[Job]) -> None:
    for job in jobs:
        job.refresh_from_db()
        seconds = (job.finished_at - job.created_at).total_seconds() if job.finished_at else 0
        done = f"{job.succeeded_steps}/{job.total_steps}"
        console.print(f"  {job.tenant.slug}: {job.status}, {done} steps in {seconds:.1f}s")
