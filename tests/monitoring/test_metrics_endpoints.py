"""The web app's Prometheus endpoints (reachly.monitoring.views): they need
the token, and show the request series and the cluster series."""

from __future__ import annotations

import pytest

from reachly.orchestration.services import job_start
from tests.factories import TenantFactory, test_steps
from tests.observability.test_metrics import value


@pytest.mark.django_db
def test_web_metrics_need_the_token_and_show_request_series(client, settings, plans):
    settings.REACHLY_METRICS_TOKEN = "s3cret-scrape-token"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    client.get("/admin/login/")
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")
    assert response.status_code == 200
    assert "django_http_requests_total_by_method_total" in response.content.decode()
    assert "django_http_requests_latency_seconds_by_view_method" in response.content.decode()


@pytest.mark.django_db
def test_without_a_token_metrics_are_closed_in_production(client, settings):
    settings.REACHLY_METRICS_TOKEN = ""
    settings.REACHLY_ENV = "prod"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics/cluster").status_code == 401


@pytest.mark.django_db
def test_cluster_metrics_show_queue_depth_backlog_and_workers(client, settings, plans, broker_client):
    settings.REACHLY_METRICS_TOKEN = "t0ken"
    broker_client.flushdb()
    job_start(tenant=TenantFactory(), steps=test_steps(3))
    from reachly.orchestration import dispatcher

    dispatcher.dispatch("test")  # 3 steps admitted: 3 messages in agent.test
    text = client.get("/metrics/cluster", HTTP_AUTHORIZATION="Bearer t0ken").content.decode()
    assert value(text, "reachly_queue_depth", queue="agent.test") == 3
    assert value(text, "reachly_queue_depth", queue="agent.outreach") == 0
    assert value(text, "reachly_steps", agent="test", status="enqueued") == 3
    assert value(text, "reachly_steps_waiting_on_limit", agent="outreach") == 0
    assert value(text, "reachly_workers_live") == 0
