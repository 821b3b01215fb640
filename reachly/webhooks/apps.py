from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "reachly.webhooks"
    label = "webhooks"

    def ready(self) -> None:
        from reachly.webhooks import fanout  # noqa: F401 - subscribes to committed events
