"""Recorded events → webhook deliveries, through the control plane.

Subscribed to reachly.orchestration.events inside the transaction that
records the events, so a delivery job commits with its event (a process
dying right after the commit loses no delivery): the events a tenant can
subscribe to are mapped to their
public names (a job's `job.status` succeeded/failed → `job.completed` /
`job.failed`; a `step.status` failed → `step.failed`; `lead.status_changed`)
and, for tenants with matching active endpoints, started as one delivery
job per tenant: one `webhook_delivery` step per (event, endpoint).

Delivery jobs are system jobs (name SYSTEM_PREFIX...): their own events are
never fanned out again, or every delivery would trigger the next.

Cost on the hot path: events that no tenant can subscribe to (step
started, succeeded, progress...) are dropped without a query; the rest cost
one indexed query, plus the job start when someone listens.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from django.db import transaction

from reachly.orchestration.events import subscribe_in_transaction
from reachly.orchestration.graph import GraphError, StepSpec
from reachly.orchestration.models import Job
from reachly.orchestration.services import job_start
from reachly.tenants.models import Tenant
from reachly.webhooks.models import WebhookEndpoint, WebhookEvent

log = logging.getLogger(__name__)

SYSTEM_PREFIX = "system:"
DELIVERY_JOB_NAME = SYSTEM_PREFIX + "webhooks"
DELIVERY_AGENT = "webhook_delivery"


def public_type(event: dict[str, Any]) -> str | None:
    """The subscribable name of a wire event, or None."""
    kind = event.get("type")
    if kind == "job.status":
        outcomes: dict[str | None, str] = {"succeeded": WebhookEvent.JOB_COMPLETED, "failed": WebhookEvent.JOB_FAILED}
        return outcomes.get(event.get("status"))
    if kind == "step.status" and event.get("status") == "failed" and event.get("agent") != DELIVERY_AGENT:
        return WebhookEvent.STEP_FAILED
    if kind == "lead.status_changed":
        return WebhookEvent.LEAD_STATUS_CHANGED
    return None


def envelope(event: dict[str, Any], kind: str, job: Mapping[str, Any]) -> dict[str, Any]:
    """What the receiver gets: {id, type, created, data}."""
    job_info = {"id": job["id"], "name": job["name"], "campaign": job["campaign_id"]}
    if kind in (WebhookEvent.JOB_COMPLETED, WebhookEvent.JOB_FAILED):
        data = {
            "job": {
                **job_info,
                "status": event.get("status"),
                "reason": event.get("reason", ""),
                "progress": event.get("progress"),
            }
        }
    elif kind == WebhookEvent.STEP_FAILED:
        data = {
            "job": job_info,
            "step": {
                "id": event.get("step"),
                "key": event.get("key"),
                "agent": event.get("agent"),
                "error": event.get("error", ""),
            },
        }
    else:
        data = {
            "job": job_info,
            "lead": {"id": event.get("lead"), "status": event.get("status"), "detail": event.get("detail", "")},
        }
    return {"id": f"evt_{event['job']}_{event['seq']}", "type": str(kind), "created": event.get("ts"), "data": data}


@subscribe_in_transaction
def fan_out(events: list[dict[str, Any]]) -> None:
    wanted = [(e, kind) for e in events if (kind := public_type(e))]
    if not wanted:
        return
    # A savepoint: a failure here is logged and leaves the caller's change
    # (a step's outcome, a lead's status) to commit without its webhooks.
    try:
        with transaction.atomic():
            _schedule(wanted)
    except Exception:
        log.exception("webhook deliveries for %d event(s) not scheduled", len(wanted))


def _schedule(wanted: list[tuple[dict[str, Any], str]]) -> None:
    endpoints: dict[int, list[tuple[int, set[str]]]] = defaultdict(list)
    for ep_id, tenant_id, names in WebhookEndpoint.objects.filter(
        tenant_id__in={e["tenant"] for e, _ in wanted}, active=True
    ).values_list("id", "tenant_id", "events"):
        endpoints[tenant_id].append((ep_id, set(names)))
    wanted = [(e, kind) for e, kind in wanted if any(kind in subs for _, subs in endpoints.get(e["tenant"], ()))]
    if not wanted:
        return
    jobs = {
        j["id"]: j for j in Job.objects.filter(id__in={e["job"] for e, _ in wanted}).values("id", "name", "campaign_id")
    }

    per_tenant: dict[int, list[StepSpec]] = defaultdict(list)
    for event, kind in wanted:
        job = jobs.get(event["job"])
        if job is None or job["name"].startswith(SYSTEM_PREFIX):
            continue  # never announce deliveries themselves
        payload = envelope(event, kind, job)
        for endpoint_id, subscribed in endpoints[event["tenant"]]:
            if kind in subscribed:
                per_tenant[event["tenant"]].append(
                    StepSpec(
                        key=f"{kind}.{event['job']}.{event['seq']}.e{endpoint_id}",
                        agent=DELIVERY_AGENT,
                        input={"endpoint": endpoint_id, "event": payload},
                    )
                )
    tenants = Tenant.objects.select_related("plan").in_bulk(list(per_tenant))
    for tenant_id, steps in per_tenant.items():
        try:
            job_start(tenant=tenants[tenant_id], steps=steps, name=DELIVERY_JOB_NAME, system=True)
        except GraphError as exc:  # the tenant is suspended, or its plan lacks the agent
            log.warning("webhooks for tenant %s not scheduled: %s", tenant_id, exc)
