"""The admin for LLM calls (issue 3's `reachly.llm.LLMCall`), as an isolated hook.

The model lives in another app that may not be installed in this branch yet.
When it is, and that app did not register an admin of its own, this one is
registered: every call with provider, model, tokens, cost, latency and outcome,
and the totals (tokens, cost) of what the changelist shows. Only the fields
the model really has are used, so a renamed column never breaks the admin.
"""

from __future__ import annotations

from django.apps import apps
from django.contrib import admin
from django.db.models import DecimalField, IntegerField, Sum

DISPLAY = [
    "created_at",
    "tenant",
    "step",
    "agent",
    "provider",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cost",
    "cost_usd",
    "latency_ms",
    "outcome",
]
FILTERS = ["provider", "model", "outcome", "agent"]
FOREIGN = ["tenant", "job", "step"]


def model_or_none():
    if not apps.is_installed("reachly.llm"):
        return None
    try:
        return apps.get_model("llm", "LLMCall")
    except LookupError:
        return None


def build_admin(model) -> type[admin.ModelAdmin]:
    names = {f.name for f in model._meta.get_fields()}
    summable = [
        f.name
        for f in model._meta.get_fields()
        if isinstance(f, IntegerField | DecimalField) and ("token" in f.name or "cost" in f.name)
    ]

    class LLMCallAdmin(admin.ModelAdmin):
        list_display = [n for n in DISPLAY if n in names] or ["__str__"]
        list_filter = [n for n in FILTERS if n in names]
        list_select_related = [n for n in FOREIGN if n in names]
        raw_id_fields = [n for n in FOREIGN if n in names]
        change_list_template = "admin/ops/change_list_totals.html"
        show_full_result_count = False

        def has_add_permission(self, request, obj=None):
            return False

        def has_change_permission(self, request, obj=None):
            return False

        def changelist_view(self, request, extra_context=None):
            response = super().changelist_view(request, extra_context)
            cl = getattr(response, "context_data", {}).get("cl")
            if cl is not None and summable:
                response.context_data["totals"] = cl.queryset.aggregate(**{n: Sum(n) for n in summable})
            return response

    return LLMCallAdmin


def register_if_missing(site: admin.AdminSite) -> bool:
    model = model_or_none()
    if model is None or site.is_registered(model):
        return False
    site.register(model, build_admin(model))
    return True
