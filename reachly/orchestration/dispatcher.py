"""The dispatcher: admits ready steps into the `agent.<role>` queues.

Fairness and priority are decided here, in PostgreSQL, not by FIFO in Redis
(shared/DESIGN.md, principle 4). Each broker queue is kept short
(REACHLY_QUEUE_DEPTH admitted-but-unstarted steps), so what runs next is
always chosen from everything that is ready.

One pass for one agent role:

1. Take the role's advisory lock: passes for a role are serialised across
   every dispatcher process (blocking, so a wake-up is never lost; a pass
   takes milliseconds).
2. room = queue depth - steps already admitted and not yet started.
3. Candidates: a loose index scan finds every (tenant, lane) with ready
   steps — a lane is a sender account, or 0 for steps without one; lanes of
   accounts that are busy, cooling down or paused (orchestration_lane, or
   no lane row at all) are skipped. From each
   lane, the oldest due steps of each priority level (one per account lane:
   an account runs one step at a time).
4. Order: effective priority (1 urgent, 5 normal, 10 batch; one level better
   per REACHLY_AGING_SECONDS waited), then the candidate's rank within its
   tenant (round-robin), then the tenant served longest ago.
5. Admit in that order while there is room, skipping tenants at their
   max_concurrent for this agent; tenants whose agent is disabled or whose
   monthly limit is spent have their steps deferred in one statement.
6. After commit, publish one message per admitted step. A crash between
   commit and publish leaves steps `enqueued` without a message: the
   reconciler republishes them.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from agents import registry
from reachly.core import redis as rds
from reachly.core import sql
from reachly.observability.workers import live_workers
from reachly.orchestration import publish, signals, transitions, usage
from reachly.tenants.selectors import Allocation, allocations

log = logging.getLogger(__name__)

LOCK_NAMESPACE = 0x52454143  # "REAC": our advisory locks' first key
WAIT_DISABLED = "not admitted: agent not enabled for this tenant"
WAIT_SUSPENDED = "not admitted: tenant suspended"
WAIT_MONTHLY = "not admitted: monthly limit reached"
RECHECK = timedelta(minutes=5)


@dataclass
class Candidate:
    id: int
    job_id: int
    tenant_id: int
    lane: int
    sender_account_id: int | None
    priority: int
    next_attempt_at: datetime
    counted: bool
    tz: str | None
    now: datetime

    @property
    def effective_priority(self) -> int:
        waited = (self.now - self.next_attempt_at).total_seconds()
        return max(1, self.priority - int(waited // settings.REACHLY_AGING_SECONDS))


_CANDIDATES_SQL = """
WITH RECURSIVE lanes AS (
    (SELECT tenant_id, lane FROM orchestration_step
      WHERE agent = %(role)s AND status = 'ready'
      ORDER BY tenant_id, lane LIMIT 1)
    UNION ALL
    SELECT nxt.tenant_id, nxt.lane FROM lanes l CROSS JOIN LATERAL (
        SELECT tenant_id, lane FROM orchestration_step
         WHERE agent = %(role)s AND status = 'ready' AND (tenant_id, lane) > (l.tenant_id, l.lane)
         ORDER BY tenant_id, lane LIMIT 1) nxt
), open_lanes AS (
    SELECT l.tenant_id, l.lane, a.timezone
      FROM lanes l LEFT JOIN orchestration_lane a ON a.account_id = l.lane
     WHERE l.lane = 0 OR (
           a.admitting AND (a.resume_at IS NULL OR a.resume_at <= statement_timestamp())
           AND NOT EXISTS (SELECT 1 FROM orchestration_step b
                            WHERE b.sender_account_id = l.lane AND b.status IN ('enqueued', 'running')))
)
SELECT c.*, ol.timezone AS tz, statement_timestamp() AS now
  FROM open_lanes ol
 CROSS JOIN unnest(ARRAY[1, 5, 10]) AS p(priority)
 CROSS JOIN LATERAL (
    SELECT s.id, s.job_id, s.tenant_id, s.lane, s.sender_account_id, s.priority, s.next_attempt_at, s.counted
      FROM orchestration_step s JOIN orchestration_job j ON j.id = s.job_id AND j.status = 'running'
     WHERE s.agent = %(role)s AND s.status = 'ready' AND s.tenant_id = ol.tenant_id AND s.lane = ol.lane
       AND s.priority = p.priority AND s.next_attempt_at <= statement_timestamp()
     ORDER BY s.next_attempt_at
     LIMIT CASE WHEN ol.lane = 0 THEN %(k)s ELSE 1 END
 ) c
