"""devtools.processes: the private redis-server and Celery workers start
and wait through mirakuru; a worker that cannot start says why; stop() is a
warm shutdown asked of the main process alone; kill9() takes the pool with it."""

from __future__ import annotations

import signal

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


@pytest.mark.workers
def test_stop_signals_the_main_process_alone_and_kill9_takes_the_pool_with_it(workers):
    warm = workers.start("agent.test", concurrency=2)
    pool = [p.pid for p in psutil.Process(warm.pid).children()]
    assert len(pool) == 2
    warm.stop()
    # A warm shutdown: the main process drained its pool and exited cleanly
    # (a SIGTERM to the whole group would have ended the children on their own).
    assert warm.proc.returncode == 0, warm.tail()
    assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in pool)

    crashed = workers.start("agent.test", concurrency=2)
    pool = [p.pid for p in psutil.Process(crashed.pid).children()]
    crashed.kill9()
    assert crashed.proc.returncode == -signal.SIGKILL
    assert not crashed.alive()
    assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in pool)
