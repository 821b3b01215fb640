"""Query filters (django-filter): status, campaign, created range, replay position.

Integer filters are bounded (a 30-digit id is a 400, not a database error).
"""

from __future__ import annotations

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


class CreatedRange(django_filters.FilterSet):
    created_after = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", label="Created at or after (ISO 8601)."
    )
    created_before = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt", label="Created before (ISO 8601)."
    )


class LeadFilter(CreatedRange):
    status = django_filters.ChoiceFilter(choices=Lead.Status.choices)

    class Meta:
        model = Lead
        fields = ["status", "created_after", "created_before"]


class JobFilter(CreatedRange):
    status = django_filters.ChoiceFilter(choices=JobStatus.choices)
    campaign = IntegerFilter(field_name="campaign_id", label="Jobs of this campaign (id).")
    system = django_filters.BooleanFilter(
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
