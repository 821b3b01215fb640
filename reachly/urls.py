from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
]

# Operations: /healthz and /readyz are answered by reachly.ops.health's middleware.
urlpatterns += [path("", include("reachly.ops.urls"))]
