"""The control plane's service API: the one door for views, the admin, the
API, management commands and tasks.

    job_start(tenant=..., steps=[StepSpec(...)])      a job from a step graph
    job_pause(job) / job_resume(job) / job_cancel(job)
    step_retry(step) / job_retry_failed(job)
    campaign_pause / campaign_resume / campaign_cancel
    tenant_pause / tenant_resume / tenant_cancel
    lane_set(account_id, ...)                          a sender account's admission state

Everything commits in one transaction; broker messages and Redis signals go
out after commit (principle 1). Illegal transitions raise IllegalTransition.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from agents import registry
from reachly.core import sql
from reachly.orchestration import graph, signals, states, transitions, usage
from reachly.orchestration.events import NewEvent, emit, progress, record
from reachly.orchestration.graph import GraphError, StepSpec
from reachly.orchestration.models import (
    TERMINAL_STEP_STATUSES,
    Job,
    JobStatus,
    Lane,
    Step,
    StepStatus,
    UsageCounter,
)
from reachly.tenants.models import Tenant
from reachly.tenants.selectors import allocations

if TYPE_CHECKING:
    # Only a type: the control plane sits below campaigns (docs/architecture.md).
    from reachly.campaigns.models import Campaign

BULK_BATCH = 2000

# Who asked for a change: a user, or nobody (the system). Callers pass
# request.user as it is; an anonymous user is recorded as nobody.
Actor = AbstractBaseUser | AnonymousUser | None


def _actor(user: Actor) -> dict[str, Any]:
    return {"by": user.get_username()} if user is not None and user.is_authenticated else {}


# ---------------------------------------------------------------------------
# Starting jobs
# ---------------------------------------------------------------------------


def job_start(
    *,
    tenant: Tenant,
    steps: list[StepSpec],
    campaign: Campaign | None = None,
    name: str = "",
    priority: int | None = None,
    created_by: Actor = None,
    system: bool = False,
) -> Job:
    """Create a job and its steps in one transaction; dispatch after commit.

    Priority of a step: its own, else the job's, else its agent's default.
    Raises GraphError (naming `steps[i].field`) for an invalid graph, and
    naming `steps` when the plan cannot take this many steps (see
    `_check_plan_room`); `system` jobs (webhook deliveries Reachly starts
    itself, inside the transaction of an event) skip that check, since
    refusing them would refuse the event; the dispatcher's monthly limit
    still holds them.
    """
    if priority is not None and priority not in graph.PRIORITIES:
        raise GraphError({"priority": graph.PRIORITY_ERROR})
    ordered = graph.validate(steps)
    _check_tenant_may_run(tenant, steps)
    if not system:
        _check_plan_room(tenant, len(steps))

    with transaction.atomic():
        job = Job.objects.create(
            tenant=tenant,
            campaign=campaign,
            name=name[:200],
            priority=priority or graph.Priority.NORMAL,
            # Job.created_by is an auth.User (an anonymous user is none).
            created_by=created_by if isinstance(created_by, User) and created_by.is_authenticated else None,
            total_steps=len(steps),
            started_at=timezone.now(),
            last_progress_at=timezone.now(),
        )
        rows = _step_rows(job, ordered, priority=priority)
        Step.objects.bulk_create(rows, batch_size=BULK_BATCH)
        _link_downstream(rows)
        emit(
            job.id,
            [
                NewEvent(
                    "job.status",
                    {"status": JobStatus.RUNNING, "reason": "started", "total": len(rows), **_actor(created_by)},
                )
            ],
        )
        signals.trigger_dispatch({s.agent for s in rows if s.status == StepStatus.READY})
    return job


def _step_rows(
    job: Job,
    specs: list[StepSpec],
    *,
    priority: int | None,
    unmet: Callable[[str], bool] = lambda key: True,
    ready: str = StepStatus.READY,
) -> list[Step]:
    """The Step rows (unsaved, in `specs`' order) for a job's new steps, as
    job_start and job_extend create them.

    A step waits (blocked) for its dependencies for which `unmet(key)` is
    true (default: all of them); one with none is `ready` (READY, or PAUSED
    when added to a paused job) and due now, by the database's clock.
    Priority: the step's own, else `priority` (the job's), else its agent's
    default. Attempts: the step's max_attempts, else REACHLY_MAX_ATTEMPTS.
    """
    now = sql.db_now()
    rows = []
    for spec in specs:
        depends_on = set(spec.depends_on)
        waiting = {d for d in depends_on if unmet(d)}
        rows.append(
            Step(
                job=job,
                tenant_id=job.tenant_id,
                key=spec.key,
                agent=spec.agent,
                input=spec.input,
                depends_on=sorted(depends_on),
                pending_deps=len(waiting),
                priority=spec.priority or priority or registry.get(spec.agent).default_priority,
                status=StepStatus.BLOCKED if waiting else ready,
                next_attempt_at=None if waiting else now,
                sender_account_id=spec.sender_account_id,
                lane=spec.sender_account_id or 0,
                max_attempts=spec.max_attempts or settings.REACHLY_MAX_ATTEMPTS,
            )
        )
    return rows


def _check_tenant_may_run(tenant: Tenant, steps: list[StepSpec]) -> None:
    errors: dict[str, str] = {}
    if tenant.status != Tenant.Status.ACTIVE:
        raise GraphError({"tenant": f"tenant {tenant.slug} is {tenant.status}"})
    allowed = allocations([tenant.id], {s.agent for s in steps})
    account_ids = {s.sender_account_id for s in steps if s.sender_account_id is not None}
    # Every sender account has a lane (the accounts service keeps it), so the
    # control plane checks ownership on its own table.
    own_accounts = set(
        Lane.objects.filter(tenant=tenant, account_id__in=account_ids).values_list("account_id", flat=True)
    )
    for i, spec in enumerate(steps):
        if not allowed[(tenant.id, spec.agent)].enabled:
            errors[f"steps[{i}].agent"] = (
                f"agent {spec.agent!r} is not enabled for this tenant (plan {tenant.plan.name})"
            )
        if spec.sender_account_id is not None and spec.sender_account_id not in own_accounts:
            errors[f"steps[{i}].sender_account"] = f"no sender account {spec.sender_account_id} in this tenant"
        elif spec.sender_account_id is None and registry.get(spec.agent).needs_account:
            errors[f"steps[{i}].sender_account"] = f"the {spec.agent} agent needs a sender account"
    if errors:
        raise GraphError(errors)


def _check_plan_room(tenant: Tenant, new_steps: int) -> None:
    """Refuse a job its tenant's plan can never run this month, and one that
    would take the tenant's waiting steps past REACHLY_TENANT_PENDING_STEPS_MAX.

    Room this month = the plan's monthly_step_limit - steps counted this
    month (UsageCounter) - steps waiting that will be counted when they
    start. A Free tenant (1,000 steps a month) asking for 70,000 steps got a
    201 after 33 s of server time; now it gets a 400 naming the limit.
    Raises GraphError({"steps": ...}).
    """
    waiting = Step.objects.filter(
        tenant=tenant, counted=False, status__in=[s for s in StepStatus.values if s not in TERMINAL_STEP_STATUSES]
    ).count()
    cap = settings.REACHLY_TENANT_PENDING_STEPS_MAX
    if waiting + new_steps > cap:
        message = f"this tenant has {waiting:,} steps waiting; at most {cap:,} may wait (this job adds {new_steps:,})"
        raise GraphError({"steps": message})
    limit = tenant.plan.monthly_step_limit
    if limit is None:
        return
    used = UsageCounter.objects.filter(tenant=tenant, month=usage.month_start()).aggregate(n=Sum("steps"))["n"] or 0
    if used + waiting + new_steps > limit:
        room = max(0, limit - used - waiting)
        raise GraphError(
            {
                "steps": f"the {tenant.plan.name} plan runs {limit:,} steps a month; {used:,} ran and {waiting:,} wait,"
                f" so {room:,} more fit this month and this job has {new_steps:,}"
            }
        )


def _link_downstream(rows: list[Step]) -> None:
    """Store each step's dependents' ids, so finishing it is one UPDATE."""
    by_key = {s.key: s.id for s in rows}
    children: dict[int, list[int]] = defaultdict(list)
    for s in rows:
        for dep in s.depends_on:
            children[by_key[dep]].append(s.id)
    if not children:
        return
    parents = [p for p, kids in children.items() for _ in kids]
    kids = [k for ks in children.values() for k in ks]
    sql.execute(
        """
        UPDATE orchestration_step s SET downstream = d.ids
          FROM (SELECT parent, array_agg(child) AS ids
                  FROM unnest(%s::bigint[], %s::bigint[]) AS e(parent, child) GROUP BY parent) d
         WHERE s.id = d.parent
        """,
        [parents, kids],
    )


# ---------------------------------------------------------------------------
# Job control
# ---------------------------------------------------------------------------


def _set_job_status(
    job: Job,
    action: str,
    reason: str,
    by: Actor,
    cancelled_steps: int = 0,
    data: dict[str, Any] | None = None,
) -> None:
    """Move the job row (after the step updates: steps-then-job lock order)
    and record its event. `action` is "pause", "resume" or "cancel";
    raises IllegalTransition when the job's status does not allow it."""
    row = transitions.control_job(job.id, action, reason, cancelled_steps)
    if row is None:
        job.refresh_from_db(fields=["status"])
        raise states.IllegalTransition(action, job.status)
    status = states.JOB_TRANSITIONS[action].target
    record(
        row,
        [
            NewEvent(
                "job.status",
                {"status": status, "reason": reason, "progress": progress(row), **(data or {}), **_actor(by)},
            )
        ],
    )


