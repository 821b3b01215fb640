"""Warm shutdown: running steps stop at a safe point and go back to the database.

On SIGTERM (a rolling deploy, a KEDA scale-down, a node drain) Celery's main
process stops consuming and waits for the tasks that run. Their steps may last
minutes; instead of holding the pod (and the deploy) that long, each step is
asked to stop at its next safe point: it checkpoints and returns to `ready`
without spending an attempt, and another worker resumes it from the
checkpoint. A step that reaches no safe point still finishes within
terminationGracePeriodSeconds, which the manifests keep above
REACHLY_STEP_MAX_SECONDS plus Celery's hard time limit.

The request crosses from Celery's main process to its pool processes
(prefork) through a marker file named after the main process's pid: the
pool processes look for their parent's, the threads pool for its own.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from celery import signals


def _marker(pid: int) -> Path:
    return Path(tempfile.gettempdir()) / f"reachly-worker-{pid}.stopping"


def request() -> None:
    """Called in Celery's main process when it starts shutting down."""
    try:
        _marker(os.getpid()).write_text(str(time.time()))
    except OSError:  # no writable temp dir: steps then finish instead
        pass


def requested() -> bool:
    """Has this worker (the process or its parent, the pool's master) been asked to stop?"""
    return _marker(os.getpid()).exists() or _marker(os.getppid()).exists()


def clear() -> None:
    """At worker start: a restarted container keeps /tmp and often its pid."""
    _marker(os.getpid()).unlink(missing_ok=True)


def connect() -> None:
    """Wire the warm shutdown to Celery's worker signals (reachly/celery.py
    calls this once): clear a stale marker at start, write it when the
    main process starts shutting down, remove it when the worker is gone."""
    signals.worker_init.connect(_on_start, weak=False, dispatch_uid="reachly-shutdown-start")
    signals.worker_shutting_down.connect(_on_shutting_down, weak=False, dispatch_uid="reachly-shutdown-request")
    signals.worker_shutdown.connect(_on_start, weak=False, dispatch_uid="reachly-shutdown-done")


def _on_start(**_kwargs: Any) -> None:
    clear()


def _on_shutting_down(**_kwargs: Any) -> None:
    request()
