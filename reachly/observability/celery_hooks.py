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
from django.conf import settings
from django_structlog.celery.receivers import CeleryReceiver

from reachly.observability import context, metrics, workers

log = logging.getLogger(__name__)

# What travels from publisher to task: the trace, not the publisher's own
# step fields (a dispatcher pass triggered by a step is not that step).
PROPAGATED = {"request_id", "trace_id", "correlation_id", "user_id", "parent_task_id"}


def install(app: Celery) -> None:
    from django_structlog.celery import signals as structlog_signals

    signals.setup_logging.connect(_setup_logging, weak=False)
    signals.celeryd_init.connect(_worker_init, weak=False)
    signals.worker_ready.connect(_worker_ready, weak=False)
    signals.worker_shutdown.connect(_worker_shutdown, weak=False)
    signals.worker_process_shutdown.connect(_process_shutdown, weak=False)
    signals.task_postrun.connect(_task_postrun, weak=False)
    structlog_signals.bind_extra_task_metadata.connect(_bind_task_context, weak=False, dispatch_uid="reachly-task")
    structlog_signals.modify_context_before_task_publish.connect(
        _propagate_trace_only, weak=False, dispatch_uid="reachly-publish"
    )


def _setup_logging(**_kwargs: Any) -> None:
    """Connected, so Celery leaves logging to us (settings.LOGGING)."""
    logging.config.dictConfig(settings.LOGGING)


def _worker_init(sender=None, **_kwargs: Any) -> None:
    """In the worker's main process, before the pool and the broker."""
    workers.heartbeat_start()
    metrics.clean_dead_processes()
    # Not django-structlog's documented worker boot step
    # (DjangoStructLogInitStep), for two reasons that
    # tests/observability/test_celery_hooks.py proves:
    # * its AppConfig already connected the publish side in every process
    #   (DJANGO_STRUCTLOG_CELERY_ENABLED); the step connects it again with a
    #   second receiver, so every task a worker publishes would log
    #   "task_enqueued" twice. Only the task side is connected here.
    # * ours must run before its task_success / task_failure receivers, so
    #   that their last line has the task's context.
    receiver = CeleryReceiver()
    signals.task_success.connect(_task_ended, weak=False)
    signals.task_failure.connect(_task_ended, weak=False)
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
    """The worker consumes: announce it (the capacity page and the
    dispatcher's slot count read the presence), then export metrics."""
    if sender is not None:
        consumer_queues = sender.task_consumer.queues if sender.task_consumer else []
        workers.announce(sender.hostname, sorted(q.name for q in consumer_queues), sender.controller.concurrency)
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


def _worker_shutdown(sender=None, **_kwargs: Any) -> None:
    if sender is not None:
        workers.withdraw(sender.hostname)


def _process_shutdown(pid=None, **_kwargs: Any) -> None:
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


def _task_fields(task) -> dict[str, Any]:
    request = task.request
    if task.name == "reachly.run_step":
        return context.step_fields(request.kwargs or {})
    if task.name == "reachly.run_steps" and request.args:
        return context.common_fields(request.args[0])
    if task.name == "reachly.dispatch" and request.args:
        return {"agent": request.args[0]}
    return {}


def _bind_task_context(sender=None, signal=None, task=None, logger=None, **_kwargs: Any) -> None:
    """Runs inside django-structlog's task_prerun, before its "task_started" line."""
    fields = _task_fields(task)
    task.request._reachly_fields = fields
    current = structlog.contextvars.get_contextvars()
    if not current.get("trace_id"):
        # A chain started by beat (or a shell): its root task names the trace.
        fields = {**fields, "trace_id": current.get("request_id") or task.request.id}
    context.bind(fields)


def _task_ended(sender=None, **_kwargs: Any) -> None:
    """A batch bound each step's ids in turn: its last lines are the batch's again."""
    fields = getattr(getattr(sender, "request", None), "_reachly_fields", None)
    if fields is not None:
        structlog.contextvars.bind_contextvars(**{k: fields.get(k) for k in context.STEP_FIELDS})
