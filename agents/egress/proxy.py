"""The browser agents' egress proxy: every connection Chromium makes goes
through it, and it connects only where the egress policy allows.

A Playwright route handler cannot enforce the policy: Chromium follows
redirects (even of a fulfilled response) without routing the new request,
preconnects and WebSockets bypass routes, and a request that is continued is
resolved again by Chromium's own resolver (DNS rebinding). A forward proxy
sees every connection instead, including each redirect hop, and Chromium
sends it host names unresolved, so the name is resolved once, here, and the
connection is made to the address that was checked:

* `CONNECT host:port` (HTTPS, WebSockets): vetted, then a TCP tunnel to the
  checked address; TLS stays end to end between Chromium and the site.
* Absolute-form requests (plain HTTP): vetted, then sent by httpx to the
  checked address (Host header and SNI from the URL), one request per client
  connection (`Connection: close`), so a reused proxy connection can never
  carry a second request to an unvetted host.
* Refused: `403` with `X-Reachly-Egress: refused` and the reason as body;
  the refusal is also kept (`take_refusals()`) for the agent to report.

One proxy per browser-worker process (an asyncio loop in a daemon thread),
one listening port per policy (the research agent trusts nothing, the
outreach agent trusts its network's own origin). Why not a packaged proxy:
proxy.py runs its acceptors in separate processes (it does not live inside
a Celery prefork child) and exposes resolution and the connection as
separate hooks; mitmproxy is a TLS-intercepting tool of another size. This
module is the piece of the egress policy that a browser needs, and no more.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections import deque
from dataclasses import dataclass
from functools import partial

import httpx

from agents.base import AgentError
from agents.egress.http import host_header, no_cookies, pinned
from agents.egress.policy import DestinationRefused, Policy, Vetted

log = logging.getLogger(__name__)

MAX_HEAD = 64 * 1024  # bytes of a request line and headers
MAX_REQUEST_BODY = 20 * 1024 * 1024  # bytes; forms and uploads of a browser agent are small
IDLE_SECONDS = 30.0  # a client that sends nothing for this long is dropped
CONNECT_SECONDS = 10.0
REFUSED_HEADER = "X-Reachly-Egress"
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
}


@dataclass(frozen=True)
class Refusal:
    """A request the proxy refused: the URL (or host:port of a tunnel) and why."""

    url: str
    reason: str


class EgressProxy:
    """A forward proxy on 127.0.0.1, one port per `Policy` (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._servers: dict[Policy, asyncio.Server] = {}
        self._client: httpx.AsyncClient | None = None
        self._refusals: deque[Refusal] = deque(maxlen=500)
        self.connections = 0  # upstream connections made (for tests and metrics)

    # -- lifecycle ---------------------------------------------------------------
    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="egress-proxy", daemon=True)
            thread.start()
            self._loop, self._thread = loop, thread
        return self._loop

    def _start_server(self, policy: Policy) -> asyncio.Server:
        loop = self._ensure_loop()
        coro = asyncio.start_server(partial(self._handle, policy), "127.0.0.1", 0)
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=30)

    def port_for(self, policy: Policy) -> int:
        """The local port that proxies under `policy` (a listener is opened on first use)."""
        with self._lock:
            server = self._servers.get(policy)
            if server is None:
                server = self._start_server(policy)
                self._servers[policy] = server
            return int(server.sockets[0].getsockname()[1])

    def server_url(self, policy: Policy) -> str:
        """`http://127.0.0.1:<port>` for a browser context's `proxy` option."""
        return f"http://127.0.0.1:{self.port_for(policy)}"

    def take_refusals(self) -> list[Refusal]:
        """The refusals since the last call (oldest first), and forget them."""
        with self._lock:
            out = list(self._refusals)
            self._refusals.clear()
        return out

    def close(self) -> None:
        """Stop listening and stop the loop thread (open tunnels are dropped)."""
        loop = self._loop
        if loop is None:
            return

        async def shutdown() -> None:
            for server in self._servers.values():
                server.close()
            if self._client is not None:
                await self._client.aclose()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._servers.clear()
        self._loop = self._thread = self._client = None

    # -- one client connection ---------------------------------------------------
    def _refuse(self, url: str, reason: str) -> bytes:
        with self._lock:
            self._refusals.append(Refusal(url, reason))
        log.info("egress refused %s: %s", url[:200], reason)
        body = reason.encode()
        return (
            f"HTTP/1.1 403 Forbidden\r\n{REFUSED_HEADER}: refused\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode() + body

    async def _vet(self, policy: Policy, url: str) -> tuple[Vetted | None, bytes | None]:
        loop = asyncio.get_running_loop()
        try:
            # Resolution blocks: off the loop, so one slow DNS answer stalls nobody else.
            return await loop.run_in_executor(None, policy.vet, url), None
        except DestinationRefused as exc:
            return None, self._refuse(url, exc.reason)
        except AgentError as exc:
            return None, _error(502, str(exc))

    async def _handle(self, policy: Policy, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE_SECONDS)
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
                return
            if len(head) > MAX_HEAD:
                writer.write(_error(431, "request headers too large"))
                return
            lines = head.decode("latin-1").split("\r\n")
            parts = lines[0].split(" ")
            if len(parts) != 3:
                writer.write(_error(400, "malformed request line"))
                return
            method, target, _version = parts
            headers = [tuple(line.split(":", 1)) for line in lines[1:] if ":" in line]
            if method.upper() == "CONNECT":
                await self._tunnel(policy, target, reader, writer)
            else:
                await self._forward(
                    policy, method, target, [(k.strip(), v.strip()) for k, v in headers], reader, writer
                )
        except Exception:  # one bad connection must never stop the proxy
            log.warning("egress proxy: a connection failed", exc_info=True)
        finally:
            with contextlib.suppress(Exception):
                await writer.drain()
                writer.close()

    async def _tunnel(
        self, policy: Policy, target: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        url = f"https://{target}/"
        vetted, refusal = await self._vet(policy, url)
        if vetted is None:
            writer.write(refusal or b"")
            return
        destination = vetted.destination
        address = str(vetted.addresses[0])
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(address, destination.port), CONNECT_SECONDS
            )
        except (OSError, TimeoutError) as exc:
            writer.write(_error(502, f"could not reach {destination.host}: {exc}"))
            return
        self.connections += 1
        writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        await writer.drain()
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    async def _forward(
        self,
        policy: Policy,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        lowered = {k.lower(): v for k, v in headers}
        if "chunked" in lowered.get("transfer-encoding", "").lower():
            writer.write(_error(411, "chunked request bodies are not supported"))
            return
        try:
            length = int(lowered.get("content-length", "0") or 0)
        except ValueError:
            writer.write(_error(400, "bad Content-Length"))
            return
        if length > MAX_REQUEST_BODY or length < 0:
            writer.write(_error(413, "request body too large"))
            return
        body = await reader.readexactly(length) if length else None
        vetted, refusal = await self._vet(policy, target)
        if vetted is None:
            writer.write(refusal or b"")
            return
        url, extra, extensions = pinned(vetted)
        forwarded = [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP] + list(extra.items())
        if "Host" not in extra:
            forwarded.append(("Host", host_header(vetted)))
        if self._client is None:
            self._client = httpx.AsyncClient(
                follow_redirects=False,
                trust_env=False,
                timeout=httpx.Timeout(60.0, connect=CONNECT_SECONDS),
                headers={"User-Agent": ""},
                # Cookies are the browser context's: forwarded as sent, never kept here.
                cookies=no_cookies(),
            )
        try:
            request = self._client.build_request(method, url, headers=forwarded, content=body, extensions=extensions)
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            writer.write(_error(502, f"could not reach {vetted.destination.host}: {type(exc).__name__}"))
            return
        self.connections += 1
        try:
            out = [f"HTTP/1.1 {response.status_code} {response.reason_phrase}".encode("latin-1")]
            for key, value in response.headers.multi_items():
                if key.lower() not in HOP_BY_HOP:
                    out.append(f"{key}: {value}".encode("latin-1", "replace"))
            out.append(b"Connection: close")
            writer.write(b"\r\n".join(out) + b"\r\n\r\n")
            async for chunk in response.aiter_raw():
                writer.write(chunk)
                await writer.drain()
        finally:
            await response.aclose()


def _error(status: int, message: str) -> bytes:
    body = message.encode()
    reason = {
        400: "Bad Request",
        411: "Length Required",
        413: "Payload Too Large",
        431: "Request Header Fields Too Large",
    }
    return (
        f"HTTP/1.1 {status} {reason.get(status, 'Bad Gateway')}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


_proxy: EgressProxy | None = None
_proxy_pid: int | None = None


def get() -> EgressProxy:
    """This process's proxy (a forked child makes its own: threads do not survive a fork)."""
    global _proxy, _proxy_pid
    if _proxy is None or _proxy_pid != os.getpid():
        _proxy, _proxy_pid = EgressProxy(), os.getpid()
    return _proxy
