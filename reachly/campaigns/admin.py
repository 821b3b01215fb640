from django.contrib import admin

from reachly.campaigns.models import Campaign, Lead, SenderAccount


@admin.register(SenderAccount)
class SenderAccountAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant", "network", "status", "cooling_down_until", "timezone"]
    list_filter = ["status", "network", "tenant"]
    search_fields = ["name", "login"]


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant", "status", "priority", "created_at"]
    list_filter = ["status", "tenant"]
    search_fields = ["name"]


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ["profile_url", "full_name", "campaign", "status", "updated_at"]
    list_filter = ["status", "tenant"]
    search_fields = ["profile_url", "full_name", "company"]
    raw_id_fields = ["campaign", "sender_account"]
