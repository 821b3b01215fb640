"""The idempotency ledger: an external effect happens once per key.

Workers crash and messages are redelivered, so a step may run more than once.
Before an effect (an invitation sent, a message posted, a webhook delivered,
an LLM call billed) the step records its key; after it, the result:

1. key done            → skip the effect, return the recorded result;
2. key started, not done (an earlier run died mid-effect: in doubt)
                       → ask the target with `verify()`: if the effect is
                         there, record it as done and skip; else do it again;
3. key unknown         → record "started" (only while our lease is valid:
                         the INSERT is conditional on our fencing token),
                         do the effect, record "done" with its result.

Without a `verify`, an in-doubt effect is repeated: use that only for
effects the target deduplicates itself (webhooks carry an Idempotency-Key).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from agents.base import LeaseLost
from reachly.core import sql

T = TypeVar("T")


def once(
    *,
    key: str,
    tenant_id: int,
    job_id: int,
    step_id: int,
    fencing_token: int,
    fn: Callable[[], T],
    verify: Callable[[], T | None] | None = None,
) -> T:
    row = sql.fetchone("SELECT state, result FROM orchestration_effect WHERE key = %s", [key])
    if row and row["state"] == "done":
        recorded: T = row["result"]  # the JSON of what `fn` returned in an earlier run
        return recorded
    if row and verify is not None:
        found = verify()
        if found is not None:
            _done(key, found)
            return found

    claimed = sql.fetchone(
        """
        INSERT INTO orchestration_effect (key, tenant_id, job_id, step_id, state, fencing_token, created_at)
        SELECT %(key)s, %(tenant)s, %(job)s, %(step)s, 'started', %(token)s, now()
         WHERE EXISTS (SELECT 1 FROM orchestration_step
                        WHERE id = %(step)s AND fencing_token = %(token)s AND status = 'running')
        ON CONFLICT (key) DO UPDATE SET fencing_token = EXCLUDED.fencing_token
         WHERE orchestration_effect.state = 'started'
        RETURNING state
        """,
        {"key": key, "tenant": tenant_id, "job": job_id, "step": step_id, "token": fencing_token},
    )
    if claimed is None:
        # Either our lease is gone, or the effect got done meanwhile.
        row = sql.fetchone("SELECT state, result FROM orchestration_effect WHERE key = %s", [key])
        if row and row["state"] == "done":
            recorded = row["result"]
            return recorded
        raise LeaseLost(f"lease lost before effect {key}")
    result = fn()
    _done(key, result)
    return result


def _done(key: str, result: Any) -> None:
    sql.execute(
        "UPDATE orchestration_effect SET state = 'done', result = %s::jsonb, done_at = now() WHERE key = %s",
        [json.dumps(result), key],
    )


def done_keys(prefix: str) -> set[str]:
    """Keys of done effects starting with `prefix` (for agents that batch)."""
    rows = sql.fetchall(
        "SELECT key FROM orchestration_effect WHERE key LIKE %s AND state = 'done'",
        [prefix.replace("%", r"\%").replace("_", r"\_") + "%"],
    )
    return {r["key"] for r in rows}
