"""The operators' door: every model's Django admin, in one package.

Django's autodiscovery imports `<app>.admin` of each installed app; this is
the only one. The admin is a door like the web UI and the API, so it sits
above the domain apps (docs/architecture.md): keeping each app's ModelAdmin
inside the app made every app that uses the admin kit (ops.adminkit, the
audit log) and every app the kit serves depend on each other in a circle.
One module per domain app, named after it.
"""

from reachly.ops.admin import audit, campaigns, llm, orchestration, sandbox, tenants, webhooks

__all__ = ["audit", "campaigns", "llm", "orchestration", "sandbox", "tenants", "webhooks"]
