"""A local stand-in for Sentry's ingestion endpoint: it accepts envelopes
(`POST /api/<project>/envelope/`, gzip or plain) and keeps their items."""

from __future__ import annotations

import gzip
import json
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeSentry:
    def __init__(self) -> None:
        self.raw: list[bytes] = []
        self.items: list[tuple[dict, bytes]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                server._receive(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def dsn(self) -> str:
        return f"http://publickey@127.0.0.1:{self.port}/1"

    def _receive(self, body: bytes) -> None:
        lines = body.split(b"\n")
        items = []
        i = 1  # line 0: the envelope header
        while i < len(lines):
            if not lines[i].strip():
                i += 1
                continue
            header = json.loads(lines[i])
            length = header.get("length")
            if length is not None:
                rest = b"\n".join(lines[i + 1 :])
                payload = rest[:length]
                consumed = payload.count(b"\n") + 1
                i += 1 + consumed
            else:
                payload = lines[i + 1] if i + 1 < len(lines) else b""
                i += 2
            items.append((header, payload))
        with self._lock:
            self.raw.append(body)
            self.items.extend(items)

    def events(self) -> list[dict]:
        with self._lock:
            return [json.loads(p) for h, p in self.items if h.get("type") == "event"]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
