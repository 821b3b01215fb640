"""Flower, started from the Procfile's own line against the test broker, sees
the running workers and every `agent.*` queue through its API, behind basic
auth and its URL prefix, and keeps its state on disk."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx
import pytest

from agents import registry
from devtools import processes
from tests.conftest import wait_for

pytestmark = pytest.mark.workers


def procfile_line(name: str) -> str:
    for line in (processes.ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {name} line in the Procfile")


def shell_env(**extra: str) -> dict[str, str]:
    """The Procfile runs in a shell: the virtualenv's `celery` must be on PATH."""
    return {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}", **extra}


def test_flower_lists_the_workers_and_every_agent_queue(workers, tmp_path):
    events = {"CELERY_SEND_EVENTS": "true"}
    # One worker consumes every queue, as the browser+general+control groups do together.
    worker = workers.start(registry.all_queues(), extra_env=events)
    port = processes.free_port()
    flower = workers.spawn(
        "flower",
        ["bash", "-c", procfile_line("flower")],
        extra_env=shell_env(
            FLOWER_PORT=str(port),
            FLOWER_BASIC_AUTH="ops:correct-horse",
            FLOWER_DB=str(tmp_path / "state" / "flower.db"),
        ),
    )
    base = f"http://127.0.0.1:{port}/flower"
    auth = ("ops", "correct-horse")

    def workers_seen():
        try:
            response = httpx.get(f"{base}/api/workers", params={"refresh": "1"}, auth=auth, timeout=10)
        except httpx.TransportError:
            assert flower.alive(), flower.tail()
            return None
        return response.status_code == 200 and worker.name in response.json() and response.json()

    seen = wait_for(workers_seen, timeout=60, interval=0.5, what="Flower to see the worker")
    consumed = {q["name"] for q in seen[worker.name]["active_queues"]}
    assert {spec.queue for spec in registry.AGENTS.values()} <= consumed

    lengths = httpx.get(f"{base}/api/queues/length", auth=auth, timeout=10).json()["active_queues"]
    names = {q["name"] for q in lengths}
    for spec in registry.AGENTS.values():
        assert spec.queue in names, f"{spec.queue} missing from Flower's queues"
    assert all(q["messages"] == 0 for q in lengths)

    # Basic auth is required, for the API and the UI alike.
    assert httpx.get(f"{base}/api/workers", timeout=10).status_code == 401
    assert httpx.get(f"{base}/api/workers", auth=("ops", "wrong"), timeout=10).status_code == 401
    assert httpx.get(f"{base}/", auth=auth, timeout=10).status_code == 200

    flower.stop()
    assert list((tmp_path / "state").glob("flower.db*")), "persistent state written on shutdown"


def test_the_flower_line_refuses_to_start_without_basic_auth(workers):
    flower = workers.spawn(
        "flower-open", ["bash", "-c", procfile_line("flower")], extra_env=shell_env(FLOWER_BASIC_AUTH="")
    )
    wait_for(lambda: not flower.alive(), timeout=20, what="Flower to refuse to start")
    assert flower.proc.returncode != 0
    assert "FLOWER_BASIC_AUTH=user:password is required" in flower.tail()
