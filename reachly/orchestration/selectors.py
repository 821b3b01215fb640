"""Reads about jobs and steps for people watching them (the web UI).

Every function takes the tenant (or an object already scoped to it): the
caller cannot read another tenant's jobs by passing an id.

    jobs_for(tenant)                     all of a tenant's jobs (a QuerySet)
    jobs_active(tenant)                  running and paused jobs, newest first
    failures_recent(tenant)              recent jobs with failed steps, with those steps
    job_steps(job)                       a job's steps, as plain dicts (graph, tables)
    job_step_status_counts(job)          {(agent, status): n}
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet

from reachly.orchestration.models import Job, JobStatus, Step, StepStatus
from reachly.tenants.models import Tenant

STEP_FIELDS = (
    "id",
    "key",
    "agent",
    "status",
    "depends_on",
    "attempts",
    "max_attempts",
    "error",
    "wait_reason",
    "next_attempt_at",
    "started_at",
    "finished_at",
    "sender_account_id",
)


def jobs_for(tenant: Tenant) -> QuerySet[Job]:
    return Job.objects.filter(tenant=tenant)


def jobs_active(tenant: Tenant, limit: int = 50) -> list[Job]:
    """Running and paused jobs (the job_tenant_status index), newest first."""
    return list(
        Job.objects.filter(tenant=tenant, status__in=[JobStatus.RUNNING, JobStatus.PAUSED])
        .select_related("campaign")
        .order_by("-created_at")[:limit]
    )


def failures_recent(tenant: Tenant, *, jobs: int = 5, steps_per_job: int = 3) -> list[dict[str, Any]]:
    """The tenant's most recent jobs that have failed steps, each with its
    last failed steps and their errors.

    Reads jobs by (tenant, created_at) and steps by job: never a scan of
    the tenant's steps (steps carry no tenant index, on purpose).
    """
    recent = list(
        Job.objects.filter(tenant=tenant, failed_steps__gt=0).select_related("campaign").order_by("-created_at")[:jobs]
    )
    out = []
    for job in recent:
        failed: list[dict[str, Any]] = [
            {**step, "message": error_message(step["error"])}
            for step in Step.objects.filter(job=job, status=StepStatus.FAILED)
            .order_by("-finished_at")
            .values("id", "key", "agent", "error", "finished_at")[:steps_per_job]
        ]
        out.append({"job": job, "steps": failed})
    return out


def error_message(error: Any) -> str:
    """The readable part of a step's stored error ({"type", "message", ...})."""
    if not error:
        return ""
    if isinstance(error, dict):
        message = str(error.get("message") or "")
        kind = str(error.get("type") or "")
        return f"{kind}: {message}" if kind and message else message or kind
    return str(error)


GRAPH_FIELDS = ("id", "key", "agent", "status", "depends_on")


def job_steps(job: Job, *, detail: bool = True) -> list[dict[str, Any]]:
    """A job's steps in id order; detail=False reads only what a graph
    needs (a large job's errors and timestamps stay in the database)."""
    rows = list(Step.objects.filter(job=job).order_by("id").values(*(STEP_FIELDS if detail else GRAPH_FIELDS)))
    if detail:
        for row in rows:
            row["message"] = error_message(row["error"])
    return rows


def job_step_status_counts(job: Job) -> dict[tuple[str, str], int]:
    rows = Step.objects.filter(job=job).values_list("agent", "status").annotate(n=Count("id")).order_by()
    return {(agent, status): n for agent, status, n in rows}


def job_failed_steps(job: Job, limit: int = 50) -> list[dict[str, Any]]:
    return [
        {**row, "message": error_message(row["error"])}
        for row in Step.objects.filter(job=job, status=StepStatus.FAILED)
        .order_by("finished_at", "id")
        .values("id", "key", "agent", "error", "attempts", "finished_at")[:limit]
    ]
