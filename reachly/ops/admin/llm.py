from django.contrib import admin

from reachly.llm.models import LLMCall
from reachly.ops.adminkit import TotalsMixin


@admin.register(LLMCall)
class LLMCallAdmin(TotalsMixin, admin.ModelAdmin):
    """Read-only: calls are recorded by workers, never edited."""

    # ops: token and cost totals of the filtered calls above the list.
    totals = ("prompt_tokens", "completion_tokens", "cost")

    list_display = [
        "created_at",
        "tenant",
        "agent",
        "task",
        "provider",
        "model",
        "prompt_tokens",
        "completion_tokens",
        "cost",
        "latency_ms",
        "outcome",
        "fallback",
    ]
    list_filter = ["outcome", "provider", "agent", "fallback"]
    search_fields = ["model", "error"]
    raw_id_fields = ["tenant", "job", "step"]
    list_select_related = ["tenant"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False
