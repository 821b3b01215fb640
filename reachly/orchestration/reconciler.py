"""The reconciler: the database says what is due, the broker only carries it.

A step admitted (enqueued) whose message nobody picked up within
REACHLY_REPUBLISH_AFTER_SECONDS may have lost its message: Redis was
flushed or restarted without persistence, or the dispatcher died between
commit and publish. Or its message is simply waiting behind busy workers.

So a role's stale steps are republished only when its queue is empty (or
gone) and no live worker has received their message (a worker's prefetch
holds messages out of the queue): then what the database says is enqueued
was lost. While messages wait, republishing would only add
duplicates, which never run twice (the claim is fenced) but inflate the
queue length that KEDA scales on (with one slot and 6 long steps, the queue
grew to 13 messages for 1 waiting step). When the broker cannot be read,
nothing is republished this pass.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.conf import settings

from reachly.core import sql
from reachly.orchestration import broker, publish, received, transitions

BATCH = 500


def reconcile() -> int:
    """Republish the stale steps that are truly lost; the count.

    Lost: `enqueued` for longer than REACHLY_REPUBLISH_AFTER_SECONDS, its
    role's queue is empty, and no live worker has received its message
    (reachly.orchestration.received).
    """
    stale = sql.fetchall(
        """
        SELECT id, agent FROM orchestration_step
         WHERE status = 'enqueued' AND enqueued_at < now() - make_interval(secs => %s)
         ORDER BY enqueued_at LIMIT %s
        """,
        [settings.REACHLY_REPUBLISH_AFTER_SECONDS, BATCH],
    )
    if not stale:
        return 0
    roles = sorted({r["agent"] for r in stale})
    depths = broker.queue_depths([f"agent.{role}" for role in roles])
    empty = {role for role in roles if depths.get(f"agent.{role}") == 0}
    candidates = [r["id"] for r in stale if r["agent"] in empty]
    lost = sorted(set(candidates) - received.held(candidates))
    if not lost:
        return 0
    rows = transitions.republish(lost)
    by_role: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_role[row["agent"]].append(row)
    for role, items in by_role.items():
        publish.steps(role, items)
    return len(rows)
