"""An OpenAI-compatible chat-completions server whose answers wait for the
test's permission: each request takes one permit (`allow(n)` hands them out).

With it a browser test decides when a campaign job's LLM steps may finish,
so it can pause a job that is certainly still running and watch progress
move one step at a time, without sleeping or guessing at timings.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Satisfies every schema a campaign job asks for: the copywriter's
# {note, message} and the analyst's {headline, summary, highlights, recommendations}.
ANSWER = {
    "note": "Hi, I liked your talk on platform teams. Open to connect?",
    "message": "Thanks for connecting! Happy to share our audit checklist.",
    "headline": "Copy written for every lead",
    "summary": "All leads have a note and a follow-up.",
    "highlights": ["Notes written"],
    "recommendations": ["Add sender accounts to send them"],
}


class GatedLLM:
    def __init__(self, wait_seconds: float = 90.0) -> None:
        self.permits = threading.Semaphore(0)
        self.received = 0
        self.answered = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                with server._lock:
                    server.received += 1
                if not server.permits.acquire(timeout=wait_seconds):
                    self.send_response(503)
                    self.end_headers()
                    return
                body = json.dumps(
                    {
                        "id": "chatcmpl-gated",
                        "object": "chat.completion",
                        "model": "gated-model",
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": json.dumps(ANSWER)},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 120, "completion_tokens": 40, "total_tokens": 160},
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                with server._lock:
                    server.answered += 1

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def start(self) -> GatedLLM:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def allow(self, n: int = 1) -> None:
        for _ in range(n):
            self.permits.release()

    def stop(self) -> None:
        self.allow(1000)  # let any waiting request go
        self.httpd.shutdown()
        self.httpd.server_close()

    def worker_env(self) -> dict[str, str]:
        """Environment for workers: every LLM step asks this server."""
        provider = {"gated": {"type": "openai", "base_url": self.url, "api_key": "test", "model": "gated-model"}}
        return {"REACHLY_LLM_EXTRA_PROVIDERS": json.dumps(provider), "REACHLY_LLM_CHAIN": "gated"}
