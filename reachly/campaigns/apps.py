from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "reachly.campaigns"
    label = "campaigns"

    def ready(self) -> None:
        # The step runner's sender-account and lead ports (reachly/orchestration/ports.py).
        from reachly.campaigns.step_ports import LeadAdapter, SenderAccountAdapter
        from reachly.orchestration import ports

        ports.provide("sender", SenderAccountAdapter)
        ports.provide("leads", LeadAdapter)
