"""Diagnostic tasks: plain Celery no-ops, the baseline Reachly is measured
against (benchmarks/) and a probe operators can send to any queue."""

from __future__ import annotations

import time

from celery import shared_task

from reachly.core import redis as rds


def _record(counter: str | None, sent_at: float | None, times: str | None) -> None:
    client = rds.client()
    if counter:
        client.incr(counter)
    if sent_at is not None and times:
        client.rpush(times, time.time() - sent_at)
    elif times:
        client.rpush(times, time.time())


@shared_task(name="reachly.noop", ignore_result=True)
def noop(counter: str | None = None, sent_at: float | None = None, times: str | None = None) -> None:
    _record(counter, sent_at, times)


# Celery's own rate limit: per worker process, the baseline of the global limiter.
@shared_task(name="reachly.noop_rate_limited", ignore_result=True, rate_limit="10/s")
def noop_rate_limited(counter: str | None = None, sent_at: float | None = None, times: str | None = None) -> None:
    _record(counter, sent_at, times)
