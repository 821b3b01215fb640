"""Operator admin for the control plane: jobs, steps, events, limits, usage.

Jobs and steps change only through reachly.orchestration.services (pause,
resume, cancel, retry): every field here is read-only and each control is an
action (or a button on the job's page) that calls the service with the
operator as `by`, so the job's events and the AuditLog both say who did it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.db.models import Count, Exists, Model, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html

from agents import registry
from reachly.ops.admin_filters import CampaignIdFilter, JobIdFilter
from reachly.ops.adminkit import (
    AuditedModelAdmin,
    ReadOnlyAdmin,
    TotalsMixin,
    admin_link,
    changelist_link,
    html_table,
    pretty_json,
    run_service_action,
)
from reachly.ops.selectors import audit_for
from reachly.orchestration import services
from reachly.orchestration.models import Effect, Event, Job, RateLimit, Step, StepAttempt, StepStatus, UsageCounter

# django-stubs makes admin classes generic; Django's cannot be subscripted at run time.
if TYPE_CHECKING:
    _StepAttemptInline = admin.TabularInline[StepAttempt, Step]
else:
    _StepAttemptInline = admin.TabularInline

# ---------------------------------------------------------------------------
# Filters
# ---------------------------------------------------------------------------


class AgentFilter(admin.SimpleListFilter):
    """Jobs with at least one step of this agent (one EXISTS, no join fan-out)."""

    title = "agent"
    parameter_name = "agent"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, str]]:
        return [(role, role) for role in registry.roles()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if not self.value():
            return queryset
        if queryset.model is Job:
            return queryset.filter(Exists(Step.objects.filter(job=OuterRef("pk"), agent=self.value())))
        return queryset.filter(agent=self.value())


# ---------------------------------------------------------------------------
# Jobs
# ---------------------------------------------------------------------------

JOB_CONTROLS = {
    # url name: (service, audit action, verb)
    "pause": (services.job_pause, "job.pause", "Paused"),
    "resume": (services.job_resume, "job.resume", "Resumed"),
    "cancel": (services.job_cancel, "job.cancel", "Cancelled"),
    "retry_failed": (services.job_retry_failed, "job.retry_failed", "Retried the failed steps of"),
}


# run_service_action (reachly.ops.adminkit) hands each object back as a Model:
# here they are the jobs or steps it was given, hence the casts.


def _job_control(request: HttpRequest, jobs: Iterable[Job], name: str) -> list[Model]:
    service, action, verb = JOB_CONTROLS[name]
    if name == "retry_failed":
        return _retry_failed(request, jobs)
    return run_service_action(
        request,
        jobs,
        action=action,
        verb=verb,
        call=lambda job: service(cast(Job, job), by=request.user),
        details=lambda job, _result: {"status": cast(Job, job).status},
    )


def _retry_failed(request: HttpRequest, jobs: Iterable[Job]) -> list[Model]:
    with_failures = [job for job in jobs if job.failed_steps]
    for job in jobs:
        if not job.failed_steps:
            messages.warning(request, f"{job}: no failed step to retry")
    return run_service_action(
        request,
        with_failures,
        action="job.retry_failed",
        verb="Retried the failed steps of",
        call=lambda job: services.job_retry_failed(cast(Job, job), by=request.user),
        details=lambda _job, steps: {"steps": [s.id for s in steps]},
    )


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "name",
        "tenant",
        "campaign",
        "status",
        "progress",
        "priority",
        "created_by",
        "created_at",
        "finished_at",
    ]
    list_display_links = ["id", "name"]
    list_filter = ["status", ("tenant", admin.RelatedOnlyFieldListFilter), CampaignIdFilter, AgentFilter, "priority"]
    list_select_related = ["tenant", "campaign", "created_by"]
    search_fields = ["=id", "name", "tenant__slug"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ["pause", "resume", "cancel", "retry_failed"]
    change_form_template = "admin/ops/job_change_form.html"
    fieldsets = [
        (None, {"fields": ["name", "tenant", "campaign", "status", "status_reason", "priority", "created_by"]}),
        ("Progress", {"fields": ["progress", "step_summary", "links"]}),
        ("Times", {"fields": ["created_at", "started_at", "last_progress_at", "finished_at"]}),
        ("Operator actions", {"fields": ["audit_trail"]}),
    ]
    readonly_fields = [
        "name",
        "tenant",
        "campaign",
        "status",
        "status_reason",
        "priority",
        "created_by",
        "progress",
        "step_summary",
        "links",
        "created_at",
        "started_at",
        "last_progress_at",
        "finished_at",
        "audit_trail",
    ]

    def has_change_permission(self, request: HttpRequest, obj: Job | None = None) -> bool:
        # The change page is where the control buttons live; nothing is editable.
        return request.user.has_perm("orchestration.change_job")

    @admin.display(description="progress")
    def progress(self, job: Job) -> str:
        done = job.succeeded_steps
        extra = []
        if job.failed_steps:
            extra.append(f"{job.failed_steps} failed")
        if job.cancelled_steps:
            extra.append(f"{job.cancelled_steps} cancelled")
        return format_html(
            '<progress value="{}" max="100" style="width:8em"></progress> {}/{} ({}%){}',
            job.percent,
            done,
            job.total_steps,
            job.percent,
            f" · {', '.join(extra)}" if extra else "",
        )

    @admin.display(description="steps by agent and status")
    def step_summary(self, job: Job) -> str:
        rows = job.steps.values("agent", "status").annotate(n=Count("id")).order_by("agent", "status")
        return html_table(["agent", "status", "steps"], ((r["agent"], r["status"], r["n"]) for r in rows))

    @admin.display(description="details")
    def links(self, job: Job) -> str:
        return format_html(
            "{} · {} · {}",
            changelist_link(Step, "steps", job=job.pk),
            changelist_link(Step, "failed steps", job=job.pk, status__exact="failed"),
            changelist_link(Event, "events", job=job.pk),
        )

    @admin.display(description="operator actions on this job")
    def audit_trail(self, job: Job) -> str:
        entries = list(audit_for(job))
        if not entries:
            return "-"
        return html_table(
            ["when", "who", "action"],
            ((e.created_at.isoformat(timespec="seconds"), e.actor_name, e.action) for e in entries),
        )

    # -- controls -------------------------------------------------------------

    @admin.action(description="Pause the selected jobs", permissions=["change"])
    def pause(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        _job_control(request, queryset, "pause")

    @admin.action(description="Resume the selected jobs", permissions=["change"])
    def resume(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        _job_control(request, queryset, "resume")

    @admin.action(description="Cancel the selected jobs", permissions=["change"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        _job_control(request, queryset, "cancel")

    @admin.action(description="Retry the failed steps of the selected jobs", permissions=["change"])
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        _job_control(request, queryset, "retry_failed")

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<path:object_id>/control/<str:control>/",
                self.admin_site.admin_view(self.control_view),
                name="orchestration_job_control",
            ),
            *super().get_urls(),
        ]

    def control_view(self, request: HttpRequest, object_id: str, control: str) -> HttpResponse:
        """The buttons of the job's page: POST only, same services as the actions."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if control not in JOB_CONTROLS or not self.has_change_permission(request):
            return HttpResponseRedirect(reverse("admin:orchestration_job_change", args=[object_id]))
        job = get_object_or_404(Job, pk=object_id)
        _job_control(request, [job], control)
        return HttpResponseRedirect(reverse("admin:orchestration_job_change", args=[job.pk]))

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "job_controls": [
                ("pause", "Pause"),
                ("resume", "Resume"),
                ("cancel", "Cancel"),
                ("retry_failed", "Retry failed steps"),
            ],
            # Nothing to save: the job changes only through the controls.
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)


