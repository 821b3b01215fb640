"""The plan matrix of the agent control-plane seed (shared/seeds/004).

| Plan       | Agents                               | Max concurrent per agent |
| Free       | Copywriter, SEO specialist           | 1 each                   |
| Pro        | Copywriter, SEO, Social, Analyst     | 2 each                   |
| Agency     | All 7 standard agents                | 4 each                   |
| Enterprise | All 7 + custom agents                | configurable (default 8) |

Reachly's own agents (outreach, webhook delivery, notification) come with
every plan, at the plan's concurrency. Monthly step limits and LLM budgets
are Reachly's defaults; operators edit them in the admin. Installed by a data
migration; `install()` is idempotent.
"""

from __future__ import annotations

STANDARD = [
    "activity_planner",
    "copywriter",
    "seo_specialist",
    "social_media_manager",
    "paid_ads_manager",
    "data_analyst",
    "content_researcher",
]
PLATFORM = ["outreach", "webhook_delivery", "notification"]

PLANS = [
    # code, name, monthly steps, LLM budget USD, tokens/min, agents, max concurrent
    ("free", "Free", 1_000, 5, 20_000, ["copywriter", "seo_specialist"], 1),
    ("pro", "Pro", 20_000, 100, 100_000, ["copywriter", "seo_specialist", "social_media_manager", "data_analyst"], 2),
    ("agency", "Agency", 200_000, 1_000, 100_000, STANDARD, 4),
    ("enterprise", "Enterprise", None, None, 500_000, STANDARD, 8),
]


def install(plan_model=None, plan_agent_model=None) -> None:
    """Create or update the embedded plans (PLANS) and their agents.

    `plan_model`/`plan_agent_model`: the migration's historical models;
    None means the current ones. Idempotent; returns nothing."""
    if plan_model is None:
        # Lazy: migrations import this module, and a migration must not load
        # the current models at import (they may not match its schema).
        from reachly.tenants.models import Plan as plan_model
        from reachly.tenants.models import PlanAgent as plan_agent_model
    for order, (code, name, steps, budget, tpm, agents, concurrent) in enumerate(PLANS):
        plan, _ = plan_model.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "monthly_step_limit": steps,
                "llm_monthly_budget": budget,
                "llm_tokens_per_minute": tpm,
                "sort_order": order,
            },
        )
        for role in agents + PLATFORM:
            plan_agent_model.objects.update_or_create(plan=plan, role=role, defaults={"max_concurrent": concurrent})
