from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "reachly.api"
    label = "api"
