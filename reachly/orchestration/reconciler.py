"""The reconciler: the database says what is due, the broker only carries it.

A step admitted (enqueued) whose message nobody picked up within
REACHLY_REPUBLISH_AFTER_SECONDS lost its message: Redis was flushed or
restarted without persistence, or the dispatcher died between commit and
publish. Publish it again. A duplicate is harmless: the claim is a
conditional update, so the second message claims nothing.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.conf import settings

from reachly.core import sql
from reachly.orchestration import publish

BATCH = 500


def reconcile() -> int:
    rows = sql.fetchall(
        """
        WITH stale AS (
            SELECT id FROM orchestration_step
             WHERE status = 'enqueued' AND enqueued_at < now() - make_interval(secs => %s)
             ORDER BY enqueued_at LIMIT %s FOR UPDATE SKIP LOCKED)
        UPDATE orchestration_step s SET enqueued_at = now()
          FROM stale WHERE s.id = stale.id
        RETURNING s.id, s.job_id, s.tenant_id, s.agent, s.sender_account_id,
                  (SELECT a.timezone FROM campaigns_senderaccount a WHERE a.id = s.sender_account_id) AS tz
        """,
        [settings.REACHLY_REPUBLISH_AFTER_SECONDS, BATCH],
    )
    by_role: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_role[row["agent"]].append(row)
    for role, items in by_role.items():
        publish.steps(role, items)
    return len(rows)
