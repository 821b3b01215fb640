"""Operator admin for sender accounts, campaigns and leads.

Sender accounts' password and session state are never displayed: they are
not form fields, not columns, and not even loaded (deferred). An operator
may set a new password (write-only) or make the account log in again.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils import timezone

from reachly.campaigns import accounts
from reachly.campaigns.accounts import SENDER_ACCOUNT_FIELDS
from reachly.campaigns.models import Campaign, Lead, SenderAccount
from reachly.ops.admin_filters import CampaignIdFilter
from reachly.ops.adminkit import AuditedModelAdmin, JobControlsMixin, changelist_link, run_service_action
from reachly.orchestration.models import Job

SECRET_FIELDS = ("password", "session_state")


class SenderAccountForm(forms.ModelForm):
    new_password = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only: leave empty to keep the current password. It is stored encrypted and never shown.",
    )

    class Meta:
        model = SenderAccount
        # Every editable field; the secrets are not editable (EncryptedJSONField).
        fields = ["tenant", *SENDER_ACCOUNT_FIELDS, "status", "cooling_down_until", "status_reason"]


@admin.register(SenderAccount)
class SenderAccountAdmin(AuditedModelAdmin):
    form = SenderAccountForm
    list_display = [
        "name",
        "tenant",
        "network",
        "login",
        "status",
        "cooling_down_until",
        "cool_down_left",
        "session_updated_at",
        "daily_invite_cap",
    ]
    list_filter = ["status", "network", ("tenant", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["tenant"]
    search_fields = ["name", "login", "tenant__slug"]
    autocomplete_fields = ["tenant"]
    readonly_fields = ["session_updated_at", "created_at", "has_password", "cool_down_left"]
    fieldsets = [
        (None, {"fields": ["tenant", "name", "network", "login", "timezone", "created_at"]}),
        ("Credentials (write-only)", {"fields": ["new_password", "has_password", "session_updated_at"]}),
        ("Status", {"fields": ["status", "status_reason", "cooling_down_until", "cool_down_left"]}),
        (
            "Pacing",
            {
                "fields": [
                    "working_hours_start",
                    "working_hours_end",
                    "daily_invite_cap",
                    "daily_message_cap",
                    "daily_visit_cap",
                ]
            },
        ),
    ]
    actions = ["pause", "resume", "forget_session"]

    def get_queryset(self, request):
        # Never load (or decrypt) secrets to draw a page.
        return super().get_queryset(request).defer(*SECRET_FIELDS)

    @admin.display(description="cool-down left")
    def cool_down_left(self, account: SenderAccount) -> str:
        if account.cooling_down_until is None:
            return "-"
        left = (account.cooling_down_until - timezone.now()).total_seconds()
        return f"{int(left // 60)} min {int(left % 60)} s" if left > 0 else "over"

    @admin.display(description="password set", boolean=True)
    def has_password(self, account: SenderAccount) -> bool | None:
        if account.pk is None:
            return None
        return SenderAccount.objects.filter(pk=account.pk, password__isnull=False).exists()

    def save_model(self, request, obj, form, change):
        new_password = form.cleaned_data.get("new_password")
        if new_password:
            obj.password = {"password": new_password}
        # The secrets are deferred: save() writes only the loaded fields, so the
        # stored password and session survive unless a new password was typed.
        obj.save()

    @admin.action(description="Pause the selected accounts (running steps stop at a safe point)")
    def pause(self, request, queryset):
        reason = f"paused by {request.user.get_username()}"
        run_service_action(
            request,
            queryset,
            action="sender_account.pause",
            verb="Paused",
            call=lambda account: accounts.sender_account_pause(account, reason=reason),
        )

    @admin.action(description="Resume the selected accounts (also ends a cool-down)")
    def resume(self, request, queryset):
        run_service_action(
            request, queryset, action="sender_account.resume", verb="Resumed", call=accounts.sender_account_resume
        )

    @admin.action(description="Forget the browser session (the next step logs in again)")
    def forget_session(self, request, queryset):
        # Through the accounts service, like the API and the web UI.
        run_service_action(
            request,
            queryset,
            action="sender_account.forget_session",
            verb="Forgot the session of",
            call=accounts.sender_account_session_forget,
        )


@admin.register(Campaign)
class CampaignAdmin(JobControlsMixin, AuditedModelAdmin):
    job_control_scope = "campaign"
    list_display = ["name", "tenant", "status", "priority", "jobs_link", "leads_link", "created_at"]
    list_filter = ["status", ("tenant", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["tenant"]
    search_fields = ["name", "tenant__slug"]
    autocomplete_fields = ["tenant", "sender_accounts"]
    readonly_fields = ["created_at", "updated_at"]

    @admin.display(description="jobs")
    def jobs_link(self, campaign: Campaign) -> str:
        return changelist_link(Job, "jobs", campaign=campaign.pk)

    @admin.display(description="leads")
    def leads_link(self, campaign: Campaign) -> str:
        return changelist_link(Lead, "leads", campaign=campaign.pk)


@admin.register(Lead)
class LeadAdmin(AuditedModelAdmin):
    list_display = [
        "profile_url",
        "full_name",
        "company",
        "campaign",
        "tenant",
        "status",
        "sender_account",
        "updated_at",
    ]
    list_filter = ["status", ("tenant", admin.RelatedOnlyFieldListFilter), CampaignIdFilter]
    list_select_related = ["campaign", "tenant", "sender_account"]
    search_fields = ["profile_url", "full_name", "company", "email"]
    raw_id_fields = ["campaign", "sender_account"]
    autocomplete_fields = ["tenant"]
    readonly_fields = ["created_at", "updated_at"]
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).defer(*(f"sender_account__{f}" for f in SECRET_FIELDS))
