"""A real threaded HTTP server speaking the OpenAI chat-completions and the
Anthropic Messages wire formats, scripted per endpoint.

    server = FakeLLMServer().start()
    server.script("openai", [Reply(429, retry_after=30)], default=None)
    server.script("anthropic", [ok, Reply(500), ok])   # then `default` forever
    base = server.url("openai")   # → http://127.0.0.1:port/openai/v1

Every request is kept (path, headers, JSON body) for assertions.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    text: str = '{"note": "Hi from the fake model", "message": "Thanks for connecting!"}'
    retry_after: float | None = None
    prompt_tokens: int = 100
    completion_tokens: int = 50
    model: str = ""
    headers: dict[str, str] = field(default_factory=dict)


OPENAI_MODEL = "gpt-4o-mini-2024-07-18"
ANTHROPIC_MODEL = "claude-3-5-haiku-20241022"


class FakeLLMServer:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self._scripts: dict[str, list[Reply]] = {"openai": [], "anthropic": []}
        self._defaults: dict[str, Reply] = {"openai": Reply(), "anthropic": Reply()}
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path == "/openai/v1/chat/completions":
                    kind = "openai"
                elif self.path == "/anthropic/v1/messages":
                    kind = "anthropic"
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                reply = server._next(kind, self.path, dict(self.headers), body)
                payload = server._payload(kind, reply, body) if reply.status == 200 else {"error": "scripted"}
                data = json.dumps(payload).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if reply.retry_after is not None:
                    self.send_header("Retry-After", str(int(reply.retry_after)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]

    def start(self) -> FakeLLMServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, kind: str) -> str:
        return (
            f"http://127.0.0.1:{self.port}/openai/v1" if kind == "openai" else f"http://127.0.0.1:{self.port}/anthropic"
        )

    def script(self, kind: str, replies: list[Reply], default: Reply | None = None) -> None:
        with self._lock:
            self._scripts[kind] = list(replies)
            if default is not None:
                self._defaults[kind] = default

    def received(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.requests if r["kind"] == kind]

    def _next(self, kind: str, path: str, headers: dict[str, str], body: dict[str, Any]) -> Reply:
        with self._lock:
            reply = self._scripts[kind].pop(0) if self._scripts[kind] else self._defaults[kind]
            self.requests.append({"kind": kind, "path": path, "headers": headers, "body": body, "status": reply.status})
            return reply

    def _payload(self, kind: str, reply: Reply, body: dict[str, Any]) -> dict[str, Any]:
        if kind == "openai":
            return {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "model": reply.model or OPENAI_MODEL,
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": reply.text}, "finish_reason": "stop"}
                ],
                "usage": {
                    "prompt_tokens": reply.prompt_tokens,
                    "completion_tokens": reply.completion_tokens,
                    "total_tokens": reply.prompt_tokens + reply.completion_tokens,
                },
            }
        return {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": reply.model or ANTHROPIC_MODEL,
            "content": [{"type": "text", "text": reply.text}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": reply.prompt_tokens, "output_tokens": reply.completion_tokens},
        }
