"""Small helpers for the few hot paths written in SQL rather than the ORM.

The control plane's per-step statements (claim, finish, admit) run thousands
of times a second; they are single statements with RETURNING, which the ORM
cannot express. Everything else uses the ORM.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.db import connection

# Django loads json/jsonb columns as text (its fields decode them); raw
# queries decode them here.
_JSON_OIDS = {114, 3802}


def fetchall(sql: str, params: Any = None) -> list[dict[str, Any]]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        if cur.description is None:
            return []
        cols = [c.name for c in cur.description]
        json_cols = [i for i, c in enumerate(cur.description) if c.type_code in _JSON_OIDS]
        rows = cur.fetchall()
        if json_cols:
            rows = [list(row) for row in rows]
            for row in rows:
                for i in json_cols:
                    if isinstance(row[i], str):
                        row[i] = json.loads(row[i])
        return [dict(zip(cols, row, strict=True)) for row in rows]


def fetchone(sql: str, params: Any = None) -> dict[str, Any] | None:
    rows = fetchall(sql, params)
    return rows[0] if rows else None


def execute(sql: str, params: Any = None) -> int:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        count: int = cur.rowcount
        return count


def db_now() -> datetime:
    """The database's clock (statement time): what due times are compared with."""
    row = fetchone("SELECT statement_timestamp() AS now")
    assert row is not None  # the query always returns one row
    now: datetime = row["now"]
    return now
