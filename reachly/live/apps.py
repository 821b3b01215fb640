from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "reachly.live"
    label = "live"
