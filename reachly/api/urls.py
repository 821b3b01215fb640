"""/api/v1/ — the REST contract of shared/DESIGN.md ("Contracts → REST API").

Paths are spelled as there: collections and objects end with a slash,
actions (`leads/import`, `pause`, `resume`, `cancel`, `monitoring/capacity`)
do not. Ids are 1-18 digits: anything else is a 404 before any query.
"""

from __future__ import annotations

from django.urls import re_path

from reachly.api import accounts, campaigns, jobs, live, tokens, usage, webhooks
from reachly.api.base import ID_PATTERN

LIST = {"get": "list", "post": "create"}
DETAIL = {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}
ID = f"(?P<pk>{ID_PATTERN})"


def collection(prefix: str, viewset, name: str, detail=DETAIL) -> list:
    return [
        re_path(rf"^{prefix}/$", viewset.as_view(LIST), name=f"{name}-list"),
        re_path(rf"^{prefix}/{ID}/$", viewset.as_view(detail), name=f"{name}-detail"),
    ]


urlpatterns = [
    re_path(r"^agents/$", usage.AgentList.as_view(), name="agent-list"),
    *collection("sender-accounts", accounts.SenderAccountViewSet, "sender-account"),
    *collection("campaigns", campaigns.CampaignViewSet, "campaign"),
    re_path(rf"^campaigns/{ID}/leads/import$", campaigns.LeadImport.as_view(), name="campaign-leads-import"),
    re_path(rf"^campaigns/{ID}/leads/$", campaigns.CampaignLeadList.as_view(), name="campaign-leads"),
    re_path(rf"^campaigns/{ID}/jobs/$", campaigns.CampaignJobs.as_view(), name="campaign-jobs"),
    *collection("jobs", jobs.JobViewSet, "job", detail={"get": "retrieve"}),
    *[
        re_path(rf"^jobs/{ID}/{action}$", jobs.JobControl.as_action(action), name=f"job-{action}")
        for action in ("pause", "resume", "cancel")
    ],
    re_path(rf"^jobs/{ID}/steps/$", jobs.JobSteps.as_view(), name="job-steps"),
    re_path(rf"^jobs/{ID}/events/$", jobs.JobEvents.as_view(), name="job-events"),
    re_path(rf"^jobs/{ID}/stream$", live.JobStream.as_view(), name="job-stream"),
    re_path(r"^usage/$", usage.UsageView.as_view(), name="usage"),
    re_path(r"^monitoring/capacity$", usage.CapacityView.as_view(), name="capacity"),
    re_path(r"^live/ticket$", live.LiveTicket.as_view(), name="live-ticket"),
    *collection("webhooks", webhooks.WebhookViewSet, "webhook"),
    *collection("api-tokens", tokens.TokenViewSet, "api-token", detail={"get": "retrieve", "delete": "destroy"}),
]
