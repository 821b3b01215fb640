from django.contrib.admin.apps import AdminConfig


class ReachlyAdminConfig(AdminConfig):
    """django.contrib.admin with the operator site (capacity page, Flower link)."""

    default_site = "reachly.ops.admin_site.ReachlyAdminSite"
