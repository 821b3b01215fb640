"""The `control` queue: dispatcher passes, the reaper and the reconciler.

All of them are idempotent and safe to run concurrently on several control
workers (advisory locks, SKIP LOCKED, conditional updates).
"""

from __future__ import annotations

from celery import shared_task

from reachly.campaigns.accounts import sender_account_end_cool_downs
from reachly.orchestration import dispatcher, reaper, reconciler


@shared_task(name="reachly.dispatch", ignore_result=True)
def dispatch(role: str) -> int:
    return dispatcher.dispatch_while_dirty(role)


@shared_task(name="reachly.dispatch_timer", ignore_result=True)
def dispatch_timer(role: str) -> int:
    """A pass at the moment a waiting step becomes due."""
    return dispatcher.timer_fired(role)


@shared_task(name="reachly.dispatch_all", ignore_result=True)
def dispatch_all() -> int:
    return sum(dispatcher.dispatch(role) for role in dispatcher.roles_with_due_work())


@shared_task(name="reachly.reap", ignore_result=True)
def reap() -> int:
    reaper.fail_stalled_jobs()
    sender_account_end_cool_downs()  # the status people see; lanes reopen on their own
    return reaper.reap()


@shared_task(name="reachly.reconcile", ignore_result=True)
def reconcile() -> int:
    return reconciler.reconcile()
