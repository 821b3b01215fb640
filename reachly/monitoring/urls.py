from django.urls import path

from reachly.monitoring import views
from reachly.observability import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
    path("metrics/cluster", views.cluster_metrics, name="metrics-cluster"),
]
