from django.apps import AppConfig

from reachly.observability import logs


class OpsConfig(AppConfig):
    name = "reachly.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        logs.connect_request_signals()
