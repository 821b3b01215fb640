from django.contrib import admin

from reachly.webhooks.models import WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "tenant", "events", "active", "created_at"]
    list_filter = ["active", "tenant"]
    search_fields = ["url", "description"]
    raw_id_fields = ["tenant"]

    def has_add_permission(self, request) -> bool:
        # Created through the API or the web UI, which show the signing
        # secret once; the admin cannot show (or make) one.
        return False
