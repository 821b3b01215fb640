"""The sandbox network, mounted under `sandbox/` when REACHLY_SANDBOX_ENABLED.

URLs have no trailing slash, like the normalised profile URLs of leads.
"""

from django.urls import path

from reachly.sandbox import views

app_name = "sandbox"

urlpatterns = [
    path("", views.home, name="home"),
    path("login", views.login, name="login"),
    path("logout", views.logout, name="logout"),
    path("in/<slug:handle>", views.profile, name="profile"),
    path("in/<slug:handle>/connect", views.connect, name="connect"),
    path("messages/<slug:handle>", views.messages, name="messages"),
]
