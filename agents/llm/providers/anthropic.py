"""Anthropic's Messages API: POST {base_url}/v1/messages."""

from __future__ import annotations

from agents.llm import tokens
from agents.llm.providers import http
from agents.llm.providers.base import Completion, Provider, ProviderUnavailable, Request

API_VERSION = "2023-06-01"


class AnthropicProvider(Provider):
    type = "anthropic"
    http = True

    def complete(self, request: Request, model: str) -> Completion:
        system = request.system
        if request.json:
            system += "\n\nAnswer with one JSON object only, no prose around it."
        body = {
            "model": model,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "system": system,
            "messages": request.messages,
        }
        headers = {
            "Content-Type": "application/json",
            "x-api-key": str(self.config.get("api_key") or ""),
            "anthropic-version": API_VERSION,
        }
        data = http.post_json(self.config["base_url"] + "/v1/messages", body, headers=headers, **self.options)
        content = data.get("content")
        if not isinstance(content, list):
            raise ProviderUnavailable("the answer has no content list")
        text = "".join(
            part.get("text", "") for part in content if isinstance(part, dict) and part.get("type") == "text"
        )
        usage = data.get("usage") or {}
        return Completion(
            text=text,
            prompt_tokens=int(usage.get("input_tokens") or tokens.estimate_messages(request.system, request.messages)),
            completion_tokens=int(usage.get("output_tokens") or tokens.estimate(text)),
            model=str(data.get("model") or model),
        )
