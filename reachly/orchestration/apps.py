from django.apps import AppConfig


class OrchestrationConfig(AppConfig):
    name = "reachly.orchestration"
    label = "orchestration"

    def ready(self) -> None:
        # Here, not at the top: Django imports apps.py before the models are
        # loaded, and these modules use them (Django docs: AppConfig.ready()).
        from reachly.observability import context
        from reachly.orchestration import selectors

        # Log lines and Sentry events name a step's campaign: observability
        # asks the control plane, which owns the job table.
        context.provide_campaign_lookup(selectors.job_campaign_id)
