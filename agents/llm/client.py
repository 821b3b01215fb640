"""One LLM call of a step: budget, tokens per minute, fallback, paid once.

    llm = LLM(ctx)
    answer = llm.complete("note:42", "copywriter.outreach", context)       # text
    data, answer = llm.complete_json("plan", "planner.graph", context, schema=...)

For each call:

1. The effect ledger (`ctx.effect`) first: a call this step already paid
   for under the same key returns its recorded completion; nothing is sent
   and nothing is billed again (a retried or resumed step).
2. The tenant's monthly budget: spent → RateLimited, the step waits (and
   frees its worker) until the budget is raised or the month turns.
3. Down the chain, provider by provider: the tenant's tokens per minute on
   that provider through the global limiter; then the call. A provider that
   is rate-limited (429, or our own limiter) or down (5xx, timeout) hands
   over to the next one. Every call made is recorded once (LLMCall), a
   successful one with its tokens and cost added to the month's usage.
4. Nobody answered: all rate-limited → RateLimited (the step waits for the
   soonest Retry-After); otherwise an AgentError (retryable if any provider
   was only down).

Agents call this with their StepContext; its LLM port (`ctx.llm`:
settings, tokens, the call ledger, provider cool-downs; agents/ports.py)
is the only door to the database and Redis.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from jsonschema import Draft202012Validator

from agents.base import AgentError, PermanentError, RateLimited
from agents.llm import pricing, prompts, providers, tokens
from agents.llm.providers import ConfigError, ProviderError, ProviderRateLimited, Request
from agents.ports import StepContext

log = logging.getLogger(__name__)

# Part of the wait reason of a step whose tenant spent its LLM budget
# (reachly.llm.services finds waiting steps by it when the budget is raised).
BUDGET_WAIT = "monthly LLM budget"


@dataclass
class Refusal:
    provider: str
    reason: str
    retry_after: float | None
    limited: bool  # rate-limited (wait), as opposed to down or refusing
    retryable: bool = True


class LLM:
    """An LLM agent's access to its provider chain, for one step."""

    def __init__(self, ctx: StepContext):
        self.ctx = ctx
        self._settings: dict[str, Any] | None = None

    @property
    def settings(self) -> dict[str, Any]:
        if self._settings is None:
            self._settings = self.ctx.llm.settings()
        return self._settings

    # -- one completion ----------------------------------------------------
    def complete(
        self,
        key: str,
        task: str,
        context: dict[str, Any],
        *,
        variables: dict[str, Any] | None = None,
        json_mode: bool = False,
        max_tokens: int | None = None,
        history: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        """The completion for `key` (unique within the step), paid once.

        `context` is the data the prompt is about (the local provider builds
        its answer from it); `variables` fill the template (default: context).
        """
        effect_key = f"llm:{key}"
        return self.ctx.effect(
            effect_key,
            lambda: self._call(effect_key, task, context, variables, json_mode, max_tokens, history or []),
            verify=lambda: self.ctx.llm.call_find(effect_key),
        )

    def _call(
        self,
        effect_key: str,
        task: str,
        context: dict[str, Any],
        variables: dict[str, Any] | None,
        json_mode: bool,
        max_tokens: int | None,
        history: list[dict[str, str]],
    ) -> dict[str, Any]:
        settings = self.ctx.llm.settings()
        self._settings = settings
        _check_budget(settings)
        try:
            links = providers.chain(settings)
        except ConfigError as exc:
            raise PermanentError(f"LLM configuration: {exc}") from None

        system, user = prompts.render(task, variables if variables is not None else context)
        request = Request(
            task=task,
            system=system,
            messages=[{"role": "user", "content": user}, *history],
            context=context,
            max_tokens=max_tokens or settings["max_tokens"],
            json=json_mode,
        )
        # Reserve what the call may use at most: the prompt and max_tokens.
        reserve = tokens.estimate_messages(request.system, request.messages) + request.max_tokens
        refusals: list[Refusal] = []
        for i, link in enumerate(links):
            cooling = self.ctx.llm.provider_cooling(link.name)
            if cooling > 0:
                refusals.append(Refusal(link.name, f"answered 429, skipped for {cooling:.0f}s", cooling, True))
                continue
            try:
                refund = self.ctx.llm.tokens_acquire(link.name, reserve, settings["tokens_per_minute"])
            except RateLimited as denied:
                if denied.retry_after < 0:
                    refusals.append(Refusal(link.name, f"{reserve} tokens exceed {denied.scope}", None, False, False))
                else:
                    refusals.append(Refusal(link.name, denied.scope, denied.retry_after, True))
                continue

            started = time.monotonic()
            try:
                completion = link.provider.complete(request, link.model)
            except ProviderError as exc:
                refund()
                self.ctx.llm.call_record(
                    task=task,
                    provider=link.name,
                    model=link.model,
                    outcome=exc.outcome,
                    latency_ms=_ms(started),
                    fallback=i > 0,
                    error=str(exc),
                )
                limited = isinstance(exc, ProviderRateLimited)
                if limited:
                    self.ctx.llm.provider_cool_down(link.name, exc.retry_after or 1.0)
                refusals.append(
                    Refusal(link.name, f"{exc.outcome}: {exc}"[:200], exc.retry_after, limited, exc.retryable)
                )
                continue

            cost = pricing.cost(
                completion.model, completion.prompt_tokens, completion.completion_tokens, settings.get("prices")
            )
            return self.ctx.llm.call_record(
                task=task,
                provider=link.name,
                model=completion.model,
                outcome="ok",
                prompt_tokens=completion.prompt_tokens,
                completion_tokens=completion.completion_tokens,
                cost=str(cost),
                latency_ms=_ms(started),
                fallback=i > 0,
                effect_key=effect_key,
                completion=completion.text,
            )
        raise _exhausted(refusals)

    # -- structured answers ----------------------------------------------------
    def complete_json(
        self,
        key: str,
        task: str,
        context: dict[str, Any],
        *,
        schema: dict[str, Any],
        check: Callable[[dict[str, Any]], Iterable[str]] | None = None,
        variables: dict[str, Any] | None = None,
        max_tokens: int | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """A JSON object valid against `schema` (and `check(data) -> [errors]`).

        An invalid answer is shown back to the model with what was wrong, at
        most `max_reprompts` times; then PermanentError names what was invalid.
        Each try is its own paid call (key:0, key:1...), so a retried step
        replays the same tries from the ledger.
        """
        validator = Draft202012Validator(schema)
        tries = 1 + int(self.settings.get("max_reprompts", 2))
        history: list[dict[str, str]] = []
        errors: list[str] = []
        for n in range(tries):
            answer = self.complete(
                f"{key}:{n}", task, context, variables=variables, json_mode=True, max_tokens=max_tokens, history=history
            )
            data, errors = parse_json(answer["text"])
            if data is not None:  # else `errors` says why it is not JSON
                errors = schema_errors(validator, data)
                if not errors and check is not None:
                    errors = list(check(data))
                if not errors:
                    return data, answer
            self.ctx.safe_point()
            history = [
                {"role": "assistant", "content": answer["text"][:8000]},
                {
                    "role": "user",
                    "content": "That answer was invalid:\n"
                    + "\n".join(f"- {e}" for e in errors[:20])
                    + "\nReply with the corrected JSON object only.",
                },
            ]
        raise PermanentError(
            f"{task}: the model's answer was still invalid after {tries} tries: " + "; ".join(errors[:5]),
            details={"task": task, "tries": tries, "errors": errors[:50]},
        )


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _check_budget(settings: dict[str, Any]) -> None:
    budget = settings.get("budget")
    if budget is None:
        return
    spent = Decimal(settings["spent"])
    if spent >= Decimal(budget):
        raise RateLimited(
            float(settings["budget_recheck_seconds"]),
            f"{BUDGET_WAIT}: ${spent:.2f} of ${Decimal(budget):.2f} spent; "
            "LLM steps wait until the budget is raised or the month turns",
        )


def _exhausted(refusals: list[Refusal]) -> Exception:
    summary = "; ".join(f"{r.provider}: {r.reason}" for r in refusals)
    if refusals and all(r.limited for r in refusals):
        wait = min((r.retry_after for r in refusals if r.retry_after is not None), default=5.0)
        return RateLimited(max(wait, 0.5), f"every LLM provider ({summary})")
    return AgentError(
        f"no LLM provider could answer: {summary}",
        retryable=any(r.retryable for r in refusals),
        details={"providers": [r.__dict__ for r in refusals]},
    )


_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


def parse_json(text: str) -> tuple[dict[str, Any] | None, list[str]]:
    """The JSON object in a model's answer (code fences tolerated), or errors."""
    text = text.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1)
    try:
        data = json.loads(text)
    except ValueError as exc:
        start, end = text.find("{"), text.rfind("}")
        try:
            data = json.loads(text[start : end + 1]) if 0 <= start < end else None
        except ValueError:
            data = None
        if data is None:
            # A ValueError that is no JSONDecodeError: an integer too long to convert.
            why = f"{exc.msg} at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else exc
            return None, [f"the answer is not JSON ({why})"]
    if not isinstance(data, dict):
        return None, [f"the answer must be a JSON object, not {type(data).__name__}"]
    return data, []


def json_path(path: Iterable[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(root)"


def schema_errors(validator: Draft202012Validator, data: Any) -> list[str]:
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{json_path(e.absolute_path)}: {e.message}"[:300] for e in errors]
