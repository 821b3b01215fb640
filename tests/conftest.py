"""Test harness: real PostgreSQL, Redis and Celery worker processes.

* PostgreSQL: the local server; each test session creates its own database
  (`test_reachly_<pid>`), so several sessions can run side by side.
* Redis: each session starts a private `redis-server` on a free port (broker
  on db 0, Reachly's keys on db 1), so a test may FLUSHALL it without
  touching anyone else. Set REACHLY_TEST_REDIS_URL to use an existing server.
* Celery: `workers` starts real worker processes (`celery -A reachly worker`)
  against that database and Redis, and stops (or kill -9s) them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from devtools import processes

# Control-plane timings shortened for tests (same meaning as in settings.py).
TEST_SETTINGS = {
    "REACHLY_ENV": "test",
    "REACHLY_LEASE_SECONDS": "4",
    "REACHLY_HEARTBEAT_SECONDS": "1",
    "REACHLY_REPUBLISH_AFTER_SECONDS": "3",
    "REACHLY_RETRY_BASE_SECONDS": "0.2",
    "REACHLY_RETRY_MAX_SECONDS": "2",
    "REACHLY_DISPATCH_TICK": "1",
    "REACHLY_REAPER_TICK": "1",
    "REACHLY_RECONCILER_TICK": "1",
    "REACHLY_LIMIT_RULES_TTL": "0.5",
    "REACHLY_STEP_MAX_SECONDS": "120",
    "CELERY_SEND_EVENTS": "false",
}


def wait_for(predicate: Callable[[], object], timeout: float = 30.0, interval: float = 0.05, what: str = "") -> object:
    """Poll `predicate` until it returns something truthy (else fail the test)."""
    try:
        return processes.wait_for(predicate, timeout, interval, what)
    except TimeoutError as exc:
        raise AssertionError(str(exc)) from None


@pytest.fixture(scope="session")
def redis_base_url(tmp_path_factory) -> Iterator[str]:
    if os.environ.get("REACHLY_TEST_REDIS_URL"):
        yield os.environ["REACHLY_TEST_REDIS_URL"].rstrip("/")
        return
    try:
        server = processes.PrivateRedis(tmp_path_factory.mktemp("redis"))
    except RuntimeError as exc:
        pytest.exit(f"{exc}: install Redis or set REACHLY_TEST_REDIS_URL", returncode=3)
    yield server.url
    server.stop()


@pytest.fixture(scope="session", autouse=True)
def test_environment(redis_base_url: str) -> dict[str, str]:
    """Point this process's settings (and the workers' environment) at the
    session's Redis and the shortened control-plane timings."""
    from django.conf import settings

    from reachly.celery import app
    from reachly.core import redis as rds

    env = {
        **TEST_SETTINGS,
        "REDIS_URL": f"{redis_base_url}/1",
        "CELERY_BROKER_URL": f"{redis_base_url}/0",
        "REACHLY_REDIS_PREFIX": "reachly:",
    }
    for name, value in env.items():
        if name.startswith("REACHLY_") and name not in ("REACHLY_ENV", "REACHLY_REDIS_PREFIX"):
            setattr(settings, name, float(value))
    settings.REACHLY_ENV = "test"
    settings.REDIS_URL = env["REDIS_URL"]
    settings.CELERY_BROKER_URL = env["CELERY_BROKER_URL"]
    settings.CACHES["default"]["LOCATION"] = env["REDIS_URL"]
    settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] = [env["REDIS_URL"]]
    app.conf.broker_url = env["CELERY_BROKER_URL"]
    app.conf.task_send_sent_event = False
    rds.reset()
    return env


@pytest.fixture(scope="session")
def django_db_modify_db_settings() -> None:
    """One database per test session, so parallel sessions never collide."""
    from django.conf import settings

    settings.DATABASES["default"]["TEST"]["NAME"] = f"test_reachly_{os.getpid()}"
    _drop_databases_of_dead_sessions()


def _drop_databases_of_dead_sessions() -> None:
    """A session killed before its teardown leaves its database behind."""
    import psycopg

    try:
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            names = [r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'test_reachly_%'")]
            for name in names:
                pid = name.rsplit("_", 1)[-1]
                if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except psycopg.Error:
        pass  # best effort; pytest-django reports real connection problems


@pytest.fixture(autouse=True)
def _clean_app_redis(test_environment: dict[str, str]) -> None:
    """Reachly's Redis keys (limits, flags) start empty in every test."""
    redis.Redis.from_url(test_environment["REDIS_URL"]).flushdb()


@pytest.fixture
def plans(db) -> None:
    """The plan matrix (transactional tests truncate the migration's rows)."""
    from reachly.tenants import plans as plan_data

    plan_data.install()


@pytest.fixture
def redis_client(test_environment: dict[str, str]) -> redis.Redis:
    return redis.Redis.from_url(test_environment["REDIS_URL"])


@pytest.fixture
def broker_client(test_environment: dict[str, str]) -> redis.Redis:
    return redis.Redis.from_url(test_environment["CELERY_BROKER_URL"])


# ---------------------------------------------------------------------------
# Celery worker processes
# ---------------------------------------------------------------------------


Worker = processes.Child


class WorkerPool(processes.Processes):
    """Celery workers for one test: `start(queues, concurrency=, beat=, extra_env=)`."""

    def __init__(self, env: dict[str, str], db_name: str, logdir: Path):
        super().__init__({**env, "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db_name}"}, logdir)

    def start(self, queues: list[str] | str = "agent.test", **kwargs) -> Worker:
        try:
            return self.worker(queues, **kwargs)
        except RuntimeError as exc:
            raise AssertionError(str(exc)) from None

    @property
    def started(self) -> list[Worker]:
        return self.children


@pytest.fixture
def workers(transactional_db, plans, test_environment, tmp_path) -> Iterator[WorkerPool]:
    """Start real Celery workers for this test; all are stopped afterwards."""
    from django.db import connection

    pool = WorkerPool(test_environment, connection.settings_dict["NAME"], tmp_path)
    yield pool
    pool.stop_all()


@pytest.fixture(scope="session", autouse=True)
def _end_stray_connections(django_db_setup, django_db_blocker) -> Iterator[None]:
    """Connections opened by threads (async tests, live publishers) would
    keep the test database from being dropped at the end of the session."""
    yield
    with django_db_blocker.unblock():
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [connection.settings_dict["NAME"]],
            )
