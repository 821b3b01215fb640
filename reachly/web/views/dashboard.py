"""The dashboard: running jobs (live), recent failures, today's sender caps."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render

from reachly.campaigns import selectors as campaign_selectors
from reachly.orchestration import selectors as job_selectors
from reachly.orchestration.usage import tenant_usage
from reachly.web.tenancy import TenantRequest, tenant_page
from reachly.web.views.base import live_config


@tenant_page
def dashboard(request: TenantRequest) -> HttpResponse:
    tenant = request.tenant
    accounts = list(campaign_selectors.sender_accounts_for(tenant).order_by("name")[:20])
    usage = campaign_selectors.sender_account_usage_today(accounts)
    active = job_selectors.jobs_active(tenant)
    return render(
        request,
        "web/dashboard.html",
        {
            "active_jobs": active,
            "failures": job_selectors.failures_recent(tenant),
            "accounts": [
                {"account": a, "usage": usage[a.id], **campaign_selectors.sender_account_summary(a)} for a in accounts
            ],
            "month": tenant_usage(tenant)["totals"],
            "live": live_config(tenant=tenant.id, page="dashboard"),
        },
    )
