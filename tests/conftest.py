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
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parent.parent

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate: Callable[[], object], timeout: float = 30.0, interval: float = 0.05, what: str = "") -> object:
    """Poll `predicate` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")


@pytest.fixture(scope="session")
def redis_base_url(tmp_path_factory) -> Iterator[str]:
    if os.environ.get("REACHLY_TEST_REDIS_URL"):
        yield os.environ["REACHLY_TEST_REDIS_URL"].rstrip("/")
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.exit("redis-server not found: install Redis or set REACHLY_TEST_REDIS_URL", returncode=3)
    port = _free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
            "--logfile",
            str(workdir / "redis.log"),
        ],
    )
    url = f"redis://127.0.0.1:{port}"
    client = redis.Redis.from_url(url)
    wait_for(lambda: _ping(client), timeout=10, what="private redis-server")
    yield url
    proc.terminate()
    proc.wait(10)


def _ping(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


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


@dataclass
class Worker:
    name: str
    proc: subprocess.Popen
    log: Path
    queues: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def child_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def kill9(self) -> None:
        """SIGKILL the whole worker: the main process and its pool children."""
        for pid in [*self.child_pids(), self.proc.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(10)

    def stop(self, timeout: float = 20) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9()

    def tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


class WorkerPool:
    def __init__(self, env: dict[str, str], db_name: str, logdir: Path):
        self.env = env
        self.db_name = db_name
        self.logdir = logdir
        self.started: list[Worker] = []
        self._n = 0

    def start(
        self,
        queues: list[str] | str = "agent.test",
        *,
        concurrency: int = 1,
        pool: str = "prefork",
        beat: bool = False,
        name: str | None = None,
        extra_env: dict[str, str] | None = None,
        wait: bool = True,
    ) -> Worker:
        from reachly.core import redis as rds

        queues = [queues] if isinstance(queues, str) else list(queues)
        self._n += 1
        name = name or f"w{self._n}-{os.getpid()}"
        hostname = f"{name}@{socket.gethostname()}"
        log = self.logdir / f"{name}.log"
        cmd = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "reachly",
            "worker",
            "-Q",
            ",".join(queues),
            "-c",
            str(concurrency),
            "-P",
            pool,
            "-n",
            hostname,
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "INFO",
        ]
        if beat:
            cmd += ["-B", "-s", str(self.logdir / f"beat-{name}")]
        env = {
            **os.environ,
            **self.env,
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{self.db_name}",
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
        with open(log, "w") as out:
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        worker = Worker(hostname, proc, log, queues)
        self.started.append(worker)
        if wait:
            client = rds.client()
            try:
                wait_for(
                    lambda: proc.poll() is not None or client.exists(rds.key("workers", hostname)),
                    timeout=60,
                    interval=0.1,
                    what=f"worker {hostname}",
                )
            except AssertionError:
                raise AssertionError(f"worker {hostname} did not start:\n{worker.tail()}") from None
            if proc.poll() is not None:
                raise AssertionError(f"worker {hostname} exited:\n{worker.tail()}")
        return worker

    def stop_all(self) -> None:
        for worker in self.started:
            worker.stop()
        self.started.clear()


@pytest.fixture
def workers(transactional_db, plans, test_environment, tmp_path) -> Iterator[WorkerPool]:
    """Start real Celery workers for this test; all are stopped afterwards."""
    from django.db import connection

    pool = WorkerPool(test_environment, connection.settings_dict["NAME"], tmp_path)
    yield pool
    pool.stop_all()
