from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "reachly.live"
    label = "live"

    def ready(self) -> None:
        # Here, not at the top: Django imports apps.py before the models are
        # loaded, and these modules use them (Django docs: AppConfig.ready()).
        from reachly.live import publisher  # noqa: F401 - subscribes to events
        from reachly.live.consumers import close_sockets_of_revoked_token
        from reachly.tenants.signals import token_revoked

        token_revoked.connect(close_sockets_of_revoked_token, weak=False, dispatch_uid="live-token-revoked")
