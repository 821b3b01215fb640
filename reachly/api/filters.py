"""Query filters (django-filter): status, campaign, created range, replay position.

Integer filters are bounded (a 30-digit id is a 400, not a database error).
"""

from __future__ import annotations

from datetime import UTC

import django_filters
from django import forms

from agents import registry
from reachly.api.base import MAX_ID
from reachly.campaigns.models import Lead
from reachly.orchestration.models import Event, Job, JobStatus, Step, StepStatus
from reachly.webhooks.fanout import SYSTEM_PREFIX


class BoundedIntegerField(forms.IntegerField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class IntegerFilter(django_filters.NumberFilter):
    field_class = BoundedIntegerField


class StrictBooleanField(forms.NullBooleanField):
    """true/false (also 1/0, yes/no; any case) or absent; anything else is
    an error naming the parameter, not "no filter" (Django's
    NullBooleanField reads an unknown word as None)."""

    WORDS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}

    def to_python(self, value):
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word not in self.WORDS:
            raise forms.ValidationError(f"must be true or false, not {str(value)[:20]!r}", code="invalid")
        return self.WORDS[word]

    def validate(self, value):
        pass


class BooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField

    def __init__(self, *args, **kwargs):
        # A plain text widget: django-filter's BooleanWidget turns unknown
        # words into None before the field can refuse them.
        kwargs.setdefault("widget", forms.TextInput)
        super().__init__(*args, **kwargs)


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 date-time, compared in UTC: an offset beyond ±15:59 (ISO
    allows ±23:59) is valid input, but PostgreSQL refuses it as a
    parameter's time zone (through PgBouncer's text parameters a 500)."""

    def filter(self, qs, value):
        return super().filter(qs, value.astimezone(UTC) if value is not None else value)


class CreatedRange(django_filters.FilterSet):
    created_after = IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", label="Created at or after (ISO 8601)."
    )
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt", label="Created before (ISO 8601).")


class LeadFilter(CreatedRange):
    status = django_filters.ChoiceFilter(choices=Lead.Status.choices)

    class Meta:
        model = Lead
        fields = ["status", "created_after", "created_before"]


class JobFilter(CreatedRange):
    status = django_filters.ChoiceFilter(choices=JobStatus.choices)
    campaign = IntegerFilter(field_name="campaign_id", label="Jobs of this campaign (id).")
    system = BooleanFilter(
        method="filter_system", label="true: only webhook deliveries and other system jobs; false: none of them."
    )

    class Meta:
        model = Job
        fields = ["status", "campaign", "system", "created_after", "created_before"]

    def filter_system(self, queryset, name, value):
        if value is None:
            return queryset
        return (
            queryset.filter(name__startswith=SYSTEM_PREFIX)
            if value
            else queryset.exclude(name__startswith=SYSTEM_PREFIX)
        )


class StepFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=StepStatus.choices)
    agent = django_filters.ChoiceFilter(choices=[(r, r) for r in registry.roles()])

    class Meta:
        model = Step
        fields = ["status", "agent"]


class EventFilter(django_filters.FilterSet):
    after = IntegerFilter(field_name="seq", lookup_expr="gt", label="Only events after this sequence number.")
    type = django_filters.CharFilter(max_length=64, label="Only events of this type (job.status, step.status...).")

    class Meta:
        model = Event
        fields = ["after", "type"]
