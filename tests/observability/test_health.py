"""Probes: /healthz (the process answers), /readyz (PostgreSQL and Redis
answer, else 503 saying which), and a worker liveness check that keeps
passing while the broker is down."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from django.db import connection

from devtools import processes
from reachly.core import redis as rds
from tests.conftest import wait_for


def test_healthz_answers_without_touching_anything(client, settings):
    settings.ALLOWED_HOSTS = ["reachly.example.com"]
    # A kubelet probes the pod's IP: no ALLOWED_HOSTS refusal, no redirect.
    response = client.get("/healthz", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_200_when_postgres_and_redis_answer(client):
    response = client.get("/readyz", HTTP_HOST="10.1.2.3")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"].startswith("ok") and body["checks"]["redis"].startswith("ok")


@pytest.mark.django_db
def test_readyz_is_503_naming_redis_when_redis_is_unreachable(client, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{processes.free_port()}/0"
    rds.reset()
    try:
        response = client.get("/readyz")
    finally:
        rds.reset()
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["database"].startswith("ok")
    assert body["checks"]["redis"].startswith("error: ConnectionError")


@pytest.mark.django_db(transaction=True)
def test_readyz_is_503_naming_the_database_when_postgres_is_unreachable(client):
    real_port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = str(processes.free_port())
    try:
        response = client.get("/readyz")
    finally:
        connection.close()
        connection.settings_dict["PORT"] = real_port
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"].startswith("error: OperationalError")
    assert checks["redis"].startswith("ok")


def _liveness(path, max_age: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "reachly.observability.liveness", str(path), "--max-age", str(max_age)],
        capture_output=True,
        text=True,
        cwd=processes.ROOT,
    )


def test_liveness_fails_without_a_heartbeat_and_when_it_is_stale(tmp_path):
    beat = tmp_path / "heartbeat"
    result = _liveness(beat)
    assert result.returncode == 1 and "no heartbeat file" in result.stderr
    beat.write_text(str(time.time() - 600))
    result = _liveness(beat, max_age=60)
    assert result.returncode == 1 and "last heartbeat" in result.stderr and "(max 60s)" in result.stderr
    beat.write_text(str(time.time()))
    assert _liveness(beat).returncode == 0


def _beats(path) -> float:
    return float(path.read_text()) if path.exists() and path.read_text() else 0.0


@pytest.mark.workers
def test_a_worker_stays_live_while_its_broker_is_down(workers, tmp_path, test_environment):
    """Started against a broker that is then killed, and another started
    with no broker at all: both heartbeats keep moving, liveness passes."""
    broker = processes.PrivateRedis(tmp_path / "broker")
    beat = tmp_path / "beat-1"
    env = {
        "REACHLY_WORKER_HEARTBEAT_FILE": str(beat),
        "REACHLY_WORKER_HEARTBEAT_SECONDS": "0.2",
        "CELERY_BROKER_URL": f"{broker.url}/0",
    }
    worker = workers.start("agent.test", extra_env=env)
    broker.stop()
    first = wait_for(lambda: _beats(beat), what="a heartbeat")
    wait_for(lambda: _beats(beat) > first + 0.5, timeout=10, what="the heartbeat to move with the broker down")
    assert worker.alive()
    assert _liveness(beat, max_age=5).returncode == 0

    nowhere = f"redis://127.0.0.1:{processes.free_port()}/0"
    beat2 = tmp_path / "beat-2"
    lonely = workers.start(
        "agent.test",
        extra_env={**env, "REACHLY_WORKER_HEARTBEAT_FILE": str(beat2), "CELERY_BROKER_URL": nowhere},
        wait=False,  # it never reaches "ready": there is no broker
    )
    first = wait_for(lambda: _beats(beat2), timeout=60, what="a heartbeat without any broker")
    wait_for(lambda: _beats(beat2) > first + 0.5, timeout=10, what="the heartbeat to move")
    assert lonely.alive(), lonely.tail()
    assert _liveness(beat2, max_age=5).returncode == 0
    assert os.path.exists(beat2)
