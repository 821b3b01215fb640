"""The offline default provider: deterministic, no key, no network.

It does not read the prompt: it builds the answer from the same data the
prompt was rendered from (`request.context`) and the response templates in
prompts/local/, picking among phrasings by a stable hash of the lead, so a
demo reads naturally and a re-run gives the same text. Token counts are
estimated deterministically (agents/llm/tokens.py), the cost is zero.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from functools import cache
from pathlib import Path
from string import Template
from typing import Any

from agents.llm import tokens
from agents.llm.plan import default_graph
from agents.llm.providers.base import Completion, Provider, ProviderError, Request

TEMPLATES = Path(__file__).resolve().parent.parent / "prompts" / "local"


@cache
def _variants(name: str) -> list[Template]:
    text = (TEMPLATES / f"{name}.txt").read_text()
    return [Template(part.strip()) for part in text.split("\n---\n") if part.strip()]


def pick(name: str, seed: str, **values: Any) -> str:
    variants = _variants(name)
    template = variants[zlib.crc32(seed.encode()) % len(variants)]
    return template.safe_substitute({k: str(v) for k, v in values.items()})


def _lead_values(lead: dict[str, Any], topic: str) -> dict[str, str]:
    name = lead.get("first_name") or (lead.get("full_name") or "").split(" ")[0] or "there"
    return {
        "first_name": name,
        "company": lead.get("company") or "your company",
        "title": lead.get("title") or "a leader",
        "topic": topic,
    }


def _outreach(ctx: dict[str, Any]) -> dict[str, Any]:
    lead = ctx.get("lead") or {}
    values = _lead_values(lead, ctx.get("topic") or "how teams like yours work")
    seed = str(lead.get("id", values["first_name"]))
    return {"note": pick("note", seed, **values), "message": pick("follow_up", seed, **values)}


def _posts(ctx: dict[str, Any]) -> dict[str, Any]:
    topic = ctx.get("topic") or "our work"
    count = int(ctx.get("count") or 3)
    return {"posts": [pick("post", f"{topic}:{i}", topic=topic, n=3 + i) for i in range(count)]}


def _plan(ctx: dict[str, Any]) -> dict[str, Any]:
    return {
        "steps": default_graph(
            campaign=ctx["campaign"],
            brief=ctx.get("brief", ""),
            leads=list(ctx.get("leads", [])),
            sender_accounts=list(ctx.get("sender_accounts", [])),
            batch_size=int(ctx.get("batch_size") or 5),
        )
    }


def _summary(ctx: dict[str, Any]) -> dict[str, Any]:
    s = ctx.get("summary") or {}
    job, leads, llm = s.get("job", {}), s.get("leads") or {}, s.get("llm", {})
    by_status = leads.get("by_status", {})
    lead_line = (
        f"Of {leads.get('total', 0)} leads: "
        + ", ".join(f"{n} {status}" for status, n in sorted(by_status.items()))
        + "."
        if leads.get("total")
        else "No leads were worked."
    )
    text = pick(
        "summary",
        str(job.get("id", "")),
        job_name=job.get("name") or f"#{job.get('id', '?')}",
        status=job.get("status", "running"),
        succeeded=job.get("succeeded", 0),
        total=job.get("total", 0),
        failed=job.get("failed", 0),
        lead_line=lead_line,
        tokens=llm.get("tokens", 0),
        cost=llm.get("cost", "0"),
        calls=llm.get("calls", 0),
    )
    highlights = [
        f"{agent}: {', '.join(f'{n} {st}' for st, n in sorted(c.items()))}"
        for agent, c in sorted((s.get("steps") or {}).items())
    ]
    recommendations = []
    if job.get("failed"):
        recommendations.append("Look at the failed steps' errors and retry them once the cause is fixed.")
    if by_status.get("invited") and not by_status.get("connected"):
        recommendations.append("Invitations are pending: schedule the follow-up round in a few days.")
    if not recommendations:
        recommendations.append("Keep the same cadence; add leads to grow the campaign.")
    return {
        "headline": _headline(leads, by_status, job),
        "summary": text,
        "highlights": highlights,
        "recommendations": recommendations,
    }


def _headline(leads: dict[str, Any], by_status: dict[str, int], job: dict[str, Any]) -> str:
    """One line a person reads first: how far the leads got."""
    total = leads.get("total", 0)
    if total:
        best = max(by_status.items(), key=lambda kv: kv[1], default=("new", 0))
        return f"{best[1]} of {total} leads {best[0]}"
    return f"{job.get('succeeded', 0)} of {job.get('total', 0)} steps done"


def _seo(ctx: dict[str, Any]) -> dict[str, Any]:
    topic = ctx.get("topic") or "your product"
    words = [w for w in topic.lower().replace(",", " ").split() if len(w) > 3][:3] or ["software"]
    keywords = [
        {"keyword": topic.lower(), "intent": "commercial"},
        {"keyword": f"best {words[0]} tools", "intent": "commercial"},
        {"keyword": f"how to improve {words[-1]}", "intent": "informational"},
        {"keyword": f"{words[0]} checklist", "intent": "informational"},
    ]
    recommendations = [
        f"Write one pillar page on {topic} and link the how-to articles to it.",
        "Put the main keyword in the title, the first paragraph and one H2.",
        "Answer the top questions in a short FAQ block with FAQ structured data.",
    ]
    return {"keywords": keywords, "recommendations": recommendations}


def _social(ctx: dict[str, Any]) -> dict[str, Any]:
    topic = ctx.get("topic") or "our work"
    channels = list(ctx.get("channels") or ["linkedin", "x"])
    count = int(ctx.get("count") or 3)
    posts = [
        {
            "channel": channels[i % len(channels)],
            "day": i + 1,
            "text": pick("post", f"{topic}:{i}", topic=topic, n=3 + i),
        }
        for i in range(count)
    ]
    return {"posts": posts}


def _ads(ctx: dict[str, Any]) -> dict[str, Any]:
    topic = ctx.get("topic") or "our product"
    channels = list(ctx.get("channels") or ["linkedin", "google"])
    daily = float(ctx.get("daily_budget") or 50)
    ads = [
        {
            "channel": ch,
            "headline": f"{topic.capitalize()}, without the busywork"[:60],
            "description": f"See how teams use {topic} to save hours every week. Start free."[:150],
        }
        for ch in channels
    ]
    share = round(1 / len(channels), 2)
    return {"ads": ads, "budget": {"daily": daily, "split": {ch: share for ch in channels}}}


GENERATORS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "planner.graph": _plan,
    "copywriter.outreach": _outreach,
    "copywriter.posts": _posts,
    "analyst.summary": _summary,
    "seo.plan": _seo,
    "social.plan": _social,
    "ads.plan": _ads,
}


class LocalProvider(Provider):
    type = "local"

    def complete(self, request: Request, model: str) -> Completion:
        generate = GENERATORS.get(request.task)
        if generate is None:
            raise ProviderError(f"the local provider has no generator for task {request.task!r}")
        text = json.dumps(generate(request.context), ensure_ascii=False)
        return Completion(
            text=text,
            prompt_tokens=tokens.estimate_messages(request.system, request.messages),
            completion_tokens=tokens.estimate(text),
            model=model or self.default_model or "local-template",
        )
