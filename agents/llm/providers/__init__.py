"""Providers by type, and the chain a step uses (with the model for each).

Endpoints come from settings only (REACHLY_LLM_PROVIDERS): a tenant can pick
providers by name (AgentAllocation.adapter_override) and a model name, never
a URL, so no tenant can point a worker at an internal address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from agents.llm.providers.anthropic import AnthropicProvider
from agents.llm.providers.base import (
    Completion,
    Provider,
    ProviderError,
    ProviderRateLimited,
    ProviderUnavailable,
    Request,
)
from agents.llm.providers.local import LocalProvider
from agents.llm.providers.openai import OpenAIProvider

TYPES: dict[str, type[Provider]] = {
    "local": LocalProvider,
    "openai": OpenAIProvider,
    "anthropic": AnthropicProvider,
}
# Model names as providers spell them ("gpt-4o-mini", "llama3.2:3b",
# "meta-llama/Llama-3.1-8B-Instruct"); nothing that could form a URL.
MODEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$")

__all__ = [
    "TYPES",
    "Completion",
    "ConfigError",
    "Link",
    "Provider",
    "ProviderError",
    "ProviderRateLimited",
    "ProviderUnavailable",
    "Request",
    "chain",
    "validate_base_url",
]


class ConfigError(ValueError):
    """The LLM configuration (settings or a tenant's overrides) is unusable."""


def validate_base_url(url: str) -> str:
    """An endpoint's base URL, checked: http(s), a host, no credentials,
    query or fragment (keys go in headers, paths are ours to append)."""
    if not isinstance(url, str) or not url:
        raise ConfigError("base_url is required")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ConfigError(f"base_url {url!r}: scheme must be http or https")
    if not parts.hostname:
        raise ConfigError(f"base_url {url!r}: no host")
    if parts.username or parts.password:
        raise ConfigError(f"base_url {parts.hostname!r}: credentials belong in the api_key, not the URL")
    if parts.query or parts.fragment:
        raise ConfigError(f"base_url {url!r}: no query string or fragment")
    return url.rstrip("/")


def build(name: str, config: dict[str, Any], options: dict[str, Any] | None = None) -> Provider:
    kind = config.get("type", name)
    if kind not in TYPES:
        raise ConfigError(f"provider {name!r}: unknown type {kind!r} (one of {', '.join(TYPES)})")
    config = dict(config)
    if TYPES[kind].http:
        config["base_url"] = validate_base_url(config.get("base_url", ""))
    return TYPES[kind](name, config, options)


@dataclass
class Link:
    """One provider of a chain, with the model it will be asked for."""

    provider: Provider
    model: str

    @property
    def name(self) -> str:
        return self.provider.name


def chain(settings: dict[str, Any]) -> list[Link]:
    """The providers a step tries, in order, from `llm_settings()`.

    The chain is the tenant's (allocation's adapter_override, comma-separated
    provider names) else the role's else the default. A model override
    `name:model` applies to that provider; a bare model to the first
    provider of the chain that is not `local`.
    """
    configured: dict[str, Any] = settings["providers"]
    names = [n.strip() for n in (settings.get("chain_override") or "").split(",") if n.strip()]
    names = names or list(settings["chain"])
    if not names:
        raise ConfigError("the LLM provider chain is empty")
    unknown = [n for n in names if n not in configured]
    if unknown:
        raise ConfigError(f"unknown LLM provider {unknown[0]!r} in the chain (configured: {', '.join(configured)})")
    options = {
        "connect_timeout": settings.get("timeouts", {}).get("connect", 5.0),
        "read_timeout": settings.get("timeouts", {}).get("read", 60.0),
        "retries": settings.get("inline_retries", 2),
        "retry_max_seconds": settings.get("inline_retry_max_seconds", 2.0),
    }
    links = []
    for name in dict.fromkeys(names):  # a provider once, in order
        provider = build(name, configured[name], options)
        links.append(Link(provider, provider.default_model or name))

    override = (settings.get("model_override") or "").strip()
    if override:
        target, _, model = override.partition(":")
        if model and target in configured:
            matching = [link for link in links if link.name == target]
        else:
            model = override
            matching = [link for link in links if link.provider.type != "local"][:1]
        if not MODEL_RE.match(model):
            raise ConfigError(f"model override {override!r} is not a model name")
        for link in matching:
            link.model = model
    return links
