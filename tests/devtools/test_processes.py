"""devtools.processes: the private redis-server and Celery workers start
and wait through mirakuru; a worker that cannot start says why; stop() is a
warm shutdown asked of the main process alone; kill9() takes the pool with it."""

from __future__ import annotations

import signal
import time

import psutil
import pytest
import redis

from devtools import processes


def test_the_private_redis_answers_once_started_and_is_gone_after_stop(tmp_path):
    server = processes.PrivateRedis(tmp_path)
    client = redis.Redis.from_url(server.url)
    assert client.ping()
    server.stop()
    with pytest.raises(redis.ConnectionError):
        client.ping()


@pytest.mark.workers
def test_a_worker_that_cannot_start_raises_with_the_end_of_its_log(workers):
    with pytest.raises(RuntimeError) as failure:
        workers.worker("agent.test", extra_env={"DJANGO_SETTINGS_MODULE": "no_such_settings"}, timeout=30)
    assert "did not start" in str(failure.value)
    assert "no_such_settings" in str(failure.value)  # the child's own traceback, from its log
    assert workers.children == []


def _still_running(pids: list[int], within: float = 10.0) -> list[int]:
    """The pids still running (neither gone nor a zombie) after waiting up to
    `within` s: a SIGKILL is delivered to each process on its own, so a pool
    child can still be running for an instant after its parent died."""
    deadline = time.monotonic() + within
    while True:
        running = []
        for pid in pids:
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    running.append(pid)
            except psutil.NoSuchProcess:
                pass
        if not running or time.monotonic() > deadline:
            return running
        time.sleep(0.1)


@pytest.mark.workers
def test_stop_signals_the_main_process_alone_and_kill9_takes_the_pool_with_it(workers):
    warm = workers.start("agent.test", concurrency=2)
    pool = [p.pid for p in psutil.Process(warm.pid).children()]
    assert len(pool) == 2
    warm.stop()
    # A warm shutdown: the main process drained its pool and exited cleanly
    # (a SIGTERM to the whole group would have ended the children on their own).
    assert warm.proc.returncode == 0, warm.tail()
    assert _still_running(pool) == []

    crashed = workers.start("agent.test", concurrency=2)
    pool = [p.pid for p in psutil.Process(crashed.pid).children()]
    crashed.kill9()
    assert crashed.proc.returncode == -signal.SIGKILL
    assert not crashed.alive()
    assert _still_running(pool) == []
