from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "reachly.campaigns"
    label = "campaigns"
