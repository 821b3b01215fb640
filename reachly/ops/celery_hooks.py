"""Operator plumbing for Celery processes, connected by reachly/celery.py.

* Logging: Django's LOGGING (structlog, JSON or console) in workers and beat,
  instead of Celery's own handlers.
* Context: django-structlog carries `request_id`/`trace_id` from the publisher
  (an HTTP request, or a task) in the message headers; each task then binds
  `tenant_id`, `campaign_id`, `job_id`, `step_id` and `agent` from its kwargs,
  on log lines and as Sentry tags. A chain started by beat gets the root
  task's id as `trace_id`.
* Worker liveness: the heartbeat file starts at worker init, before the
  broker connection, and keeps moving while the broker is down.
* Metrics: the worker's exporter (REACHLY_WORKER_METRICS_PORT) and
  prometheus_client's multiprocess bookkeeping for prefork children.
"""

from __future__ import annotations

import logging
import logging.config
from typing import Any

import structlog
from celery import Celery, signals

log = logging.getLogger(__name__)

# What travels from publisher to task: the trace, not the publisher's own
# step fields (a dispatcher pass triggered by a step is not that step).
PROPAGATED = {"request_id", "trace_id", "correlation_id", "user_id", "parent_task_id"}


def install(app: Celery) -> None:
    from django_structlog.celery import signals as structlog_signals

    signals.setup_logging.connect(_setup_logging, weak=False)
    signals.celeryd_init.connect(_worker_init, weak=False)
    signals.worker_ready.connect(_worker_ready, weak=False)
    signals.worker_process_shutdown.connect(_process_shutdown, weak=False)
    signals.task_postrun.connect(_task_postrun, weak=False)
    structlog_signals.bind_extra_task_metadata.connect(_bind_task_context, weak=False, dispatch_uid="reachly-task")
    structlog_signals.modify_context_before_task_publish.connect(
        _propagate_trace_only, weak=False, dispatch_uid="reachly-publish"
    )


def _setup_logging(**_kwargs: Any) -> None:
    """Connected, so Celery leaves logging to us (settings.LOGGING)."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


def _worker_init(sender=None, **_kwargs: Any) -> None:
    """In the worker's main process, before the pool and the broker."""
    from django_structlog.celery.receivers import CeleryReceiver

    from reachly.ops import metrics, workers

    workers.heartbeat_start()
    metrics.clean_dead_processes()
    # The publish side is connected by django_structlog's AppConfig in every
    # process; the task side only in workers.
    receiver = CeleryReceiver()
    for signal, handler in (
        (signals.task_prerun, receiver.receiver_task_prerun),
        (signals.task_retry, receiver.receiver_task_retry),
        (signals.task_success, receiver.receiver_task_success),
        (signals.task_failure, receiver.receiver_task_failure),
        (signals.task_revoked, receiver.receiver_task_revoked),
        (signals.task_unknown, receiver.receiver_task_unknown),
        (signals.task_rejected, receiver.receiver_task_rejected),
    ):
        signal.connect(handler, weak=False)


def _worker_ready(sender=None, **_kwargs: Any) -> None:
    from django.conf import settings

    from reachly.ops import metrics

    port = settings.REACHLY_WORKER_METRICS_PORT
    if not port:
        return
    pool = getattr(getattr(sender, "controller", None), "pool_cls", None)
    if not metrics.multiprocess_dir() and "prefork" in str(pool).lower():
        log.warning("PROMETHEUS_MULTIPROC_DIR is not set: steps run in pool children will not be exported")
    try:
        metrics.start_worker_exporter(port, settings.REACHLY_WORKER_METRICS_ADDR)
    except OSError:
        log.exception("metrics exporter could not listen on port %s", port)


def _process_shutdown(pid=None, **_kwargs: Any) -> None:
    from reachly.ops import metrics

    if metrics.multiprocess_dir() and pid:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def _task_postrun(**_kwargs: Any) -> None:
    # Lines between tasks (pool housekeeping) must not carry the last task's ids.
    structlog.contextvars.clear_contextvars()


def _propagate_trace_only(sender=None, signal=None, context=None, **_kwargs: Any) -> None:
    if context is None:
        return
    kept = {k: v for k, v in context.items() if k in PROPAGATED}
    context.clear()
    context.update(kept)


def _bind_task_context(sender=None, signal=None, task=None, logger=None, **_kwargs: Any) -> None:
    """Runs inside django-structlog's task_prerun, before its "task_started" line."""
    from reachly.ops import sentry

    request = task.request
    kwargs = request.kwargs or {}
    fields: dict[str, Any] = {}
    if "step" in kwargs:  # reachly.run_step(step, job, tenant, agent, ...)
        fields = {
            "step_id": kwargs.get("step"),
            "job_id": kwargs.get("job"),
            "tenant_id": kwargs.get("tenant"),
            "agent": kwargs.get("agent"),
            "campaign_id": _campaign_of(kwargs["job"]) if kwargs.get("job") else None,
        }
    elif task.name == "reachly.dispatch" and request.args:
        fields = {"agent": request.args[0]}
    context = structlog.contextvars.get_contextvars()
    if not context.get("trace_id"):
        fields["trace_id"] = context.get("request_id") or request.id
    structlog.contextvars.bind_contextvars(**fields)
    sentry.set_tags(
        tenant=fields.get("tenant_id"),
        job=fields.get("job_id"),
        step=fields.get("step_id"),
        agent=fields.get("agent"),
        campaign=fields.get("campaign_id"),
        trace_id=structlog.contextvars.get_contextvars().get("trace_id"),
    )


_CAMPAIGNS: dict[int, int | None] = {}
_CAMPAIGNS_MAX = 10_000


def _campaign_of(job_id: int) -> int | None:
    """A job's campaign never changes: one primary-key read per job and process."""
    if job_id in _CAMPAIGNS:
        return _CAMPAIGNS[job_id]
    from reachly.core import sql

    try:
        row = sql.fetchone("SELECT campaign_id FROM orchestration_job WHERE id = %s", [job_id])
    except Exception:  # noqa: BLE001 - logging context must never fail a task
        return None
    if row is None:
        return None
    if len(_CAMPAIGNS) >= _CAMPAIGNS_MAX:
        _CAMPAIGNS.clear()
    _CAMPAIGNS[job_id] = row["campaign_id"]
    return row["campaign_id"]
