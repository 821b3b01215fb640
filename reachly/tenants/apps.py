from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "reachly.tenants"
    label = "tenants"
