"""Input validation for the web UI: every error is shown next to its field.

Forms validate shape; the domain services still decide (a duplicate login,
an account of another tenant) and their errors are put back on the field
they name (see `apply_domain_error`).
"""

from __future__ import annotations

from functools import cache
from typing import Any, cast
from zoneinfo import available_timezones

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from reachly.campaigns.accounts import SENDER_ACCOUNT_FIELDS
from reachly.campaigns.errors import DomainError
from reachly.campaigns.models import Campaign, SenderAccount
from reachly.campaigns.sessions import validate_storage_state
from reachly.core import jsonsafe
from reachly.orchestration.graph import Priority
from reachly.webhooks.fanout import SYSTEM_PREFIX

PRIORITIES = [(value, label.capitalize()) for value, label in Priority.choices]
MAX_INT = 2**31 - 1
SESSION_STATE_MAX_BYTES = 1024 * 1024
BATCH_SIZE_MAX = 1000


@cache
def timezone_choices() -> list[tuple[str, str]]:
    zones = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))
    return [("UTC", "UTC"), *((z, z.replace("_", " ")) for z in zones)]


def apply_domain_error(form: forms.Form, error: DomainError) -> None:
    """Put a service's error on the field it names (else on the form)."""
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs: dict | None = None):
        super().__init__(attrs=attrs, format="%H:%M")


def _no_nul(value: str) -> None:
    if "\x00" in value:
        raise ValidationError("must not contain NUL characters")


# ---------------------------------------------------------------------------
# Campaigns
# ---------------------------------------------------------------------------


class CampaignForm(forms.Form):
    name = forms.CharField(max_length=200, validators=[_no_nul])
    brief = forms.CharField(
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 5}),
        validators=[_no_nul],
        help_text="What the campaign wants. The copywriter (and the planner, if your plan has it) reads it.",
    )
    sender_accounts = forms.ModelMultipleChoiceField(
        queryset=SenderAccount.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leads are shared round-robin between these accounts. None: the job only writes copy.",
    )
    priority = forms.TypedChoiceField(choices=PRIORITIES, coerce=int, initial=Priority.NORMAL, widget=forms.RadioSelect)
    timezone = forms.ChoiceField(choices=timezone_choices, initial="UTC", label="Time zone")
    schedule_start = forms.TimeField(
        required=False, label="Sends from", widget=TimeInput(), help_text="In the campaign's time zone."
    )
    schedule_end = forms.TimeField(required=False, label="Sends until", widget=TimeInput())
    batch_size = forms.IntegerField(
        min_value=1,
        max_value=BATCH_SIZE_MAX,
        required=False,
        initial=5,
        help_text="Leads per outreach step.",
    )
    status = forms.ChoiceField(choices=Campaign.Status.choices, initial=Campaign.Status.ACTIVE)

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        sender_accounts = cast(forms.ModelMultipleChoiceField, self.fields["sender_accounts"])
        sender_accounts.queryset = SenderAccount.objects.filter(tenant=tenant).defer("password", "session_state")

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if name.startswith(SYSTEM_PREFIX):
            raise ValidationError(f"Names starting with “{SYSTEM_PREFIX}” are reserved.")
        return name

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start, end = data.get("schedule_start"), data.get("schedule_end")
        if (
            (start is None) != (end is None)
            and not self.has_error("schedule_start")
            and not self.has_error("schedule_end")
        ):
            missing = "schedule_end" if end is None else "schedule_start"
            self.add_error(missing, "Set both ends of the window, or neither.")
        elif start is not None and start == end:
            self.add_error("schedule_end", "The window must not start and end at the same time.")
        return data

    @classmethod
    def initial_for(cls, campaign: Campaign) -> dict[str, Any]:
        settings_ = campaign.settings if isinstance(campaign.settings, dict) else {}
        return {
            "name": campaign.name,
            "brief": campaign.brief,
            "sender_accounts": list(campaign.sender_accounts.values_list("id", flat=True)),
            "priority": campaign.priority,
            "timezone": campaign.timezone,
            "schedule_start": campaign.schedule_start,
            "schedule_end": campaign.schedule_end,
            "batch_size": settings_.get("batch_size", 5),
            "status": campaign.status,
        }

    def service_fields(self, current_settings: dict | None = None) -> dict[str, Any]:
        """Keyword arguments for campaign_create / campaign_update."""
        data = dict(self.cleaned_data)
        batch_size = data.pop("batch_size")
        options = dict(current_settings or {})
        if batch_size is None:
            options.pop("batch_size", None)
        else:
            options["batch_size"] = batch_size
        data["settings"] = options
        data["sender_accounts"] = list(data["sender_accounts"])
        return data


