"""The operator admin site: Django's admin plus a "Queues & capacity" page
and a link to Flower (see docs/operations.md)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path

from reachly.ops import admin_views
from reachly.tenants.signin import AdminSignInForm


class ReachlyAdminSite(admin.AdminSite):
    site_header = "Reachly operations"
    site_title = "Reachly admin"
    index_title = "Operations"
    index_template = "admin/ops/index.html"
    login_form = AdminSignInForm  # failed sign-ins are limited, as on the web UI

    def get_urls(self):
        # Before the admin's catch-all app_label pattern.
        return [
            path("capacity/", self.admin_view(self.capacity_view), name="capacity"),
            *super().get_urls(),
        ]

    def each_context(self, request: HttpRequest) -> dict:
        context = super().each_context(request)
        context["flower_url"] = settings.FLOWER_URL
        return context

    def capacity_view(self, request: HttpRequest) -> HttpResponse:
        """The data of /monitoring/capacity for operators. `?tenant=<id>`
        narrows it to one tenant; `?fragment=1` answers only the tables (the
        page refreshes itself with them)."""
        tenant = admin_views.tenant_from_query(request)
        context = {
            **self.each_context(request),
            "title": "Queues & capacity",
            "snap": admin_views.capacity_snapshot(tenant=tenant),
            "tenant": tenant,
            "refresh_seconds": settings.REACHLY_CAPACITY_REFRESH_SECONDS,
        }
        template = "admin/ops/capacity_tables.html" if request.GET.get("fragment") else "admin/ops/capacity.html"
        return TemplateResponse(request, template, context)
