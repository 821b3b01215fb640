"""The provider interface: one request in, one completion (or an error) out.

Errors say what the fallback chain should do: a rate-limited or unavailable
provider is skipped for the next one of the chain; `retry_after` tells the
step when to come back if every provider of the chain refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Request:
    task: str  # the prompt template's name, e.g. "copywriter.outreach"
    system: str
    messages: list[dict[str, str]]  # [{"role": "user" | "assistant", "content": ...}]
    context: dict[str, Any] = field(default_factory=dict)  # the data the prompt was rendered from
    max_tokens: int = 800
    temperature: float = 0.4
    json: bool = False  # ask for a JSON object


@dataclass
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    model: str


class ProviderError(Exception):
    """The provider refused the request (bad key, bad request, bad answer)."""

    outcome = "error"
    retryable = False

    def __init__(self, message: str, *, retry_after: float | None = None, status: int | None = None):
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status


class ProviderUnavailable(ProviderError):
    """5xx, timeout, connection refused: the provider is down for now."""

    outcome = "unavailable"
    retryable = True


class ProviderRateLimited(ProviderError):
    """429: come back after `retry_after` seconds (or use another provider)."""

    outcome = "rate_limited"
    retryable = True


class Provider:
    """Subclasses implement `complete`. `name` is the configured name
    ("openai", "ollama"...), `type` the wire format."""

    type = ""
    http = False  # speaks HTTP to a configured base_url

    def __init__(self, name: str, config: dict[str, Any], options: dict[str, Any] | None = None):
        self.name = name
        self.config = config
        self.options = options or {}
        self.default_model = str(config.get("model") or "")

    def complete(self, request: Request, model: str) -> Completion:
        raise NotImplementedError
