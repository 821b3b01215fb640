from django.apps import AppConfig


class OrchestrationConfig(AppConfig):
    name = "reachly.orchestration"
    label = "orchestration"