"""


def dispatch_while_dirty(role: str, budget_seconds: float = 1.0) -> int:
    """Run passes for `role` while triggers keep marking it dirty.

    Triggers (a step finished, a job started) mark the role dirty and start
    at most one of these loops per role; each pass then admits whatever
    freed up since the last one, in a batch. After `budget_seconds` the loop
    hands over to a fresh task so other roles get the control worker too.
    """
    admitted = 0
    deadline = time.monotonic() + budget_seconds
    while True:
        while signals.take_dirty(role):
            started = time.monotonic()
            admitted += dispatch(role)
            # Pace passes: a pass costs about as much for one step as for
            # ten, so under load let a few completions gather first.
            time.sleep(max(0.0, settings.REACHLY_DISPATCH_INTERVAL - (time.monotonic() - started)))
            if time.monotonic() > deadline:
                signals.hand_over(role)
                return admitted
        if not signals.release_active(role):
            return admitted


def dispatch(role: str) -> int:
    """One dispatcher pass for `role`; returns how many steps it admitted."""
    admitted: list[dict[str, Any]] = []
    next_due: float | None = None
    with transaction.atomic():
        sql.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [LOCK_NAMESPACE, role])
        room = settings.REACHLY_QUEUE_DEPTH - _enqueued(role)
        # Refill in batches: wait until a good part of the queue drained
        # (each completion triggers a pass, so the queue never runs dry).
        # An idle queue always has room, so a lone step is admitted at once.
        if room >= _min_batch():
            candidates = [Candidate(**row) for row in sql.fetchall(_CANDIDATES_SQL, {"role": role, "k": room})]
            if candidates:
                admitted = _admit(role, _choose(role, candidates, room))
            if len(admitted) < room:
                next_due = _seconds_to_next_due(role)
    if admitted:
        publish.steps(role, admitted, per_message=_per_message(role, len(admitted)))
        _mark_served(role, {row["tenant_id"] for row in admitted})
    if next_due is not None:
        _schedule_wakeup(role, next_due)
    return len(admitted)


def _per_message(role: str, admitted: int) -> int:
    """Steps per message: batch short steps, but never so many that a
    worker slot consuming the queue would get none."""
    if not registry.get(role).batchable or admitted < 2:
        return 1
    slots = _consumer_slots(role)
    batch: int = settings.REACHLY_MESSAGE_BATCH
    return max(1, min(batch, -(-admitted // max(1, slots))))


_slots_cache: dict[str, tuple[float, int]] = {}


def _consumer_slots(role: str) -> int:
    """Worker slots consuming agent.<role>, from worker presence (cached 5 s)."""
    now = time.monotonic()
    cached = _slots_cache.get(role)
    if cached is None or now - cached[0] > 5:
        queue = f"agent.{role}"
        slots = sum(w.get("concurrency", 1) for w in live_workers() if queue in w.get("queues", []))
        _slots_cache[role] = cached = (now, slots or settings.REACHLY_QUEUE_DEPTH)
    return cached[1]


def _min_batch() -> int:
    depth: int = settings.REACHLY_QUEUE_DEPTH
    return max(1, depth // 2)


def roles_with_due_work() -> list[str]:
    rows = sql.fetchall(
        """
        SELECT r.agent FROM unnest(%s::text[]) AS r(agent)
         WHERE EXISTS (SELECT 1 FROM orchestration_step s
                        WHERE s.agent = r.agent AND s.status = 'ready' AND s.next_attempt_at <= statement_timestamp())
        """,
        [registry.roles()],
    )
    return [r["agent"] for r in rows]


def _enqueued(role: str) -> int:
    row = sql.fetchone("SELECT count(*) AS n FROM orchestration_step WHERE agent = %s AND status = 'enqueued'", [role])
    assert row is not None  # count(*) returns one row
    n: int = row["n"]
    return n


def _active_per_tenant(role: str, tenant_ids: list[int]) -> dict[int, int]:
    rows = sql.fetchall(
        """
        SELECT tenant_id, count(*) AS n FROM orchestration_step
         WHERE agent = %s AND status IN ('enqueued', 'running') AND tenant_id = ANY(%s)
         GROUP BY tenant_id
        """,
        [role, tenant_ids],
    )
    return {r["tenant_id"]: r["n"] for r in rows}


def _choose(role: str, candidates: list[Candidate], room: int) -> list[Candidate]:
    tenant_ids = sorted({c.tenant_id for c in candidates})
    allocs = _allocations(tenant_ids, role)
    active = _active_per_tenant(role, tenant_ids)
    used = usage.steps_this_month(tenant_ids)
    used_agent = {t: used.get((t, role), 0) for t in tenant_ids}
    used_total: defaultdict[int, int] = defaultdict(int)
    for (tenant, _agent), n in used.items():
        used_total[tenant] += n
    served = _served(role)

    # Round-robin: rank each candidate within its tenant.
    by_tenant: dict[int, list[Candidate]] = defaultdict(list)
    for c in candidates:
        by_tenant[c.tenant_id].append(c)
    rank: dict[int, int] = {}
    for group in by_tenant.values():
        group.sort(key=lambda c: (c.effective_priority, c.next_attempt_at))
        for i, c in enumerate(group):
            rank[c.id] = i
    ordered = sorted(
        candidates,
        key=lambda c: (c.effective_priority, rank[c.id], served.get(c.tenant_id, 0), c.tenant_id),
    )

    chosen: list[Candidate] = []
    lanes_taken: set[int] = set()
    deferred: set[int] = set()
    for c in ordered:
        if len(chosen) >= room:
            break
        if c.tenant_id in deferred:
            continue
        alloc = allocs.get((c.tenant_id, role))
        reason, until = _not_admissible(alloc, used_agent[c.tenant_id], used_total[c.tenant_id], c)
        if reason:
            _defer_tenant(role, c.tenant_id, reason, until)
            deferred.add(c.tenant_id)
            continue
        assert alloc is not None  # _not_admissible gave a reason for a missing one
        if active.get(c.tenant_id, 0) >= alloc.max_concurrent:
            continue  # a completion of this tenant's step triggers the next pass
        if c.lane and c.lane in lanes_taken:
            continue
        chosen.append(c)
        active[c.tenant_id] = active.get(c.tenant_id, 0) + 1
        if c.lane:
            lanes_taken.add(c.lane)
        if not c.counted:
            used_agent[c.tenant_id] += 1
            used_total[c.tenant_id] += 1
    return chosen


_alloc_cache: dict[tuple[int, str], tuple[float, Allocation]] = {}


def _allocations(tenant_ids: list[int], role: str) -> dict[tuple[int, str], Allocation]:
    """Allocations, cached per process for REACHLY_LIMIT_RULES_TTL seconds:
    read on every pass, changed by an operator now and then (~30% of a
    pass's cost when read each time)."""
    now = time.monotonic()
    ttl = settings.REACHLY_LIMIT_RULES_TTL
    missing = [t for t in tenant_ids if now - _alloc_cache.get((t, role), (-1e9, None))[0] > ttl]
    if missing:
        for key, alloc in allocations(missing, [role]).items():
            _alloc_cache[key] = (now, alloc)
    return {(t, role): _alloc_cache[(t, role)][1] for t in tenant_ids if (t, role) in _alloc_cache}


def _not_admissible(
    alloc: Allocation | None, used_agent: int, used_total: int, c: Candidate
) -> tuple[str, datetime | None]:
    if alloc is None or not alloc.tenant_active:
        return WAIT_SUSPENDED, c.now + RECHECK
    if not alloc.enabled:
        return WAIT_DISABLED, c.now + RECHECK
    if c.counted:
        return "", None  # a retry of a step already counted this month
    next_month = _next_month(c.now)
    if alloc.monthly_limit is not None and used_agent >= alloc.monthly_limit:
        return WAIT_MONTHLY, next_month
    if alloc.plan_monthly_step_limit is not None and used_total >= alloc.plan_monthly_step_limit:
        return WAIT_MONTHLY, next_month
    return "", None


def _next_month(now: datetime) -> datetime:
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first + timedelta(days=32)).replace(day=1)


