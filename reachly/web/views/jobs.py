"""Jobs: the list, and a job's page (step graph, event log, controls).

The controls call the control plane's services; the page does not change
its own status after a click: the change arrives, like every other, as an
event on the WebSocket (live.js), so two people watching see the same.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from reachly.orchestration import selectors, services, states
from reachly.orchestration.models import Job, Step
from reachly.web import graph
from reachly.web.tenancy import TenantRequest, tenant_page
from reachly.web.views.base import json_error, live_config, paginate, wants_json

# Events replayed into the log when the page opens.
LOG_BACKLOG = 50
STATUS_FILTERS = ["running", "paused", "succeeded", "failed", "cancelled"]


def _job(request: TenantRequest, pk: int) -> Job:
    return get_object_or_404(Job.objects.select_related("campaign"), pk=pk, tenant=request.tenant)


@tenant_page
def job_list(request: TenantRequest) -> HttpResponse:
    jobs = selectors.jobs_for(request.tenant).select_related("campaign").order_by("-created_at")
    status = request.GET.get("status", "")
    if status in STATUS_FILTERS:
        jobs = jobs.filter(status=status)
    else:
        status = ""
    return render(
        request,
        "web/jobs/list.html",
        {
            "page": paginate(request, jobs),
            "status": status,
            "statuses": STATUS_FILTERS,
            "extra_query": f"status={status}" if status else "",
            "live": live_config(tenant=request.tenant.id, page="jobs"),
        },
    )


# Jobs up to this size list every step in a table; up to GRAPH_MAX_STEPS
# they get a drawn graph; beyond, counts per agent and status.
TABLE_MAX_STEPS = 200
GRAPH_MAX_STEPS = 20_000


def _graph_context(job: Job) -> dict:
    if job.total_steps > GRAPH_MAX_STEPS:
        counts = selectors.job_step_status_counts(job)
        agents = sorted({agent for agent, _ in counts})
        return {
            "layout": graph.Layout(),
            "live_steps": None,
            "step_count": sum(counts.values()),
            "too_big": [{"agent": a, "counts": {s: n for (ag, s), n in counts.items() if ag == a}} for a in agents],
            "node_w": graph.NODE_W,
            "node_h": graph.NODE_H,
        }
    steps = selectors.job_steps(job, detail=job.total_steps <= TABLE_MAX_STEPS)
    layout = graph.layout(steps)
    return {
        "layout": layout,
        "live_steps": layout.live_steps(),
        "step_count": len(steps),
        "steps": steps if len(steps) <= TABLE_MAX_STEPS else None,
        "node_w": graph.NODE_W,
        "node_h": graph.NODE_H,
    }


@tenant_page
def job_detail(request: TenantRequest, pk: int) -> HttpResponse:
    # The job row first: the page shows the job as of its last_seq, and
    # live.js replays every event after that, so nothing falls in between.
    job = _job(request, pk)
    backlog_from = max(0, job.last_seq - LOG_BACKLOG)
    return render(
        request,
        "web/jobs/detail.html",
        {
            "job": job,
            **_graph_context(job),
            "failed_steps": selectors.job_failed_steps(job),
            "can_write": request.membership.can_write,
            "live": live_config(jobs={job.id: backlog_from}, rendered={job.id: job.last_seq}, page="job", tenant=None),
        },
    )


@tenant_page
def job_graph(request: TenantRequest, pk: int) -> HttpResponse:
    """The graph alone: live.js fetches it once when the planner adds steps."""
    job = _job(request, pk)
    return render(request, "web/jobs/_graph.html", {"job": job, **_graph_context(job)})


CONTROLS = {"pause": services.job_pause, "resume": services.job_resume, "cancel": services.job_cancel}
DONE = {"pause": "Pausing", "resume": "Resuming", "cancel": "Cancelling"}


@require_POST
@tenant_page(write=True)
def job_control(request: TenantRequest, pk: int, action: str) -> HttpResponse:
    if action not in CONTROLS:
        raise Http404("no such action")
    job = _job(request, pk)
    try:
        job = CONTROLS[action](job, by=request.user)
    except states.IllegalTransition as exc:
        message = f"This job is {exc.status}: it cannot be {'cancelled' if action == 'cancel' else action + 'd'}."
        if wants_json(request):
            return json_error(409, message)
        messages.error(request, message)
        return redirect("web:job", pk=job.pk)
    if wants_json(request):
        return JsonResponse({"job": job.pk, "status": job.status}, status=202)
    messages.success(request, f"{DONE[action]} the job.")
    return redirect("web:job", pk=job.pk)


@require_POST
@tenant_page(write=True)
def step_retry(request: TenantRequest, pk: int, step_pk: int) -> HttpResponse:
    job = _job(request, pk)
    step = get_object_or_404(Step, pk=step_pk, job=job)
    try:
        services.step_retry(step, by=request.user)
    except states.IllegalTransition as exc:
        message = "Only a failed step can be retried." if exc.status == "not failed" else f"This job is {exc.status}."
        if wants_json(request):
            return json_error(409, message)
        messages.error(request, message)
        return redirect("web:job", pk=job.pk)
    if wants_json(request):
        return JsonResponse({"job": job.pk, "step": step.pk}, status=202)
    messages.success(request, f"Retrying {step.key}.")
    return redirect("web:job", pk=job.pk)


@require_POST
@tenant_page(write=True)
def job_retry_failed(request: TenantRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    try:
        retried = services.job_retry_failed(job, by=request.user)
    except states.IllegalTransition as exc:
        message = f"This job is {exc.status}: its failed steps cannot be retried."
        if wants_json(request):
            return json_error(409, message)
        messages.error(request, message)
        return redirect("web:job", pk=job.pk)
    if wants_json(request):
        return JsonResponse({"job": job.pk, "steps": len(retried)}, status=202)
    messages.success(request, f"Retrying {len(retried)} failed step{'s' if len(retried) != 1 else ''}.")
    return redirect("web:job", pk=job.pk)
