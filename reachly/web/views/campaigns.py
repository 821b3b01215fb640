"""Campaigns: list, create, edit; leads (import with preview, live table); start a job."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from reachly.campaigns import imports, selectors, services
from reachly.campaigns.errors import DomainError
from reachly.campaigns.jobs import campaign_job_start
from reachly.campaigns.models import Campaign, Lead
from reachly.orchestration.graph import GraphError
from reachly.orchestration.models import JobStatus
from reachly.web.forms import CampaignForm, LeadImportForm, StartJobForm, apply_domain_error
from reachly.web.tenancy import TenantRequest, tenant_page
from reachly.web.views.base import is_fragment, live_config, paginate

# Rows shown in a preview, and row errors kept for the page after an import.
PREVIEW_ROWS = 10
ERRORS_SHOWN = 100
IMPORT_RESULT_KEY = "reachly_import_result"


def _campaign(request: TenantRequest, pk: int) -> Campaign:
    return get_object_or_404(Campaign, pk=pk, tenant=request.tenant)


@tenant_page
def campaign_list(request: TenantRequest) -> HttpResponse:
    campaigns = selectors.campaigns_for(request.tenant).prefetch_related("sender_accounts").order_by("-created_at")
    return render(request, "web/campaigns/list.html", {"page": paginate(request, campaigns)})


@tenant_page(write=True)
def campaign_create(request: TenantRequest) -> HttpResponse:
    form = CampaignForm(request.POST or None, tenant=request.tenant)
    if request.method == "POST" and form.is_valid():
        try:
            campaign = services.campaign_create(tenant=request.tenant, **form.service_fields())
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, f"Campaign “{campaign.name}” created. Import its leads next.")
            return redirect("web:campaign", pk=campaign.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "web/campaigns/form.html", {"form": form, "campaign": None}, status=status)


@tenant_page(write=True)
def campaign_edit(request: TenantRequest, pk: int) -> HttpResponse:
    campaign = _campaign(request, pk)
    form = CampaignForm(request.POST or None, tenant=request.tenant, initial=CampaignForm.initial_for(campaign))
    if request.method == "POST" and form.is_valid():
        try:
            services.campaign_update(campaign, **form.service_fields(campaign.settings))
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, "Campaign saved.")
            return redirect("web:campaign", pk=campaign.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "web/campaigns/form.html", {"form": form, "campaign": campaign}, status=status)


def _detail(request: TenantRequest, campaign: Campaign, status: int = 200, **extra) -> HttpResponse:
    leads = Lead.objects.filter(campaign=campaign).order_by("id")
    lead_status = request.GET.get("status", "")
    if lead_status in Lead.Status.values:
        leads = leads.filter(status=lead_status)
    else:
        lead_status = ""
    counts = selectors.lead_status_counts(campaign)
    jobs = list(campaign.jobs.order_by("-created_at")[:10])
    active = {j.id: j.last_seq for j in jobs if j.status in (JobStatus.RUNNING, JobStatus.PAUSED)}
    context = {
        "campaign": campaign,
        "accounts": list(campaign.sender_accounts.defer("password", "session_state").order_by("name")),
        "lead_statuses": [(value, label, counts.get(value, 0)) for value, label in Lead.Status.choices],
        "lead_status": lead_status,
        "page": paginate(request, leads),
        "jobs": jobs,
        "import_form": LeadImportForm(),
        "start_form": StartJobForm(initial={"priority": campaign.priority}),
        "import_result": request.session.pop(IMPORT_RESULT_KEY, None),
        "can_write": request.membership.can_write,
        # Lead changes come on the tenant's stream; the campaign's active
        # jobs are replayed once from the seq the page was rendered at.
        "live": live_config(tenant=request.tenant.id, catch_up=active, rendered=active, page="campaign"),
        **extra,
    }
    return render(request, "web/campaigns/detail.html", context, status=status)


@tenant_page
def campaign_detail(request: TenantRequest, pk: int) -> HttpResponse:
    return _detail(request, _campaign(request, pk))


@require_POST
@tenant_page(write=True)
def lead_import_preview(request: TenantRequest, pk: int) -> HttpResponse:
    """A dry run: the detected columns, the first rows and every row error."""
    campaign = _campaign(request, pk)
    form = LeadImportForm(request.POST, request.FILES)
    preview = None
    if form.is_valid():
        try:
            upload = form.cleaned_data["file"]
            preview = imports.lead_import_preview(campaign=campaign, file=upload.file, sample=PREVIEW_ROWS)
        except DomainError as exc:
            form.add_error("file", exc.message)
    context = {"import_form": form, "preview": preview}
    status = 200 if preview is not None else 400
    if is_fragment(request):
        return render(request, "web/campaigns/_import_preview.html", {"campaign": campaign, **context}, status=status)
    return _detail(request, campaign, status=status, **context)


@require_POST
@tenant_page(write=True)
def lead_import(request: TenantRequest, pk: int) -> HttpResponse:
    campaign = _campaign(request, pk)
    form = LeadImportForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            result = imports.lead_import_csv(campaign=campaign, file=form.cleaned_data["file"].file)
        except DomainError as exc:
            form.add_error("file", exc.message)
        else:
            summary = result.as_dict()
            summary["errors_truncated"] = summary["errors_truncated"] or len(summary["errors"]) > ERRORS_SHOWN
            summary["errors"] = summary["errors"][:ERRORS_SHOWN]
            summary["file"] = form.cleaned_data["file"].name[:200]
            # Post/redirect/get: a reload does not import the file again.
            request.session[IMPORT_RESULT_KEY] = summary
            return redirect("web:campaign", pk=campaign.pk)
    return _detail(request, campaign, status=400, import_form=form)


@require_POST
@tenant_page(write=True)
def campaign_start(request: TenantRequest, pk: int) -> HttpResponse:
    campaign = _campaign(request, pk)
    form = StartJobForm(request.POST)
    if form.is_valid():
        try:
            job = campaign_job_start(campaign, priority=form.cleaned_data["priority"], by=request.user)
        except GraphError as exc:
            field, message = next(iter(exc.errors.items()))
            form.add_error(None, message if field in ("leads", "tenant") else f"{field}: {message}")
        else:
            messages.success(request, f"Job started for “{campaign.name}”.")
            return redirect("web:job", pk=job.pk)
    return _detail(request, campaign, status=400, start_form=form)
