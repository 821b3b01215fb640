"""A StepContext without a database, for unit tests of the LLM agents."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from agents.base import RateLimited
from agents.llm.providers import Completion, Provider, Request
from reachly.orchestration import graph

BASE_SETTINGS: dict[str, Any] = {
    "tenant_id": 1,
    "role": "copywriter",
    "providers": {"local": {"type": "local", "model": "local-template"}},
    "chain": ["local"],
    "chain_override": "",
    "model_override": "",
    "tokens_per_minute": 100_000,
    "budget": None,
    "spent": "0",
    "budget_recheck_seconds": 300.0,
    "max_tokens": 800,
    "max_reprompts": 2,
    "prices": {},
    "timeouts": {"connect": 2.0, "read": 5.0},
    "inline_retries": 0,
    "inline_retry_max_seconds": 0.5,
}


class FakeLLM:
    """The LLM port of a FakeContext: calls and tokens kept in memory."""

    def __init__(self, ctx: FakeContext):
        self.ctx = ctx
        self.cooling: dict[str, float] = {}  # provider -> time.monotonic() when it may be asked again

    def settings(self) -> dict[str, Any]:
        return dict(self.ctx.settings)

    def tokens_acquire(self, provider: str, tokens: int, tokens_per_minute: int | None):
        if self.ctx.tokens_denied is not None:
            raise self.ctx.tokens_denied
        return lambda: None

    def call_record(self, **call: Any) -> dict[str, Any]:
        self.ctx.calls.append(call)
        return {
            "text": call.get("completion", ""),
            "provider": call["provider"],
            "model": call["model"],
            "prompt_tokens": call.get("prompt_tokens", 0),
            "completion_tokens": call.get("completion_tokens", 0),
            "cost": call.get("cost", "0"),
            "fallback": call.get("fallback", False),
            "call_id": len(self.ctx.calls),
        }

    def call_find(self, effect_key: str):
        return None

    def provider_cool_down(self, provider: str, seconds: float) -> None:
        self.cooling[provider] = max(self.cooling.get(provider, 0.0), time.monotonic() + seconds)

    def provider_cooling(self, provider: str) -> float:
        return max(0.0, self.cooling.get(provider, 0.0) - time.monotonic())

    def job_summary(self) -> dict[str, Any]:
        return {
            "job": {"id": 1, "name": "demo", "status": "running", "total": 3, "succeeded": 2, "failed": 0},
            "steps": {"copywriter": {"succeeded": 1}},
            "llm": {"calls": 2, "tokens": 300, "cost": "0"},
            "leads": {"total": 2, "by_status": {"new": 2}},
        }


class FakeJob:
    """The job port of a FakeContext: the real graph check, extensions kept."""

    def __init__(self, ctx: FakeContext):
        self.ctx = ctx

    def step_keys(self) -> list[str]:
        return list(self.ctx.step_keys)

    def graph_errors(self, steps: list[dict[str, Any]]) -> dict[str, str]:
        return graph.extension_errors(steps, set(self.ctx.step_keys))

    def extend(self, steps: list[dict[str, Any]]) -> list[str]:
        self.ctx.extended.append(steps)
        return [s["key"] for s in steps]

    def step_key_pattern(self) -> str:
        return graph.KEY_RE.pattern

    def priorities(self) -> list[int]:
        return list(graph.PRIORITIES)


class FakeLeads:
    def __init__(self, ctx: FakeContext):
        self.ctx = ctx

    def get(self, ids: list[int]) -> list[dict[str, Any]]:
        return [self.ctx.lead_rows[i] for i in ids if i in self.ctx.lead_rows]

    def update(self, lead_id: int, status: str, detail: str = "") -> None:
        pass


class FakeContext:
    def __init__(self, input: dict[str, Any] | None = None, role: str = "copywriter", **settings: Any):
        self.step_id, self.job_id, self.tenant_id, self.attempt = 1, 1, 1, 0
        self.role = role
        self.input = input or {}
        self.state: dict[str, Any] = {}
        self.sender_account_id = None
        self.settings = {**BASE_SETTINGS, "role": role, **settings}
        self.calls: list[dict[str, Any]] = []
        self.effects: dict[str, Any] = {}
        self.extended: list[list[dict[str, Any]]] = []
        self.tokens_denied: RateLimited | None = None
        self.lead_rows: dict[int, dict[str, Any]] = {}
        self.step_keys = ["plan"]
        self.llm = FakeLLM(self)
        self.job = FakeJob(self)
        self.leads = FakeLeads(self)

    def safe_point(self) -> None:
        pass

    def checkpoint(self, state: dict[str, Any]) -> None:
        self.state = dict(state)

    def effect(self, key: str, fn: Callable[[], Any], *, verify=None) -> Any:
        if key not in self.effects:
            self.effects[key] = fn()
        return self.effects[key]


class ScriptedProvider(Provider):
    """A provider answering from a list of texts (or raising given errors)."""

    type = "scripted"
    answers: list[Any] = []
    seen: list[Request] = []

    def complete(self, request: Request, model: str) -> Completion:
        ScriptedProvider.seen.append(request)
        answer = ScriptedProvider.answers.pop(0) if len(ScriptedProvider.answers) > 1 else ScriptedProvider.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return Completion(text=answer, prompt_tokens=10, completion_tokens=5, model=model or "scripted-1")
