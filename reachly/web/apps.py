from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "reachly.web"
    label = "web"
