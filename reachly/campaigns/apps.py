from django.apps import AppConfig
from django.db.models.signals import post_save


class CampaignsConfig(AppConfig):
    name = "reachly.campaigns"
    label = "campaigns"

    def ready(self) -> None:
        # Here, not at the top: Django imports apps.py before the models are
        # loaded, and these modules use them (Django docs: AppConfig.ready()).
        from reachly.campaigns.accounts import on_sender_account_saved
        from reachly.campaigns.models import SenderAccount
        from reachly.campaigns.step_ports import LeadAdapter, SenderAccountAdapter
        from reachly.orchestration import ports

        # Every save of an account keeps its control-plane lane in step
        # (reachly/campaigns/accounts.py, docs/architecture.md).
        post_save.connect(on_sender_account_saved, sender=SenderAccount, dispatch_uid="sender_account_lane")

        # The step runner's sender-account and lead ports (reachly/orchestration/ports.py).
        ports.provide("sender", SenderAccountAdapter)
        ports.provide("leads", LeadAdapter)
