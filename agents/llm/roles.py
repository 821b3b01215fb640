"""The six LLM roles (agents.registry points here).

Each role reads its step's input (plain data), renders its prompt template,
asks the provider chain through `LLM` (budgets, fallback, paid once) and
returns a JSON-serialisable output. Structured answers are validated
against a JSON schema; invalid ones are re-prompted, then rejected.
"""

from __future__ import annotations

import re
from typing import Any

from agents.base import InvalidGraph, PermanentError
from agents.llm import plan
from agents.llm.client import LLM
from agents.ports import StepContext

NOTE_LIMIT = 300  # the network's connection-note limit
MESSAGE_LIMIT = 2000

_STR = {"type": "string", "minLength": 1}
_STRINGS = {"type": "array", "items": _STR}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "required": required or list(properties), "properties": properties}


OUTREACH_SCHEMA = _object({"note": _STR, "message": _STR})
POSTS_SCHEMA = _object({"posts": {**_STRINGS, "minItems": 1}})
SUMMARY_SCHEMA = _object({"headline": _STR, "summary": _STR, "highlights": _STRINGS, "recommendations": _STRINGS})
SEO_SCHEMA = _object(
    {
        "keywords": {
            "type": "array",
            "minItems": 1,
            "items": _object({"keyword": _STR, "intent": _STR}, ["keyword"]),
        },
        "recommendations": {**_STRINGS, "minItems": 1},
    }
)
SOCIAL_SCHEMA = _object(
    {
        "posts": {
            "type": "array",
            "minItems": 1,
            "items": _object({"channel": _STR, "day": {"type": "integer"}, "text": _STR}, ["channel", "text"]),
        }
    }
)
ADS_SCHEMA = _object(
    {
        "ads": {
            "type": "array",
            "minItems": 1,
            "items": _object({"channel": _STR, "headline": _STR, "description": _STR}),
        },
        "budget": _object({"daily": {"type": "number"}, "split": {"type": "object"}}),
    }
)


