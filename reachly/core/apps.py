from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "reachly.core"
    label = "core"