# ---------------------------------------------------------------------------
# Steps
# ---------------------------------------------------------------------------


STEP_ATTEMPT_FIELDS = ("fencing_token", "worker", "outcome", "started_at", "finished_at", "error_text")


class StepAttemptInline(_StepAttemptInline):
    model = StepAttempt
    extra = 0
    can_delete = False
    fields = STEP_ATTEMPT_FIELDS
    readonly_fields = STEP_ATTEMPT_FIELDS
    ordering = ["-started_at"]

    def has_add_permission(self, request: HttpRequest, obj: Step | None = None) -> bool:
        return False

    # `obj` is the parent step (the stubs' BaseModelAdmin says the attempt).
    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    @admin.display(description="error")
    def error_text(self, attempt: StepAttempt) -> str:
        if not attempt.error:
            return "-"
        return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', attempt.error)


@admin.register(Step)
class StepAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "job",
        "tenant",
        "key",
        "agent",
        "status",
        "attempts_of",
        "wait_reason",
        "lease_owner",
        "heartbeat_at",
        "lease_state",
        "next_attempt_at",
    ]
    list_filter = ["status", AgentFilter, ("tenant", admin.RelatedOnlyFieldListFilter), JobIdFilter]
    list_select_related = ["job", "tenant"]
    search_fields = ["=id", "key", "=job__id", "lease_owner"]
    show_full_result_count = False
    inlines = [StepAttemptInline]
    actions = ["retry"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "job_link",
                    "tenant",
                    "key",
                    "agent",
                    "status",
                    "priority",
                    "sender_account",
                    "depends_on",
                    "pending_deps",
                    "wait_reason",
                ]
            },
        ),
        (
            "Attempts and lease",
            {
                "fields": [
                    "attempts_of",
                    "next_attempt_at",
                    "fencing_token",
                    "lease_owner",
                    "lease_expires_at",
                    "heartbeat_at",
                    "lease_state",
                ]
            },
        ),
        ("Error", {"fields": ["error_summary", "error_trace"]}),
        ("Data", {"fields": ["input_pretty", "checkpoint_pretty", "output_pretty"]}),
        ("Times", {"fields": ["created_at", "enqueued_at", "started_at", "finished_at"]}),
    ]
    # Steps change only through the control plane: every field is read-only.
    readonly_fields = flatten_fieldsets(fieldsets)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Step]:
        qs = super().get_queryset(request)
        if request.resolver_match and (request.resolver_match.url_name or "").endswith("changelist"):
            # The list never shows the (possibly large) JSON columns.
            qs = qs.defer("input", "output", "checkpoint", "error", "downstream")
        return qs

    def has_change_permission(self, request: HttpRequest, obj: Step | None = None) -> bool:
        return request.user.has_perm("orchestration.change_step")

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # Read-only: a step changes through the retry action only.
        extra_context = {**(extra_context or {}), "show_save": False, "show_save_and_continue": False}
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="job")
    def job_link(self, step: Step) -> str:
        return admin_link(step.job)

    @admin.display(description="attempts")
    def attempts_of(self, step: Step) -> str:
        return f"{step.attempts}/{step.max_attempts}"

    @admin.display(description="lease")
    def lease_state(self, step: Step) -> str:
        if step.status != StepStatus.RUNNING or step.lease_expires_at is None:
            return "-"
        left = (step.lease_expires_at - timezone.now()).total_seconds()
        return f"held, {left:.0f} s left" if left > 0 else format_html('<b style="color:#ba2121">expired</b>')

    @admin.display(description="error")
    def error_summary(self, step: Step) -> str:
        if not step.error:
            return "-"
        error = {k: v for k, v in step.error.items() if k != "trace"}
        return pretty_json(error)

    @admin.display(description="traceback")
    def error_trace(self, step: Step) -> str:
        trace = (step.error or {}).get("trace")
        if not trace:
            return "-"
        return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', trace)

    @admin.display(description="input")
    def input_pretty(self, step: Step) -> str:
        return pretty_json(step.input)

    @admin.display(description="checkpoint")
    def checkpoint_pretty(self, step: Step) -> str:
        return pretty_json(step.checkpoint)

    @admin.display(description="output")
    def output_pretty(self, step: Step) -> str:
        return pretty_json(step.output)

    @admin.action(description="Retry the selected failed steps", permissions=["change"])
    def retry(self, request: HttpRequest, queryset: QuerySet[Step]) -> None:
        failed = list(queryset.filter(status=StepStatus.FAILED).select_related("job"))
        skipped = queryset.exclude(status=StepStatus.FAILED).count()
        if skipped:
            messages.warning(request, f"{skipped} selected steps are not failed and were left alone")
        run_service_action(
            request,
            failed,
            action="step.retry",
            verb="Retried",
            call=lambda step: services.step_retry(step, by=request.user),
        )


