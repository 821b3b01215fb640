from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "reachly.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from reachly.observability import logs

        logs.connect_request_signals()
