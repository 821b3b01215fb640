from django.contrib import admin

from reachly.orchestration.models import Effect, Event, Job, RateLimit, Step, StepAttempt, UsageCounter


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "tenant", "status", "percent", "total_steps", "failed_steps", "created_at"]
    list_filter = ["status", "tenant"]
    raw_id_fields = ["campaign", "created_by"]


class StepAttemptInline(admin.TabularInline):
    model = StepAttempt
    extra = 0
    readonly_fields = ["fencing_token", "worker", "outcome", "error", "started_at", "finished_at"]


@admin.register(Step)
class StepAdmin(admin.ModelAdmin):
    list_display = ["id", "job", "key", "agent", "status", "attempts", "next_attempt_at", "lease_owner"]
    list_filter = ["status", "agent"]
    raw_id_fields = ["job", "tenant", "sender_account"]
    inlines = [StepAttemptInline]


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["job", "seq", "type", "ts"]
    list_filter = ["type"]
    raw_id_fields = ["job", "tenant", "step"]


admin.site.register(RateLimit)
admin.site.register(UsageCounter)
admin.site.register(Effect)