# ---------------------------------------------------------------------------
# Events, effects, limits, usage
# ---------------------------------------------------------------------------


EVENT_FIELDS = ("job", "seq", "type", "step", "tenant", "ts", "data_pretty")
EFFECT_FIELDS = ("key", "state", "tenant", "job", "step", "fencing_token", "created_at", "done_at", "result_pretty")


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["job", "seq", "type", "summary", "step", "tenant", "ts"]
    list_filter = ["type", ("tenant", admin.RelatedOnlyFieldListFilter), JobIdFilter]
    list_select_related = ["job", "tenant", "step"]
    raw_id_fields = ["job", "tenant", "step"]
    search_fields = ["=job__id", "type"]
    show_full_result_count = False
    fields = EVENT_FIELDS
    readonly_fields = EVENT_FIELDS

    @admin.display(description="summary")
    def summary(self, event: Event) -> str:
        data = event.data or {}
        parts = [str(data[k]) for k in ("key", "status", "reason") if data.get(k)]
        if data.get("by"):
            parts.append(f"by {data['by']}")
        return " · ".join(parts) or "-"

    @admin.display(description="data")
    def data_pretty(self, event: Event) -> str:
        return pretty_json(event.data)


@admin.register(Effect)
class EffectAdmin(ReadOnlyAdmin):
    list_display = ["key", "state", "tenant", "job", "step", "fencing_token", "created_at", "done_at"]
    list_filter = ["state", ("tenant", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["tenant", "job", "step"]
    search_fields = ["key"]
    show_full_result_count = False
    fields = EFFECT_FIELDS
    readonly_fields = EFFECT_FIELDS

    @admin.display(description="result")
    def result_pretty(self, effect: Effect) -> str:
        return pretty_json(effect.result)


@admin.register(RateLimit)
class RateLimitAdmin(AuditedModelAdmin):
    list_display = [
        "__str__",
        "subject",
        "agent",
        "action",
        "provider",
        "tenant",
        "sender_account",
        "per",
        "limit",
        "period",
        "enabled",
    ]
    list_filter = ["enabled", "subject", "per", "period", "agent"]
    list_select_related = ["tenant", "sender_account"]
    search_fields = ["name", "agent", "action", "provider"]
    autocomplete_fields = ["tenant", "sender_account"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[RateLimit]:
        return super().get_queryset(request).defer("sender_account__password", "sender_account__session_state")


@admin.register(UsageCounter)
class UsageCounterAdmin(TotalsMixin, ReadOnlyAdmin):
    list_display = ["tenant", "agent", "month", "steps", "actions", "llm_tokens", "llm_cost"]
    list_filter = ["month", "agent", ("tenant", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["tenant"]
    search_fields = ["tenant__slug", "agent"]
    totals = ("steps", "actions", "llm_tokens", "llm_cost")
