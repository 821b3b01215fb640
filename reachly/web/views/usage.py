"""Usage: steps, actions, LLM tokens and cost per day (SVG charts), one day's breakdown."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpResponse
from django.shortcuts import render

from reachly.orchestration.usage import tenant_usage, tenant_usage_daily, tenant_usage_day
from reachly.web.charts import bar_chart
from reachly.web.forms import UsageDayForm
from reachly.web.templatetags.web import money
from reachly.web.tenancy import TenantRequest, tenant_page

DAYS = 30


@tenant_page
def usage(request: TenantRequest) -> HttpResponse:
    tenant = request.tenant
    daily = tenant_usage_daily(tenant, days=DAYS)
    form = UsageDayForm(request.GET or None)
    day = daily["last"]
    if form.is_valid() and form.cleaned_data.get("day"):
        chosen = form.cleaned_data["day"]
        if daily["first"] <= chosen <= daily["last"]:
            day = chosen
        else:
            form.add_error("day", f"Choose a day between {daily['first']:%-d %b} and {daily['last']:%-d %b %Y}.")
    days = daily["days"]
    steps = [("succeeded", "Succeeded"), ("failed", "Failed")]
    actions = [("invited", "Invitations"), ("messaged", "Messages")]
    charts = [
        bar_chart("Steps finished", days, steps, selected=day, kind="steps"),
        bar_chart("Outreach actions", days, actions, selected=day, kind="actions"),
        bar_chart("LLM tokens", days, [("llm_tokens", "Tokens")], selected=day, kind="tokens"),
        bar_chart("LLM cost", days, [("llm_cost", "Cost")], fmt=money, selected=day, kind="cost", counts=False),
    ]
    selected = next(d for d in days if d["date"] == day)
    return render(
        request,
        "web/usage.html",
        {
            "charts": charts,
            "daily": daily,
            "day": day,
            "selected": selected,
            "previous_day": day - timedelta(days=1) if day > daily["first"] else None,
            "next_day": day + timedelta(days=1) if day < daily["last"] else None,
            "breakdown": tenant_usage_day(tenant, day),
            "month": tenant_usage(tenant),
            "form": form,
        },
    )
