from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "reachly.api"
    label = "api"

    def ready(self) -> None:
        # Here, not at the top: Django imports apps.py before the models are
        # loaded, and these modules use them (Django docs: AppConfig.ready()).
        from reachly.api import schema  # noqa: F401 - registers the OpenAPI extensions
