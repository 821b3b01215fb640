from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Installed only where the dev tooling is present (reachly/settings.py),
    so that `manage.py demo` and `seed_demo` exist on a checkout and not in
    the image. It has no models."""

    name = "devtools.demo"
    label = "demo"
    verbose_name = "Demo (dev tooling)"
