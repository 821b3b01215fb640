from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "reachly.webhooks"
    label = "webhooks"

    def ready(self) -> None:
        # Here, not at the top: Django imports apps.py before the models are
        # loaded, and these modules use them (Django docs: AppConfig.ready()).
        from reachly.orchestration import ports
        from reachly.webhooks import fanout  # noqa: F401 - subscribes to committed events
        from reachly.webhooks.step_ports import WebhookAdapter

        ports.provide("webhooks", WebhookAdapter)  # the webhook agent's port (reachly/orchestration/ports.py)
