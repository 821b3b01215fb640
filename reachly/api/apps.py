from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "reachly.api"
    label = "api"

    def ready(self) -> None:
        from reachly.api import schema  # noqa: F401 - registers the OpenAPI extensions
