"""A StepContext without a database, for unit tests of the LLM agents."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agents.base import RateLimited
from agents.llm.providers import Completion, Provider, Request

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

    def safe_point(self) -> None:
        pass

    def checkpoint(self, state: dict[str, Any]) -> None:
        self.state = dict(state)

    def effect(self, key: str, fn: Callable[[], Any], *, verify=None) -> Any:
        if key not in self.effects:
            self.effects[key] = fn()
        return self.effects[key]

    def leads(self, ids: list[int]) -> list[dict[str, Any]]:
        return [self.lead_rows[i] for i in ids if i in self.lead_rows]

    def llm_settings(self) -> dict[str, Any]:
        return dict(self.settings)

    def llm_tokens_acquire(self, provider: str, tokens: int, tokens_per_minute: int | None):
        if self.tokens_denied is not None:
            raise self.tokens_denied
        return lambda: None

    def llm_call_record(self, **call: Any) -> dict[str, Any]:
        self.calls.append(call)
        return {
            "text": call.get("completion", ""),
            "provider": call["provider"],
            "model": call["model"],
            "prompt_tokens": call.get("prompt_tokens", 0),
            "completion_tokens": call.get("completion_tokens", 0),
            "cost": call.get("cost", "0"),
            "fallback": call.get("fallback", False),
            "call_id": len(self.calls),
        }

    def llm_call_find(self, effect_key: str):
        return None

    def job_step_keys(self) -> list[str]:
        return list(self.step_keys)

    def job_extend(self, steps: list[dict[str, Any]]) -> list[str]:
        self.extended.append(steps)
        return [s["key"] for s in steps]

    def job_summary(self) -> dict[str, Any]:
        return {
            "job": {"id": 1, "name": "demo", "status": "running", "total": 3, "succeeded": 2, "failed": 0},
            "steps": {"copywriter": {"succeeded": 1}},
            "llm": {"calls": 2, "tokens": 300, "cost": "0"},
            "leads": {"total": 2, "by_status": {"new": 2}},
        }


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
