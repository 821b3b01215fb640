from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "reachly.sandbox"
    label = "sandbox"
