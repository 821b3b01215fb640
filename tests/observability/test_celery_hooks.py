"""Why reachly/observability/celery_hooks.py wires django-structlog's Celery
receivers by hand instead of its documented worker boot step
(`app.steps["worker"].add(DjangoStructLogInitStep)`):

* the step connects the publish receivers a second time in every worker
  (django-structlog's AppConfig already connected them, with another
  CeleryReceiver, when DJANGO_STRUCTLOG_CELERY_ENABLED is on), so each task
  a worker publishes (the dispatcher's run_step messages) would log
  "task_enqueued" twice;
* our own task_success / task_failure receiver must run before
  django-structlog's, so that its "task_succeeded" line carries the step's
  context; the hand wiring connects them in that order.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from celery import signals
from django_structlog.celery.receivers import CeleryReceiver
from django_structlog.celery.steps import DjangoStructLogInitStep

from reachly.observability import celery_hooks, metrics, workers

SIGNALS = [
    signals.before_task_publish,
    signals.after_task_publish,
    signals.task_prerun,
    signals.task_retry,
    signals.task_success,
    signals.task_failure,
    signals.task_revoked,
    signals.task_unknown,
    signals.task_rejected,
]


@pytest.fixture
def restored_signals() -> Iterator[None]:
    """Whatever a test connects to Celery's task signals is gone after it."""
    saved = {sig: list(sig.receivers) for sig in SIGNALS}
    yield
    for sig, receivers in saved.items():
        sig.receivers[:] = receivers
        sig.sender_receivers_cache.clear()


def structlog_receivers(signal, method: str) -> int:
    """How many django-structlog CeleryReceiver.<method> are connected."""
    return sum(getattr(r, "__func__", None) is getattr(CeleryReceiver, method) for r in signal._live_receivers(None))


def test_django_structlog_connects_the_publish_side_once_from_its_app_config(settings):
    assert settings.DJANGO_STRUCTLOG_CELERY_ENABLED
    assert structlog_receivers(signals.after_task_publish, "receiver_after_task_publish") == 1


def test_the_documented_boot_step_would_log_every_publish_from_a_worker_twice(restored_signals):
    # Kept, as the worker's blueprint keeps it: the step connects weakly.
    step = DjangoStructLogInitStep(parent=None)
    assert structlog_receivers(signals.before_task_publish, "receiver_before_task_publish") == 2
    assert structlog_receivers(signals.after_task_publish, "receiver_after_task_publish") == 2
    del step


def test_our_worker_wiring_adds_the_task_side_only_after_our_own_end_receiver(restored_signals, monkeypatch):
    monkeypatch.setattr(workers, "heartbeat_start", lambda *a, **k: False)
    monkeypatch.setattr(metrics, "clean_dead_processes", lambda: None)
    celery_hooks._worker_init()

    assert structlog_receivers(signals.after_task_publish, "receiver_after_task_publish") == 1
    assert structlog_receivers(signals.task_prerun, "receiver_task_prerun") == 1
    for signal, method in (
        (signals.task_success, "receiver_task_success"),
        (signals.task_failure, "receiver_task_failure"),
    ):
        order = [getattr(r, "__func__", r) for r in signal._live_receivers(None)]
        assert order.index(celery_hooks._task_ended) < order.index(getattr(CeleryReceiver, method))
