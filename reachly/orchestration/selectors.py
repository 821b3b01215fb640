"""Reads about jobs and steps for people watching them (the web UI).

Every function takes the tenant (or an object already scoped to it): the
caller cannot read another tenant's jobs by passing an id.

    jobs_for(tenant)                     all of a tenant's jobs (a QuerySet)
    jobs_active(tenant)                  running and paused jobs, newest first
    failures_recent(tenant)              recent jobs with failed steps, with those steps
    job_steps(job)                       a job's steps, as plain dicts (graph, tables)
    job_step_status_counts(job)          {(agent, status): n}

And the backlog for operators (capacity, cluster gauges), for every tenant
(tenant_id None) or one; rows are dicts, tenants are ids (the caller finds
their slugs with reachly.tenants.selectors.slugs):

    backlog_by_agent(tenant_id)          {agent: {ready, scheduled, enqueued, running, waiting, oldest_ready_seconds}}
    in_flight_by_agent_and_tenant(tenant_id)   [{agent, tenant_id, enqueued, running}], busiest first
    backlog_by_tenant(tenant_id)         [{tenant_id, ready, waiting, enqueued, running}], busiest first
    held_back(tenant_id)                 [{agent, reason, steps, next_attempt_at}], steps waiting on a limit
    unfinished_by_agent_and_status()     [{agent, status, n, waiting}], for /metrics/cluster
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet

from reachly.core import sql
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


# ---------------------------------------------------------------------------
# The backlog, for operators (reachly.monitoring): one GROUP BY each, on the
# step table's status index; `tenant_id` None means every tenant.
# ---------------------------------------------------------------------------


def backlog_by_agent(tenant_id: int | None = None) -> dict[str, dict[str, Any]]:
    """Per agent: steps ready and due (`ready`), ready later (`scheduled`),
    `enqueued`, `running`, held back by a limit (`waiting`), and how long
    the oldest due step has waited (`oldest_ready_seconds`, None if none)."""
    rows = sql.fetchall(
        """
        SELECT agent,
               count(*) FILTER (WHERE status = 'ready' AND next_attempt_at <= now()) AS ready,
               count(*) FILTER (WHERE status = 'ready' AND next_attempt_at > now()) AS scheduled,
               count(*) FILTER (WHERE status = 'enqueued') AS enqueued,
               count(*) FILTER (WHERE status = 'running') AS running,
               count(*) FILTER (WHERE status = 'ready' AND next_attempt_at > now() AND wait_reason <> '')
                   AS waiting,
               EXTRACT(EPOCH FROM now() - min(next_attempt_at) FILTER (
                   WHERE status = 'ready' AND next_attempt_at <= now())) AS oldest_ready_seconds
          FROM orchestration_step
         WHERE status IN ('ready', 'enqueued', 'running') AND (%(tenant)s::bigint IS NULL OR tenant_id = %(tenant)s)
         GROUP BY agent
        """,
        {"tenant": tenant_id},
    )
    return {r["agent"]: r for r in rows}


def in_flight_by_agent_and_tenant(tenant_id: int | None = None, limit: int = 500) -> list[dict[str, Any]]:
    """Steps handed to workers (`enqueued`, `running`) per agent and tenant,
    the busiest first (then by agent and tenant id), at most `limit` rows."""
    return sql.fetchall(
        """
        SELECT agent, tenant_id,
               count(*) FILTER (WHERE status = 'enqueued') AS enqueued,
               count(*) FILTER (WHERE status = 'running') AS running
          FROM orchestration_step
         WHERE status IN ('enqueued', 'running') AND (%(tenant)s::bigint IS NULL OR tenant_id = %(tenant)s)
         GROUP BY agent, tenant_id
         ORDER BY count(*) DESC, agent, tenant_id
         LIMIT %(limit)s
        """,
        {"tenant": tenant_id, "limit": limit},
    )


def backlog_by_tenant(tenant_id: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Per tenant: steps `ready` and due, `waiting` on a limit, `enqueued`
    and `running`; the busiest first (then by tenant id), at most `limit`."""
    return sql.fetchall(
        """
        SELECT tenant_id,
               count(*) FILTER (WHERE status = 'ready' AND next_attempt_at <= now()) AS ready,
               count(*) FILTER (WHERE status = 'ready' AND next_attempt_at > now() AND wait_reason <> '')
                   AS waiting,
               count(*) FILTER (WHERE status = 'enqueued') AS enqueued,
               count(*) FILTER (WHERE status = 'running') AS running
          FROM orchestration_step
         WHERE status IN ('ready', 'enqueued', 'running') AND (%(tenant)s::bigint IS NULL OR tenant_id = %(tenant)s)
         GROUP BY tenant_id
         ORDER BY count(*) DESC, tenant_id
         LIMIT %(limit)s
        """,
        {"tenant": tenant_id, "limit": limit},
    )


def held_back(tenant_id: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Ready steps deferred by a limit or a backoff, per agent and
    `reason` (the step's wait_reason): how many, and the next attempt."""
    return sql.fetchall(
        """
        SELECT agent, wait_reason AS reason, count(*) AS steps, min(next_attempt_at) AS next_attempt_at
          FROM orchestration_step
         WHERE status = 'ready' AND next_attempt_at > now() AND wait_reason <> ''
           AND (%(tenant)s::bigint IS NULL OR tenant_id = %(tenant)s)
         GROUP BY agent, wait_reason
         ORDER BY count(*) DESC
         LIMIT %(limit)s
        """,
        {"tenant": tenant_id, "limit": limit},
    )


def unfinished_by_agent_and_status() -> list[dict[str, Any]]:
    """Every tenant's steps not finished yet, per agent and status (`n`),
    with how many of them wait on a limit (`waiting`)."""
    return sql.fetchall(
        """
        SELECT agent, status, count(*) AS n, count(*) FILTER (WHERE wait_reason <> '') AS waiting
          FROM orchestration_step WHERE status IN ('blocked', 'ready', 'enqueued', 'running', 'paused')
         GROUP BY agent, status
        """
    )


def job_campaign_id(job_id: int) -> int | None:
    """The campaign id of job `job_id` (None for a job of no campaign).
    Raises LookupError for an unknown job."""
    row = sql.fetchone("SELECT campaign_id FROM orchestration_job WHERE id = %s", [job_id])
    if row is None:
        raise LookupError(f"job {job_id} does not exist")
    campaign_id: int | None = row["campaign_id"]
    return campaign_id