class LeadImportForm(forms.Form):
    file = forms.FileField(
        help_text="CSV with a header line. One column must hold the profile URL (profile_url, linkedin_url or url); "
        "first_name, last_name, name, company, title and email are recognised; other columns are kept.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv,text/plain"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.REACHLY_IMPORT_MAX_BYTES
        if upload.size > limit:
            raise ValidationError(f"The file is {upload.size / 1e6:.1f} MB; the limit is {limit / 1e6:.0f} MB.")
        if upload.size == 0:
            raise ValidationError("The file is empty.")
        return upload


class StartJobForm(forms.Form):
    priority = forms.TypedChoiceField(choices=PRIORITIES, coerce=int, initial=Priority.NORMAL)


# ---------------------------------------------------------------------------
# Sender accounts
# ---------------------------------------------------------------------------


class SenderAccountForm(forms.Form):
    name = forms.CharField(max_length=128, validators=[_no_nul])
    network = forms.SlugField(max_length=32, initial="sandbox", help_text="The network this account signs in to.")
    login = forms.CharField(
        max_length=255,
        validators=[_no_nul],
        help_text="Username or e-mail on the network.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    password = forms.CharField(
        required=False,
        max_length=500,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted; never shown again. Used when the session has expired.",
    )
    timezone = forms.ChoiceField(
        choices=timezone_choices, initial="UTC", label="Time zone", help_text="Daily caps reset at its midnight."
    )
    working_hours_start = forms.TimeField(initial="09:00", label="Works from", widget=TimeInput())
    working_hours_end = forms.TimeField(initial="18:00", label="Works until", widget=TimeInput())
    daily_invite_cap = forms.IntegerField(min_value=0, max_value=MAX_INT, initial=20, label="Invitations per day")
    daily_message_cap = forms.IntegerField(min_value=0, max_value=MAX_INT, initial=50, label="Messages per day")
    daily_visit_cap = forms.IntegerField(min_value=0, max_value=MAX_INT, initial=100, label="Profile visits per day")

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["password"].help_text = "Leave empty to keep the stored password."

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start, end = data.get("working_hours_start"), data.get("working_hours_end")
        if start is not None and start == end:
            self.add_error("working_hours_end", "Working hours must not start and end at the same time.")
        return data

    @classmethod
    def initial_for(cls, account: SenderAccount) -> dict[str, Any]:
        return {name: getattr(account, name) for name in SENDER_ACCOUNT_FIELDS}

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        if not data.get("password"):
            data.pop("password", None)  # empty: keep (edit) or none (create)
        return data


class SessionStateForm(forms.Form):
    """A browser session exported with Playwright (`context.storage_state()`).
    Optional (required=False) when adding an account: `state` is then None."""

    file = forms.FileField(
        required=False,
        label="Storage state file",
        widget=forms.ClearableFileInput(attrs={"accept": ".json,application/json"}),
    )
    text = forms.CharField(
        required=False,
        label="…or paste it",
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "autocomplete": "off"}),
        strip=True,
    )

    def __init__(self, *args, required: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.required = required

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        data["state"] = None
        # text: the CharField's str ("" when empty; absent only with errors, returned below).
        upload, text = data.get("file"), data.get("text") or ""
        if self.errors:
            return data
        if upload and text:
            self.add_error("text", "Upload a file or paste the JSON, not both.")
            return data
        if not upload and not text:
            if self.required:
                self.add_error("file", "Choose the storage state file (JSON), or paste it below.")
            return data
        field = "file" if upload else "text"
        if upload:
            if upload.size > SESSION_STATE_MAX_BYTES:
                self.add_error("file", "The file is larger than 1 MB: that is not a storage state.")
                return data
            raw = upload.read()
        else:
            raw = text.encode()
            if len(raw) > SESSION_STATE_MAX_BYTES:
                self.add_error("text", "That is larger than 1 MB: not a storage state.")
                return data
        try:
            parsed = jsonsafe.loads(raw)
        except jsonsafe.JSONInputError as exc:
            self.add_error(field, f"Not valid JSON: {exc.message.removeprefix('not valid JSON: ')}.")
            return data
        try:
            data["state"] = validate_storage_state(parsed)
        except ValidationError as exc:
            self.add_error(field, exc)
        return data


# ---------------------------------------------------------------------------
# Usage, API tokens
# ---------------------------------------------------------------------------


class UsageDayForm(forms.Form):
    day = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=128,
        validators=[_no_nul],
        help_text="What uses it, e.g. “CRM sync”. You can revoke it at any time.",
    )
