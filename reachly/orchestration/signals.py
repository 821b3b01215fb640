"""Fast signals between the control plane and workers, through Redis.

Redis carries only hints here: the database stays the truth. A lost signal
(Redis flushed or restarted) delays things by at most one heartbeat or one
beat tick, never loses them:

* stop flags: pause/cancel of a job or a sender account, read by running
  steps at every safe point (the heartbeat also reads the job's status from
  PostgreSQL, so a flushed Redis still stops the step);
* dispatch triggers: "agent.<role> may have work", debounced so a burst of
  completions costs one dispatcher pass, not one per step.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import redis
from celery import current_app
from django.db import transaction

from reachly.core import redis as rds

log = logging.getLogger(__name__)

STOP_TTL_SECONDS = 7 * 86400


def _stop_key(kind: str, ident: int) -> str:
    return rds.key("stop", kind, ident)


def stop_set(kind: str, ident: int, reason: str) -> None:
    """Ask running steps of a job (kind="job") or account (kind="account") to stop."""
    try:
        rds.client().set(_stop_key(kind, ident), reason, ex=STOP_TTL_SECONDS)
    except redis.RedisError:
        log.warning("could not set stop flag %s:%s (heartbeat will catch it)", kind, ident)


def stop_clear(kind: str, ident: int) -> None:
    try:
        rds.client().delete(_stop_key(kind, ident))
    except redis.RedisError:
        log.warning("could not clear stop flag %s:%s", kind, ident)


def stop_reason(job_id: int, account_id: int | None) -> str | None:
    """ "pause", "cancel" or None, for a running step's safe point."""
    keys = [_stop_key("job", job_id)]
    if account_id:
        keys.append(_stop_key("account", account_id))
    for value in rds.client().mget(keys):
        if value:
            reason: str = value.decode()
            return reason
    return None


def trigger_dispatch(roles: Iterable[str], *, on_commit: bool = True) -> None:
    """Ask the dispatcher to look at these agents' queues (after commit)."""
    roles = sorted(set(roles))
    if not roles:
        return
    if on_commit:
        transaction.on_commit(lambda: _trigger(roles))
    else:
        _trigger(roles)


def _trigger(roles: list[str]) -> None:
    """Mark the roles dirty; publish a dispatch task only for roles whose
    dispatcher is not already looping (see dispatcher.dispatch_while_dirty).

    A burst of completions thus costs one Redis round trip each and one
    dispatcher task in all, whose passes each admit a batch.
    """
    # The Celery app is the composition root's (reachly.celery, above this
    # layer); current_app is it in every process (reachly/__init__.py).
    app = current_app

    try:
        client = rds.client()
        pipe = client.pipeline(transaction=False)
        for role in roles:
            pipe.set(_dirty(role), 1, ex=60)
            pipe.set(_active(role), 1, nx=True, ex=60)
        results = pipe.execute()
        for role, took in zip(roles, results[1::2], strict=True):
            if took:
                app.send_task("reachly.dispatch", args=[role], queue="control")
    except Exception:  # the beat tick dispatches anyway
        log.warning("dispatch trigger failed for %s; the next tick will dispatch", roles, exc_info=True)


def _dirty(role: str) -> str:
    return rds.key("dispatch", "dirty", role)


def _active(role: str) -> str:
    return rds.key("dispatch", "active", role)


def take_dirty(role: str) -> bool:
    """Clear the role's dirty mark; True if it was set."""
    return bool(rds.client().delete(_dirty(role)))


def release_active(role: str) -> bool:
    """Stop looping for `role`, unless a trigger came meanwhile: then take
    the loop back (True) so that trigger's work is not left waiting."""
    client = rds.client()
    client.delete(_active(role))
    return bool(client.exists(_dirty(role))) and bool(client.set(_active(role), 1, nx=True, ex=60))


def hand_over(role: str) -> None:
    """End this dispatcher loop and start a fresh one (still dirty)."""
    rds.client().delete(_active(role))
    _trigger([role])
