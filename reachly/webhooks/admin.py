from django.contrib import admin

from reachly.webhooks.models import WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "tenant", "events", "active", "created_at"]
    list_filter = ["active", "tenant"]
    search_fields = ["url", "description"]