def job_pause(job: Job, *, by: Actor = None) -> Job:
    """Stop a job at the next safe points; resume continues from checkpoints."""
    states.check("pause", job.status)
    with transaction.atomic():
        parked = transitions.pause_job_steps(job.id)
        _set_job_status(job, "pause", "paused", by, data={"steps_paused": parked})
        transaction.on_commit(lambda: signals.stop_set("job", job.id, "pause"))
    job.refresh_from_db()
    return job


def job_resume(job: Job, *, by: Actor = None) -> Job:
    states.check("resume", job.status)
    with transaction.atomic():
        rows = transitions.resume_job_steps(job.id)
        signals.stop_clear("job", job.id)
        _set_job_status(job, "resume", "resumed", by)
        signals.trigger_dispatch({r["agent"] for r in rows})
    job.refresh_from_db()
    return job


def job_cancel(job: Job, *, by: Actor = None) -> Job:
    """Cancel at once: nothing of the job is admitted or running afterwards.

    Running steps lose their lease (fencing token bumped): their workers stop
    at the next safe point and can no longer write.
    """
    states.check("cancel", job.status)
    with transaction.atomic():
        running = transitions.cancel_job_steps(job.id)
        sql.execute(
            """
            UPDATE orchestration_stepattempt a SET outcome = 'cancelled', finished_at = now()
              FROM unnest(%s::bigint[], %s::bigint[]) AS r(id, token)
             WHERE a.step_id = r.id AND a.fencing_token = r.token AND a.outcome = 'running'
            """,
            [[r["id"] for r in running], [r["old_token"] for r in running]],
        )
        _set_job_status(
            job, "cancel", "cancelled", by, cancelled_steps=len(running), data={"steps_cancelled": len(running)}
        )
        transaction.on_commit(lambda: signals.stop_set("job", job.id, "cancel"))
    job.refresh_from_db()
    return job


