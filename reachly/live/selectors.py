"""Reads for live clients: event replay and access checks (the tenancy
rule itself is reachly.tenants.tenancy)."""

from __future__ import annotations

from typing import Any

from reachly.orchestration.events import progress
from reachly.orchestration.models import Event, Job
from reachly.tenants.models import Tenant
from reachly.tenants.tenancy import NO_TENANT, NoTenant, Tenancy, resolve

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


def job_of_tenant(job_id: int, tenant_id: int) -> Job | None:
    """Job `job_id` if it belongs to tenant `tenant_id`, else None (another
    tenant's job and a missing one look the same)."""
    return Job.objects.filter(pk=job_id, tenant_id=tenant_id).first()


def tenancy_of_connection(user: Any, *, ticket_tenant_id: int | None, choice: str | None, session: Any) -> Tenancy:
    """The tenancy rule (reachly.tenants.tenancy) for a live connection:
    bound to the ticket's tenant if it came with one (`ticket_tenant_id`),
    else the signed-in `user`'s, with `choice` (the `?tenant=` slug) and the
    session's remembered tenant. Raises the rule's TenancyError (NoTenant
    also for a ticket whose tenant has been deleted since)."""
    if ticket_tenant_id is not None:
        bound = Tenant.objects.filter(pk=ticket_tenant_id).first()
        if bound is None:
            raise NoTenant(NO_TENANT)
        return resolve(bound=bound, choice=choice)
    return resolve(user, choice=choice, session=session)


def active_jobs(tenant_id: int) -> list[dict[str, Any]]:
    """A snapshot for a tenant's dashboard when it subscribes."""
    rows = Job.objects.filter(tenant_id=tenant_id, status__in=["running", "paused"]).values(
        "id", "name", "status", "total_steps", "succeeded_steps", "failed_steps", "cancelled_steps", "last_seq"
    )
    return [
        {"job": r["id"], "name": r["name"], "status": r["status"], "seq": r["last_seq"], "progress": progress(dict(r))}
        for r in rows
    ]