def fit(text: str, limit: int) -> str:
    """`text` in at most `limit` characters: whitespace collapsed, cut at
    the last sentence end, else the last word (with an ellipsis)."""
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= limit:
        return text
    head = text[:limit]
    end = max(head.rfind(". "), head.rfind("! "), head.rfind("? "))
    if end >= limit // 2:
        return head[: end + 1]
    cut = head[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:-")
    return cut + "…"


def topic_of(inp: dict[str, Any]) -> str:
    """What the campaign is about: its `topic`, else the brief's first sentence."""
    if inp.get("topic"):
        return str(inp["topic"])[:120]
    brief = str(inp.get("brief") or "").strip()
    first = re.split(r"(?<=[.!?])\s", brief, maxsplit=1)[0].rstrip(".!?")
    return first[:120] or "how teams like yours work"


def _lead_for_prompt(lead: dict[str, Any]) -> dict[str, Any]:
    """What the model may see of a lead (no e-mail, no internal status)."""
    keep = ("id", "first_name", "last_name", "full_name", "title", "company", "custom_fields")
    return {k: lead[k] for k in keep if lead.get(k)}


class ActivityPlanner:
    """A campaign brief (+ its leads and sender accounts) → a step graph
    that extends this step's own job."""

    def run(self, ctx: StepContext) -> dict[str, Any]:
        inp = ctx.input
        if "campaign" not in inp or not isinstance(inp.get("leads"), list):
            raise PermanentError("activity_planner needs input {campaign, brief, leads, sender_accounts}")
        leads = [int(x) for x in inp["leads"]]
        accounts = [int(x) for x in inp.get("sender_accounts", [])]
        batch_size = int(inp.get("batch_size") or 5)
        taken = ctx.job.step_keys()
        context = {
            "campaign": inp["campaign"],
            "brief": inp.get("brief", ""),
            "leads": leads,
            "sender_accounts": accounts,
            "batch_size": batch_size,
        }
        variables = {
            **context,
            "lead_count": len(leads),
            "agents": plan.PLANNABLE,
            "taken_keys": taken,
        }
        llm = LLM(ctx)
        data, answer = llm.complete_json(
            "plan",
            "planner.graph",
            context,
            variables=variables,
            schema=plan.schema(key_pattern=ctx.job.step_key_pattern(), priorities=ctx.job.priorities()),
            check=lambda d: plan.check(
                d["steps"], leads=leads, sender_accounts=accounts, graph_errors=ctx.job.graph_errors
            ),
            max_tokens=max(1500, 40 * len(leads) + 200 * len(accounts)),
        )
        steps = data["steps"]
        try:
            keys = ctx.effect("plan:extend", lambda: ctx.job.extend(steps))
        except InvalidGraph as exc:
            raise PermanentError(f"the planned graph was refused: {exc}", details={"errors": exc.errors}) from None
        return {
            "steps_added": len(keys),
            "keys": keys,
            "provider": answer["provider"],
            "model": answer["model"],
        }


class Copywriter:
    """Connection notes and follow-ups per lead (the outreach contract), or posts."""

    def run(self, ctx: StepContext) -> dict[str, Any]:
        inp = ctx.input
        if inp.get("kind") == "posts" or ("leads" not in inp and "topic" in inp):
            return self._posts(ctx)
        if not isinstance(inp.get("leads"), list):
            raise PermanentError("copywriter needs input {campaign, brief, leads: [lead ids]} or {kind: posts, topic}")
        ids = [int(x) for x in inp["leads"]]
        leads = ctx.leads.get(ids)
        topic = topic_of(inp)
        notes: dict[str, str] = dict(ctx.state.get("notes", {}))
        messages: dict[str, str] = dict(ctx.state.get("messages", {}))
        llm = LLM(ctx)
        for lead in leads:
            lead_id = str(lead["id"])
            if lead_id in notes:
                continue  # done before a pause or a retry
            ctx.safe_point()
            data, _answer = llm.complete_json(
                f"copy:{lead_id}",
                "copywriter.outreach",
                {"lead": _lead_for_prompt(lead), "topic": topic},
                variables={"lead": _lead_for_prompt(lead), "topic": topic, "brief": inp.get("brief", "")},
                schema=OUTREACH_SCHEMA,
                max_tokens=400,
            )
            notes[lead_id] = fit(data["note"], NOTE_LIMIT)
            messages[lead_id] = fit(data["message"], MESSAGE_LIMIT)
            ctx.checkpoint({"notes": notes, "messages": messages})
        found = {lead["id"] for lead in leads}
        return {"notes": notes, "messages": messages, "missing": [i for i in ids if i not in found]}

    def _posts(self, ctx: StepContext) -> dict[str, Any]:
        inp = ctx.input
        count = max(1, min(int(inp.get("count") or 3), 20))
        context = {"topic": topic_of(inp), "count": count}
        data, answer = LLM(ctx).complete_json(
            "posts",
            "copywriter.posts",
            context,
            variables={**context, "brief": inp.get("brief", "")},
            schema=POSTS_SCHEMA,
        )
        return {"posts": [fit(p, 3000) for p in data["posts"]], "provider": answer["provider"]}


class DataAnalyst:
    """Summarises a job's results and metrics."""

    def run(self, ctx: StepContext) -> dict[str, Any]:
        metrics = ctx.llm.job_summary()
        data, answer = LLM(ctx).complete_json("summary", "analyst.summary", {"summary": metrics}, schema=SUMMARY_SCHEMA)
        return {
            "headline": data["headline"],
            "summary": data["summary"],
            "highlights": data.get("highlights", []),
            "recommendations": data.get("recommendations", []),
            "metrics": metrics,
            "provider": answer["provider"],
        }


class _Planner:
    """A role that turns {topic, brief, ...} into one structured answer."""

    task = ""
    schema: dict[str, Any] = {}
    defaults: dict[str, Any] = {}

    def run(self, ctx: StepContext) -> dict[str, Any]:
        inp = ctx.input
        values = {k: inp.get(k, default) for k, default in self.defaults.items()}
        context = {"topic": topic_of(inp), **values}
        data, answer = LLM(ctx).complete_json(
            self.task.split(".")[0],
            self.task,
            context,
            variables={**context, "brief": inp.get("brief", "")},
            schema=self.schema,
        )
        return {**data, "provider": answer["provider"], "model": answer["model"]}


class SeoSpecialist(_Planner):
    task = "seo.plan"
    schema = SEO_SCHEMA
    defaults = {"url": ""}


class SocialMediaManager(_Planner):
    task = "social.plan"
    schema = SOCIAL_SCHEMA
    defaults = {"channels": ["linkedin", "x"], "count": 3}


class PaidAdsManager(_Planner):
    task = "ads.plan"
    schema = ADS_SCHEMA
    defaults = {"channels": ["linkedin", "google"], "daily_budget": 50}
