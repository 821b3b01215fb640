"""The tenant web UI: `/` and the pages under it (reachly/urls.py includes it last)."""

from django.urls import path, re_path

from reachly.web.views import accounts, auth, campaigns, dashboard, jobs, tokens, usage

app_name = "web"

# Ids are 1-18 digits, like the API's: anything longer is a 404, not an overflow.
ID = r"(?P<pk>[0-9]{1,18})"

urlpatterns = [
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("tenant/", auth.tenant_switch, name="tenant-switch"),
    path("", dashboard.dashboard, name="dashboard"),
    # Campaigns and leads
    path("campaigns/", campaigns.campaign_list, name="campaigns"),
    path("campaigns/new", campaigns.campaign_create, name="campaign-new"),
    re_path(rf"^campaigns/{ID}/$", campaigns.campaign_detail, name="campaign"),
    re_path(rf"^campaigns/{ID}/edit$", campaigns.campaign_edit, name="campaign-edit"),
    re_path(rf"^campaigns/{ID}/leads/preview$", campaigns.lead_import_preview, name="lead-preview"),
    re_path(rf"^campaigns/{ID}/leads/import$", campaigns.lead_import, name="lead-import"),
    re_path(rf"^campaigns/{ID}/start$", campaigns.campaign_start, name="campaign-start"),
    # Jobs
    path("jobs/", jobs.job_list, name="jobs"),
    re_path(rf"^jobs/{ID}/$", jobs.job_detail, name="job"),
    re_path(rf"^jobs/{ID}/graph$", jobs.job_graph, name="job-graph"),
    re_path(rf"^jobs/{ID}/(?P<action>pause|resume|cancel)$", jobs.job_control, name="job-control"),
    re_path(rf"^jobs/{ID}/retry-failed$", jobs.job_retry_failed, name="job-retry-failed"),
    re_path(rf"^jobs/{ID}/steps/(?P<step_pk>[0-9]{{1,18}})/retry$", jobs.step_retry, name="step-retry"),
    # Sender accounts
    path("sender-accounts/", accounts.account_list, name="accounts"),
    path("sender-accounts/new", accounts.account_create, name="account-new"),
    re_path(rf"^sender-accounts/{ID}/$", accounts.account_detail, name="account"),
    re_path(rf"^sender-accounts/{ID}/session$", accounts.account_session, name="account-session"),
    re_path(rf"^sender-accounts/{ID}/session/clear$", accounts.account_session_clear, name="account-session-clear"),
    re_path(rf"^sender-accounts/{ID}/status$", accounts.account_status, name="account-status"),
    re_path(rf"^sender-accounts/{ID}/delete$", accounts.account_delete, name="account-delete"),
    # Usage and API tokens
    path("usage/", usage.usage, name="usage"),
    path("api-tokens/", tokens.token_list, name="tokens"),
    re_path(rf"^api-tokens/{ID}/revoke$", tokens.token_revoke, name="token-revoke"),
]
