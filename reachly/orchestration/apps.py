from django.apps import AppConfig


class OrchestrationConfig(AppConfig):
    name = "reachly.orchestration"
    label = "orchestration"

    def ready(self) -> None:
        # Here, not at the top: Django imports apps.py before the models are
        # loaded, and these modules use them (Django docs: AppConfig.ready()).
        from reachly.observability import context
        from reachly.orchestration import dispatcher, selectors
        from reachly.tenants.signals import limits_changed

        # Log lines and Sentry events name a step's campaign: observability
        # asks the control plane, which owns the job table.
        context.provide_campaign_lookup(selectors.job_campaign_id)

        # A tenant's plan changed: steps parked under the old limits may run.
        limits_changed.connect(dispatcher.on_limits_changed, weak=False, dispatch_uid="orchestration-limits-changed")
