from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from reachly.live import views as live_views

urlpatterns = [
    path("admin/", admin.site.urls),
    # Live updates: WebSocket tickets and the SSE fallback (reachly/live).
    path("api/v1/live/ticket", live_views.ticket, name="live-ticket"),
    path("api/v1/jobs/<int:pk>/stream", live_views.job_stream, name="job-stream"),
]

# The sandbox network (reachly/sandbox/): the browser agents' built-in target.
if settings.REACHLY_SANDBOX_ENABLED:
    urlpatterns += [path("sandbox/", include("reachly.sandbox.urls"))]

# Operations: /healthz and /readyz are answered by reachly.ops.health's middleware.
urlpatterns += [path("", include("reachly.ops.urls"))]
