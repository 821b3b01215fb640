"""The Celery application.

Queues: one per agent role (`agent.<role>`, see agents.registry) plus
`control` for the dispatcher, reaper, reconciler and event work. Steps are
published to their queue explicitly by the dispatcher; nothing relies on
Celery's own routing or rate limits (limits are global, in Redis).
"""

from __future__ import annotations

import os

from celery import Celery, signals

from agents.registry import all_queues
from reachly.observability import celery_hooks
from reachly.orchestration import received, shutdown
from reachly.orchestration.publish import queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reachly.settings")

app = Celery("reachly", include=["tasks"])
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [queue(name) for name in all_queues()]
app.conf.task_create_missing_queues = False


@app.on_after_finalize.connect
def _setup_periodic_tasks(sender: Celery, **_kwargs) -> None:
    from django.conf import settings

    sender.conf.beat_schedule = {
        "dispatch-all": {
            "task": "reachly.dispatch_all",
            "schedule": settings.REACHLY_DISPATCH_TICK,
            "options": {"queue": "control", "expires": settings.REACHLY_DISPATCH_TICK * 2},
        },
        "reap-expired-leases": {
            "task": "reachly.reap",
            "schedule": settings.REACHLY_REAPER_TICK,
            "options": {"queue": "control", "expires": settings.REACHLY_REAPER_TICK * 2},
        },
        "reconcile-lost-messages": {
            "task": "reachly.reconcile",
            "schedule": settings.REACHLY_RECONCILER_TICK,
            "options": {"queue": "control", "expires": settings.REACHLY_RECONCILER_TICK * 2},
        },
    }


# ---------------------------------------------------------------------------
# Connections named by process kind in pg_stat_activity (settings.py): the
# worker by its node name (`-n control@%h` -> "reachly-worker-control"), a
# standalone beat "reachly-beat". Both signals come before any connection.
# ---------------------------------------------------------------------------
def name_connections(kind: str) -> bool:
    """Name this process's PostgreSQL connections "reachly-<kind>" (cut to
    PostgreSQL's 63 bytes), unless they already carry a name other than the
    unnamed default "reachly" (DB_APPLICATION_NAME, REACHLY_PROCESS, or a
    worker that embeds beat). Affects connections opened afterwards; returns
    whether the name was set."""
    from django.conf import settings

    options = settings.DATABASES["default"].setdefault("OPTIONS", {})
    if "DB_APPLICATION_NAME" in os.environ or options.get("application_name", "reachly") != "reachly":
        return False
    options["application_name"] = f"reachly-{kind}"[:63]
    return True


@signals.celeryd_init.connect
def _name_worker_connections(sender: str, **_kwargs) -> None:
    name_connections("worker-" + str(sender).split("@", 1)[0])


@signals.beat_init.connect
def _name_beat_connections(**_kwargs) -> None:
    name_connections("beat")


# ---------------------------------------------------------------------------
# Operations: logging, trace context, Sentry tags, metrics, worker heartbeat
# ---------------------------------------------------------------------------
celery_hooks.install(app)

# Workers mark the step messages they receive, so the reconciler tells a
# message waiting in a prefetch from a lost one.
received.connect()


# ---------------------------------------------------------------------------
# Deployment: a warm shutdown (SIGTERM from Kubernetes, docker stop) hands the
# running steps back to the database at their next safe point, so a rolling
# deploy or a scale-down does not wait for long steps (orchestration/shutdown.py).
# ---------------------------------------------------------------------------
shutdown.connect()
