"""Which worker holds a step's message: marks set when a worker receives it.

A step can stay `enqueued` for long with nothing lost: its message waits in
a worker's prefetch behind a long step, out of the broker's queue. When a
worker receives a task message (Celery's `task_received`, in the worker's
main process, before the task runs), the step ids it carries are marked
with the worker's name (`step:received:<id>` in Redis, kept a day). The
reconciler republishes an old `enqueued` step only when no live worker
(reachly.observability.workers presence) holds it; a worker that died, or
a Redis that was flushed, leaves no live mark, so lost messages still come
back.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import signals

from reachly.core import redis as rds
from reachly.observability import workers

log = logging.getLogger(__name__)

MARK_TTL = 86_400  # seconds a mark is kept (a claimed step no longer needs it)


def _key(step_id: int) -> str:
    return rds.key("step", "received", step_id)


def _step_ids(args: Any, kwargs: Any) -> list[int]:
    """Step ids of a `reachly.run_step` (kwargs) or `reachly.run_steps` (one list arg) message."""
    if isinstance(kwargs, dict) and isinstance(kwargs.get("step"), int):
        return [kwargs["step"]]
    if args and isinstance(args[0], list):
        return [m["step"] for m in args[0] if isinstance(m, dict) and isinstance(m.get("step"), int)]
    return []


def _on_received(sender: Any = None, request: Any = None, **_: Any) -> None:
    try:
        ids = _step_ids(request.args, request.kwargs)
        if not ids:
            return
        pipe = rds.client().pipeline(transaction=False)
        for step_id in ids:
            pipe.set(_key(step_id), str(request.hostname), ex=MARK_TTL)
        pipe.execute()
    except Exception:
        log.warning("could not mark a received step message", exc_info=True)


def connect() -> None:
    """Connect the receiver (reachly/celery.py calls it in every worker)."""
    signals.task_received.connect(_on_received, weak=False, dispatch_uid="reachly-step-received")


def held(step_ids: list[int]) -> set[int]:
    """The ids among `step_ids` whose message a live worker has received.

    Raises redis errors to the caller (the reconciler then republishes
    nothing this pass).
    """
    if not step_ids:
        return set()
    marks = rds.client().mget([_key(i) for i in step_ids])
    alive = {str(w.get("hostname")) for w in workers.live_workers()}
    return {i for i, mark in zip(step_ids, marks, strict=True) if mark is not None and _text(mark) in alive}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
