"""Any OpenAI-compatible chat-completions endpoint: OpenAI, Ollama, vLLM.

POST {base_url}/chat/completions with a Bearer key (omitted when none is
configured, as for a local Ollama).
"""

from __future__ import annotations

from agents.llm import tokens
from agents.llm.providers import http
from agents.llm.providers.base import Completion, Provider, ProviderUnavailable, Request


class OpenAIProvider(Provider):
    type = "openai"
    http = True

    def complete(self, request: Request, model: str) -> Completion:
        messages = [{"role": "system", "content": request.system}] if request.system else []
        messages += request.messages
        body = {
            "model": model,
            "messages": messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.json:
            body["response_format"] = {"type": "json_object"}
        headers = {"Content-Type": "application/json"}
        if self.config.get("api_key"):
            headers["Authorization"] = f"Bearer {self.config['api_key']}"
        data = http.post_json(self.config["base_url"] + "/chat/completions", body, headers=headers, **self.options)
        try:
            text = data["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise ProviderUnavailable("the answer has no choices[0].message.content") from None
        usage = data.get("usage") or {}
        return Completion(
            text=text,
            prompt_tokens=int(usage.get("prompt_tokens") or tokens.estimate_messages(request.system, request.messages)),
            completion_tokens=int(usage.get("completion_tokens") or tokens.estimate(text)),
            model=str(data.get("model") or model),
        )