def _defer_tenant(role: str, tenant_id: int, reason: str, until: datetime | None) -> None:
    """Park all of a tenant's due steps for this agent (one statement)."""
    transitions.park(role, tenant_id, until, reason)


def _admit(role: str, chosen: list[Candidate]) -> list[dict[str, Any]]:
    if not chosen:
        return []
    tz = {c.id: c.tz for c in chosen}
    try:
        with transaction.atomic():
            rows = _admit_ids([c.id for c in chosen])
    except IntegrityError:
        # Another role's dispatcher admitted a step on one of these accounts
        # in the same instant (the unique index said no): admit one by one.
        rows = []
        for c in chosen:
            try:
                with transaction.atomic():
                    rows += _admit_ids([c.id])
            except IntegrityError:
                continue
    newly_counted: dict[tuple[int, str], int] = defaultdict(int)
    counted_before = {c.id for c in chosen if c.counted}
    for row in rows:
        row["tz"] = tz.get(row["id"])
        if row["id"] not in counted_before:
            newly_counted[(row["tenant_id"], role)] += 1
    usage.add_steps_bulk(newly_counted)
    return rows


def _admit_ids(ids: list[int]) -> list[dict[str, Any]]:
    return transitions.admit(ids)


def _seconds_to_next_due(role: str) -> float | None:
    row = sql.fetchone(
        """
        SELECT EXTRACT(EPOCH FROM (min(next_attempt_at) - statement_timestamp())) AS wait
          FROM orchestration_step WHERE agent = %s AND status = 'ready' AND next_attempt_at > statement_timestamp()
        """,
        [role],
    )
    return float(row["wait"]) if row and row["wait"] is not None else None


