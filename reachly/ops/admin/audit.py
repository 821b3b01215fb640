from django.contrib import admin

from reachly.ops.adminkit import ReadOnlyAdmin, pretty_json
from reachly.ops.models import AuditLog

# Every field is shown, none is editable.
FIELDS = (
    "created_at",
    "actor",
    "actor_name",
    "action",
    "object_type",
    "object_id",
    "object_link",
    "tenant",
    "details_pretty",
)


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor_name", "action", "object_type", "object_link", "tenant"]
    list_filter = ["action", "object_type", ("tenant", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["tenant"]
    search_fields = ["actor_name", "action", "object_repr", "=object_id"]
    date_hierarchy = "created_at"
    fields = FIELDS
    readonly_fields = FIELDS
    show_full_result_count = False

    @admin.display(description="object")
    def object_link(self, obj: AuditLog) -> str:
        if not obj.object_type or not obj.object_id:
            return obj.object_repr or "-"
        from django.apps import apps
        from django.urls import NoReverseMatch, reverse
        from django.utils.html import format_html

        try:
            model = apps.get_model(obj.object_type)
            url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.object_id])
        except (LookupError, NoReverseMatch):
            return obj.object_repr
        return format_html('<a href="{}">{}</a>', url, obj.object_repr)

    @admin.display(description="details")
    def details_pretty(self, obj: AuditLog) -> str:
        return pretty_json(obj.details)
