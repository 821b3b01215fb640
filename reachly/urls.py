from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    # REST API (reachly.api): the contract, its OpenAPI schema and docs.
    path("api/v1/", include("reachly.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

# The sandbox network (reachly/sandbox/): the browser agents' built-in target.
if settings.REACHLY_SANDBOX_ENABLED:
    urlpatterns += [path("sandbox/", include("reachly.sandbox.urls"))]

# Operations: /healthz and /readyz are answered by reachly.observability.health's middleware.
urlpatterns += [path("", include("reachly.monitoring.urls"))]

# The tenant web UI (reachly/web): `/`, `/login/` and the pages under them.
urlpatterns += [path("", include("reachly.web.urls"))]

# JSON error bodies under /api/, the usual pages elsewhere (reachly.api.errors).
handler400 = "reachly.api.errors.handler400"
handler403 = "reachly.api.errors.handler403"
handler404 = "reachly.api.errors.handler404"
handler500 = "reachly.api.errors.handler500"
