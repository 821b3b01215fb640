from django.contrib.admin.apps import AdminConfig


class ReachlyAdminConfig(AdminConfig):
    """django.contrib.admin with the operator site (capacity page, Flower link)."""

    default_site = "reachly.ops.admin_site.ReachlyAdminSite"

    def ready(self) -> None:
        super().ready()  # autodiscover: every app's admin.py is registered now
        from django.contrib import admin

        from reachly.ops import admin_llm

        admin_llm.register_if_missing(admin.site)