def step_retry(step: Step, *, by: Actor = None) -> Step:
    """Run a failed step again from scratch (its attempts reset); reopens
    its job if the job had failed."""
    return _retry_steps(step.job, [step.id], by)[0]


def job_retry_failed(job: Job, *, by: Actor = None) -> list[Step]:
    ids = list(job.steps.filter(status=StepStatus.FAILED).values_list("id", flat=True))
    if not ids:
        return []
    return _retry_steps(job, ids, by)


def _retry_steps(job: Job, step_ids: list[int], by: Actor) -> list[Step]:
    job.refresh_from_db(fields=["status"])
    states.check("retry", job.status)
    with transaction.atomic():
        rows = transitions.retry_steps(job.id, step_ids)
        if len(rows) != len(step_ids):
            raise states.IllegalTransition("retry", "not failed")
        emit(
            job.id,
            [
                NewEvent(
                    "step.status",
                    {
                        "key": r["key"],
                        "agent": r["agent"],
                        "status": r["status"],
                        "reason": "retry requested",
                        **_actor(by),
                    },
                    step_id=r["id"],
                )
                for r in rows
            ],
            job_updates="failed_steps = failed_steps - %(retried)s, last_progress_at = now()",
            params={"retried": len(rows)},
        )
        if job.status == JobStatus.FAILED:
            reopened = transitions.reopen_job(job.id)
            if reopened is not None:
                record(
                    reopened,
                    [NewEvent("job.status", {"status": "running", "reason": "retrying failed steps", **_actor(by)})],
                )
        signals.trigger_dispatch({r["agent"] for r in rows})
    return list(Step.objects.filter(id__in=step_ids))


