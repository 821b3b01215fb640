"""List filters shared by the admin modules."""

from __future__ import annotations

from django.contrib import admin


class IdInputFilter(admin.SimpleListFilter):
    """A text box for a foreign key id: campaigns and jobs are too many for
    a list of links."""

    template = "admin/ops/input_filter.html"
    field = ""

    def lookups(self, request, model_admin):
        return [("", "")]  # rendered by the template, never listed

    def choices(self, changelist):
        # Keep the other filters (values are lists since Django 5.0); drop paging.
        keep = [
            (name, value)
            for name, values in changelist.params.items()
            if name not in (self.parameter_name, "p")
            for value in (values if isinstance(values, list) else [values])
        ]
        yield {"query_params": keep, "value": self.value() or "", "parameter_name": self.parameter_name}

    def queryset(self, request, queryset):
        value = (self.value() or "").strip()
        if not value:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(**{self.field: int(value)})


class CampaignIdFilter(IdInputFilter):
    title = "campaign id"
    parameter_name = "campaign"
    field = "campaign_id"


class JobIdFilter(IdInputFilter):
    title = "job id"
    parameter_name = "job"
    field = "job_id"
