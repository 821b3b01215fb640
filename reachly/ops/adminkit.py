"""Small pieces the admin modules share: service-backed actions that record
who did what, readable JSON, and an audit-aware ModelAdmin base.

Admin actions are thin doors: they call the domain services (never raw
updates), turn IllegalTransition into a readable message, and write one
AuditLog row per changed object in the same transaction as the change.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from django.contrib import admin, messages
from django.db import models, transaction
from django.db.models import Sum
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from reachly.ops.services import audit_record
from reachly.orchestration import services
from reachly.orchestration.states import IllegalTransition

M = TypeVar("M", bound=models.Model)

if TYPE_CHECKING:
    # The mixins below are only ever mixed into a ModelAdmin; the type
    # checker needs to know it (ModelAdmin is not subscriptable at run time).
    _ModelAdminMixinBase = admin.ModelAdmin[Any]
else:
    _ModelAdminMixinBase = object


def pretty_json(value: Any) -> str:
    """A JSON value as an indented, escaped <pre> block ("-" when empty)."""
    if value in (None, {}, []):
        return "-"
    text = json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)
    return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', text)


def admin_link(obj: models.Model | None, text: str | None = None) -> str:
    if obj is None:
        return "-"
    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, text if text is not None else str(obj))


def changelist_link(model: type[models.Model], text: str, **filters: Any) -> str:
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    query = "&".join(f"{k}={v}" for k, v in filters.items())
    return format_html('<a href="{}?{}">{}</a>', url, query, text)


def html_table(headers: list[str], rows: Iterable[Iterable[Any]]) -> str:
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((c,) for c in row)),) for row in rows),
    )
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)


def run_service_action(
    request: HttpRequest,
    objects: Iterable[M],
    *,
    action: str,
    verb: str,
    call: Callable[[M], Any],
    details: Callable[[M, Any], dict[str, Any]] | None = None,
) -> list[M]:
    """Apply a service call to each object; report what changed and what was
    refused (an illegal transition) as admin messages; audit each change."""
    done: list[M] = []
    refused: list[str] = []
    for obj in objects:
        try:
            with transaction.atomic():
                result = call(obj)
                audit_record(
                    actor=request.user,
                    action=action,
                    obj=obj,
                    details=details(obj, result) if details else {},
                )
        except IllegalTransition as exc:
            refused.append(f"{obj}: {exc}")
            continue
        done.append(obj)
    if done:
        names = ", ".join(str(o) for o in done[:10]) + (" …" if len(done) > 10 else "")
        messages.success(request, f"{verb} {len(done)}: {names}.")
    if refused:
        messages.warning(request, "Not changed — " + "; ".join(refused))
    return done


class AuditedModelAdmin(admin.ModelAdmin):
    """Mirrors the admin's own add/change/delete log into the AuditLog, so
    one trail shows both controls and edits."""

    def log_addition(self, request, obj, message):
        entry = super().log_addition(request, obj, message)
        audit_record(actor=request.user, action=f"{obj._meta.model_name}.add", obj=obj)
        return entry

    def log_change(self, request, obj, message):
        entry = super().log_change(request, obj, message)
        audit_record(actor=request.user, action=f"{obj._meta.model_name}.change", obj=obj, details={"changes": message})
        return entry

    def log_deletions(self, request, queryset):
        for obj in queryset:
            audit_record(actor=request.user, action=f"{obj._meta.model_name}.delete", obj=obj)
        return super().log_deletions(request, queryset)


class TotalsMixin(_ModelAdminMixinBase):
    """A changelist with the sums of `totals` over the filtered rows (every
    page, not just the one shown): tokens and cost of LLM calls, usage."""

    change_list_template = "admin/ops/change_list_totals.html"
    totals: tuple[str, ...] = ()

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None)
        if context and context.get("cl") is not None and self.totals:
            context["totals"] = context["cl"].queryset.aggregate(**{name: Sum(name) for name in self.totals})
        return response


class ReadOnlyAdmin(admin.ModelAdmin):
    """History and ledgers: operators look, they do not edit or delete."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class JobControlsMixin(_ModelAdminMixinBase):
    """Pause, resume or cancel every job of the selected tenants or campaigns,
    through the orchestration services (`<scope>_pause` ...), audited."""

    job_control_scope: str  # "tenant" or "campaign"
    actions = ["pause_jobs", "resume_jobs", "cancel_jobs"]

    def _control_jobs(self, request, queryset, verb_key: str, verb: str) -> None:
        service = getattr(services, f"{self.job_control_scope}_{verb_key}")
        run_service_action(
            request,
            queryset,
            action=f"{self.job_control_scope}.{verb_key}",
            verb=verb,
            call=lambda obj: service(obj, by=request.user),
            details=lambda _obj, jobs: {"jobs": [j.id for j in jobs]},
        )

    @admin.action(description="Pause the running jobs of the selected %(verbose_name_plural)s")
    def pause_jobs(self, request, queryset):
        self._control_jobs(request, queryset, "pause", "Paused the jobs of")

    @admin.action(description="Resume the paused jobs of the selected %(verbose_name_plural)s")
    def resume_jobs(self, request, queryset):
        self._control_jobs(request, queryset, "resume", "Resumed the jobs of")

    @admin.action(description="Cancel the running or paused jobs of the selected %(verbose_name_plural)s")
    def cancel_jobs(self, request, queryset):
        self._control_jobs(request, queryset, "cancel", "Cancelled the jobs of")
