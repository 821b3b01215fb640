"""Fixtures for tests that drive a real Chromium against the sandbox network,
in this process (site module, pool) or in Celery workers (the agents)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from reachly.sandbox import services as sandbox

PASSWORD = "sandbox-pass"


@pytest.fixture
def sandbox_url(live_server) -> str:
    """The sandbox's base URL as served by this test's live server."""
    return f"{live_server.url}/sandbox/"


@pytest.fixture(scope="module")
def browser_pool() -> Iterator:
    """A browser pool in this process (the tests run in its main thread)."""
    import os

    from agents.browser.pool import BrowserPool

    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    pool = BrowserPool()
    yield pool
    pool.close()
    # The pool lifts Django's async guard for its process; give it back.
    if before is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def loopback_egress(settings) -> None:
    """In-process browser tests reach the live server on loopback: allow it
    (workers get REACHLY_EGRESS_ALLOW or trust their site's origin instead)."""
    settings.REACHLY_EGRESS_ALLOW = ["127.0.0.0/8"]


def browser_env(sandbox_url: str, **extra: str) -> dict[str, str]:
    """Environment for browser workers: the live sandbox, no pacing."""
    return {
        "REACHLY_SANDBOX_URL": sandbox_url,
        "REACHLY_BROWSER_PACE_MIN_SECONDS": "0",
        "REACHLY_BROWSER_PACE_MAX_SECONDS": "0",
        **extra,
    }


def sender(handle: str, **knobs) -> sandbox.Member:
    return sandbox.member_create(handle=handle, name=handle.replace("-", " ").title(), password=PASSWORD, **knobs)


class CountingServer(ThreadingHTTPServer):
    """An "internal" service on loopback that counts every request it gets."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(b"<title>internal secret</title>metadata")

            def log_message(self, *args) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return self.server_address[1]
