"""Monthly usage counters per tenant and agent (steps, actions, LLM spend).

One upsert per change; the dispatcher reads them for monthly limits and the
API's /usage/ reports them.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.utils import timezone

from reachly.core import sql


def month_start(today: date | None = None) -> date:
    today = today or timezone.now().date()
    return today.replace(day=1)


def add(
    tenant_id: int,
    agent: str,
    *,
    steps: int = 0,
    actions: int = 0,
    llm_tokens: int = 0,
    llm_cost: Decimal | float = 0,
) -> None:
    sql.execute(
        """
        INSERT INTO orchestration_usagecounter (tenant_id, agent, month, steps, actions, llm_tokens, llm_cost)
        VALUES (%(tenant)s, %(agent)s, %(month)s, %(steps)s, %(actions)s, %(tokens)s, %(cost)s)
        ON CONFLICT (tenant_id, agent, month) DO UPDATE SET
            steps = orchestration_usagecounter.steps + EXCLUDED.steps,
            actions = orchestration_usagecounter.actions + EXCLUDED.actions,
            llm_tokens = orchestration_usagecounter.llm_tokens + EXCLUDED.llm_tokens,
            llm_cost = orchestration_usagecounter.llm_cost + EXCLUDED.llm_cost
        """,
        {
            "tenant": tenant_id,
            "agent": agent,
            "month": month_start(),
            "steps": steps,
            "actions": actions,
            "tokens": llm_tokens,
            "cost": Decimal(str(llm_cost)),
        },
    )


def add_steps_bulk(counts: dict[tuple[int, str], int]) -> None:
    for (tenant_id, agent), n in counts.items():
        add(tenant_id, agent, steps=n)


def steps_this_month(tenant_ids: list[int]) -> dict[tuple[int, str], int]:
    rows = sql.fetchall(
        "SELECT tenant_id, agent, steps FROM orchestration_usagecounter WHERE month = %s AND tenant_id = ANY(%s)",
        [month_start(), tenant_ids],
    )
    return {(r["tenant_id"], r["agent"]): r["steps"] for r in rows}