def _schedule_wakeup(role: str, seconds: float) -> None:
    """A pass exactly when the next step becomes due, if that is before the
    next beat tick would notice (short countdowns only: principle 3)."""
    if seconds > settings.REACHLY_DISPATCH_TICK * 1.5:
        return
    # The Celery app is the composition root's (reachly.celery, above this
    # layer); current_app is it in every process (reachly/__init__.py).
    app = current_app

    # A few ms late rather than early: a pass that finds the step not yet
    # due would have to schedule another wake-up.
    seconds = max(seconds, 0.0) + 0.003
    due_ms = int((timezone.now().timestamp() + seconds) * 1000)
    key = rds.key("dispatch", "timer", role)
    client = rds.client()
    current = client.get(key)
    if current is not None and int(current) <= due_ms:
        return  # an earlier (or the same) wake-up is already scheduled
    client.set(key, due_ms, px=int(seconds * 1000) + 200)
    app.send_task("reachly.dispatch_timer", args=[role], queue="control", countdown=seconds)


def timer_fired(role: str) -> int:
    """The wake-up scheduled by _schedule_wakeup: forget it, then pass."""
    rds.client().delete(rds.key("dispatch", "timer", role))
    return dispatch(role)


def _served(role: str) -> dict[int, int]:
    raw = rds.client().hgetall(rds.key("dispatch", "served", role))
    return {int(k): int(v) for k, v in raw.items()}


def _mark_served(role: str, tenant_ids: set[int]) -> None:
    now_ms = int(timezone.now().timestamp() * 1000)
    key = rds.key("dispatch", "served", role)
    pipe = rds.client().pipeline(transaction=False)
    pipe.hset(key, mapping={str(t): now_ms for t in tenant_ids})  # redis-py sends an int key as str(int)
    pipe.expire(key, 86400)
    pipe.execute()


def release_deferred(tenant_id: int) -> int:
    """Make a tenant's parked steps due now (its plan or allocation changed)."""
    n = transitions.unpark(tenant_id)
    signals.trigger_dispatch(registry.roles())
    return n


def on_limits_changed(sender: object, tenant_id: int, **_kwargs: object) -> None:
    """Receiver of tenants.signals.limits_changed (connected in
    OrchestrationConfig.ready): the tenant's parked steps may run now."""
    release_deferred(tenant_id)
