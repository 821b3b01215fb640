"""Prometheus endpoints of the web app, behind a bearer token."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from reachly.monitoring import cluster_metrics as cluster
from reachly.observability import metrics as ops_metrics


def _allowed(request: HttpRequest) -> bool:
    token = settings.REACHLY_METRICS_TOKEN
    if not token:
        # No token configured: open on a laptop, closed in production.
        return settings.REACHLY_ENV != "prod"
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(value.strip(), token)


def _refused() -> HttpResponse:
    response = HttpResponse("metrics need Authorization: Bearer <REACHLY_METRICS_TOKEN>\n", status=401)
    response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """This web process's series (all processes', in multiprocess mode)."""
    if not _allowed(request):
        return _refused()
    return HttpResponse(generate_latest(ops_metrics.process_registry()), content_type=CONTENT_TYPE_LATEST)


@require_GET
def cluster_metrics(request: HttpRequest) -> HttpResponse:
    """Queue depths, step backlog and live workers: scrape once, not per pod."""
    if not _allowed(request):
        return _refused()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(cluster.ClusterCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