# ---------------------------------------------------------------------------
# The same controls for many jobs: a campaign's, a tenant's
# ---------------------------------------------------------------------------


def _each(jobs: Iterable[Job], action: Callable[[Job], Job]) -> list[Job]:
    done: list[Job] = []
    for job in jobs:
        try:
            done.append(action(job))
        except states.IllegalTransition:
            continue  # it finished or changed meanwhile; the rest go on
    return done


def campaign_pause(campaign: Campaign, *, by: Actor = None) -> list[Job]:
    return _each(campaign.jobs.filter(status=JobStatus.RUNNING), lambda j: job_pause(j, by=by))


def campaign_resume(campaign: Campaign, *, by: Actor = None) -> list[Job]:
    return _each(campaign.jobs.filter(status=JobStatus.PAUSED), lambda j: job_resume(j, by=by))


def campaign_cancel(campaign: Campaign, *, by: Actor = None) -> list[Job]:
    return _each(campaign.jobs.filter(status__in=[JobStatus.RUNNING, JobStatus.PAUSED]), lambda j: job_cancel(j, by=by))


def tenant_pause(tenant: Tenant, *, by: Actor = None) -> list[Job]:
    return _each(tenant.jobs.filter(status=JobStatus.RUNNING), lambda j: job_pause(j, by=by))


def tenant_resume(tenant: Tenant, *, by: Actor = None) -> list[Job]:
    return _each(tenant.jobs.filter(status=JobStatus.PAUSED), lambda j: job_resume(j, by=by))


def tenant_cancel(tenant: Tenant, *, by: Actor = None) -> list[Job]:
    return _each(tenant.jobs.filter(status__in=[JobStatus.RUNNING, JobStatus.PAUSED]), lambda j: job_cancel(j, by=by))


# ---------------------------------------------------------------------------
# Lanes: a sender account's admission state (the accounts service calls these)
# ---------------------------------------------------------------------------


