"""LLM's side of the agent ports (agents/ports.py: LLMPort): settings, the
tenant's tokens per minute, the call ledger, provider cool-downs and the
job summary the data analyst reads.

Registered with the step runner by LlmConfig.ready().
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agents.base import RateLimited
from reachly import limiter
from reachly.llm import cooldowns, selectors, services
from reachly.orchestration import limits
from reachly.orchestration.ports import StepScope


class LLMAdapter:
    """LLMPort for one step (see agents/ports.py for the contract)."""

    def __init__(self, scope: StepScope):
        self.scope = scope
        self.subject = limits.Subject(
            tenant_id=scope.tenant_id, agent=scope.role, account_id=scope.sender_account_id, tz=scope.tz
        )

    def settings(self) -> dict[str, Any]:
        return selectors.llm_settings(self.scope.tenant_id, self.scope.role)

    def tokens_acquire(self, provider: str, tokens: int, tokens_per_minute: int | None) -> Callable[[], None]:
        decision = limiter.acquire(limits.for_tokens(self.subject, provider, tokens, tokens_per_minute))
        if not decision.allowed:
            denied = decision.denied_by
            scope = (
                f"{denied.limit} LLM tokens per minute on {provider}"
                if denied and denied.scope.startswith("tokens:")
                else (denied.scope if denied else provider)
            )
            raise RateLimited(decision.retry_after, scope)
        return decision.refund

    def call_record(self, **call: Any) -> dict[str, Any]:
        return services.llm_call_record(
            tenant_id=self.scope.tenant_id,
            job_id=self.scope.job_id,
            step_id=self.scope.step_id,
            agent=self.scope.role,
            **call,
        )

    def call_find(self, effect_key: str) -> dict[str, Any] | None:
        return selectors.llm_call_completion(self.scope.step_id, effect_key)

    def provider_cool_down(self, provider: str, seconds: float) -> None:
        cooldowns.cool(provider, seconds)

    def provider_cooling(self, provider: str) -> float:
        return cooldowns.cooling(provider)

    def job_summary(self) -> dict[str, Any]:
        return selectors.job_summary(self.scope.job_id)
