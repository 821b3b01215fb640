"""Reads for live clients: event replay and access checks."""

from __future__ import annotations

from typing import Any

from reachly.orchestration.models import Event, Job

REPLAY_LIMIT = 10_000


def events_after(
    job_id: int, after_seq: int, *, before_seq: int | None = None, limit: int = REPLAY_LIMIT
) -> list[dict[str, Any]]:
    """A job's events with after_seq < seq (< before_seq), in order, as sent live."""
    qs = Event.objects.filter(job_id=job_id, seq__gt=after_seq).order_by("seq")
    if before_seq is not None:
        qs = qs.filter(seq__lt=before_seq)
    return [wire(e) for e in qs[:limit]]


def wire(event: Event) -> dict[str, Any]:
    return {
        "type": event.type,
        "job": event.job_id,
        "tenant": event.tenant_id,
        "seq": event.seq,
        "ts": event.ts.isoformat(),
        **({"step": event.step_id} if event.step_id else {}),
        **event.data,
    }


def job_for_tenants(job_id: int, tenant_ids: set[int]) -> Job | None:
    return Job.objects.filter(pk=job_id, tenant_id__in=tenant_ids).first()


def tenant_ids_for_user(user) -> set[int]:
    from reachly.tenants.models import Tenant

    if not user.is_authenticated:
        return set()
    if user.is_staff:
        return set(Tenant.objects.values_list("id", flat=True))
    return set(user.memberships.values_list("tenant_id", flat=True))


def active_jobs(tenant_id: int) -> list[dict[str, Any]]:
    """A snapshot for a tenant's dashboard when it subscribes."""
    from reachly.orchestration.events import progress

    rows = Job.objects.filter(tenant_id=tenant_id, status__in=["running", "paused"]).values(
        "id", "name", "status", "total_steps", "succeeded_steps", "failed_steps", "cancelled_steps", "last_seq"
    )
    return [
        {"job": r["id"], "name": r["name"], "status": r["status"], "seq": r["last_seq"], "progress": progress(dict(r))}
        for r in rows
    ]