def lane_set(account_id: int, *, tenant_id: int, admitting: bool, resume_at: datetime | None, timezone: str) -> None:
    """Record whether sender account `account_id`'s lane admits steps.

    admitting: False while the account is paused, needs a login or is
        disabled; its running step, if any, stops at its next safe point (a
        Redis stop flag, set after commit) and goes back to ready.
    resume_at: the end of a cool-down (an aware datetime, UTC in the
        database), or None; until then no step is admitted on the lane. A
        cool-down sets no stop flag (the step that hit it waits by itself,
        and a flag would outlive the cool-down).
    timezone: the account's IANA zone name, carried in each step's message
        (daily caps count calendar days there).

    When the lane opens again (admitting after not, or a cool-down lifted),
    the stop flag is cleared and the dispatcher looks at the agents whose
    ready steps use the account. Idempotent; creates the row if missing.
    Runs in (or as) a transaction; Redis calls go out after commit.
    """
    with transaction.atomic():
        before = Lane.objects.select_for_update().filter(pk=account_id).values("admitting", "resume_at").first()
        Lane.objects.update_or_create(
            account_id=account_id,
            defaults={"tenant_id": tenant_id, "admitting": admitting, "resume_at": resume_at, "timezone": timezone},
        )
        if not admitting:
            if before is None or before["admitting"]:
                transaction.on_commit(lambda: signals.stop_set("account", account_id, "account_pause"))
            return
        if before is not None and (not before["admitting"] or (before["resume_at"] and resume_at is None)):
            transaction.on_commit(lambda: signals.stop_clear("account", account_id))
            roles = Step.objects.filter(sender_account_id=account_id, status=StepStatus.READY).values_list(
                "agent", flat=True
            )
            signals.trigger_dispatch(set(roles))


def job_extend(job: Job, steps: list[StepSpec], *, by: Actor = None) -> list[Step]:
    """Add steps to a running job (the planner's graph, a follow-up round).

    New steps may depend on each other and on the job's existing steps;
    dependencies already succeeded count as met. Keys must be new.
    """
    existing_keys = set(Step.objects.filter(job=job).values_list("key", flat=True))
    ordered = graph.validate_extension(steps, existing_keys)
    new_keys = {s.key for s in steps}
    _check_tenant_may_run(job.tenant, steps)
    old_deps = sorted({d for s in steps for d in s.depends_on if d not in new_keys})

    with transaction.atomic():
        # Lock the existing dependencies first (steps before the job row,
        # like every other path): none of them can finish while we link.
        deps = {
            r["key"]: r
            for r in sql.fetchall(
                "SELECT id, key, status FROM orchestration_step WHERE job_id = %s AND key = ANY(%s) FOR UPDATE",
                [job.id, old_deps],
            )
        }
        job.refresh_from_db(fields=["status", "priority"])
        if job.status not in (JobStatus.RUNNING, JobStatus.PAUSED):
            raise states.IllegalTransition("extend", job.status)

        def unmet(key: str) -> bool:
            return key in new_keys or deps[key]["status"] != StepStatus.SUCCEEDED

        ready = StepStatus.PAUSED if job.status == JobStatus.PAUSED else StepStatus.READY
        rows = _step_rows(job, ordered, priority=job.priority, unmet=unmet, ready=ready)
        Step.objects.bulk_create(rows, batch_size=BULK_BATCH)
        ids = {k: r["id"] for k, r in deps.items()} | {r.key: r.id for r in rows}
        edges = [(ids[d], r.id) for r in rows for d in set(r.depends_on) if unmet(d)]
        if edges:
            sql.execute(
                """
                UPDATE orchestration_step s SET downstream = s.downstream || d.ids
                  FROM (SELECT parent, array_agg(child) AS ids
                          FROM unnest(%s::bigint[], %s::bigint[]) AS e(parent, child) GROUP BY parent) d
                 WHERE s.id = d.parent
                """,
                [[p for p, _ in edges], [c for _, c in edges]],
            )
        emit(
            job.id,
            lambda row: [
                NewEvent(
                    "job.status",
                    {
                        "status": row["status"],
                        "reason": f"{len(rows)} steps added",
                        "progress": progress(row),
                        **_actor(by),
                    },
                )
            ],
            job_updates="total_steps = total_steps + %(added)s",
            params={"added": len(rows)},
        )
        signals.trigger_dispatch({r.agent for r in rows if r.status == StepStatus.READY})
    return rows
