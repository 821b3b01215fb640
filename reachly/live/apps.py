from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "reachly.live"
    label = "live"

    def ready(self) -> None:
        from reachly.live import publisher  # noqa: F401 - subscribes to events
