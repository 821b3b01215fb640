from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "reachly.ops"
    label = "ops"
