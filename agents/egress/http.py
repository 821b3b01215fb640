"""The one HTTP client of Reachly's outbound requests (webhooks, LLM
providers, the browser agents' pinned fetches).

* One `httpx.Client` per process and timeout (connection pooling; a forked
  child makes its own), no redirects followed (a redirect is a new
  destination and goes through the policy again, or is refused), no proxy
  settings from the environment.
* Every request is vetted by `agents.egress.policy` first and, unless the
  origin is trusted operator configuration, sent to the address that was
  checked: the URL's host goes in the Host header and as TLS SNI (and the
  certificate is verified against it), so a DNS answer that changes between
  the check and the connection cannot move the request.
* Failures say whether a retry can help (agents.base errors), and
  `retry_after()` reads a 429/503's `retry-after-ms` or `Retry-After`
  (seconds or an HTTP date) once for every caller.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx

from agents.base import AgentError
from agents.egress.policy import Policy, Vetted

USER_AGENT = "Reachly/1.0"
MAX_BODY = 64 * 1024  # bytes of a reply kept unless the caller asks for more


def retry_after(
    headers: httpx.Headers | dict[str, str], default: float | None = None, now: datetime | None = None
) -> float | None:
    """Seconds the server asks us to wait, from `retry-after-ms` (ms) or
    `Retry-After` (seconds, or an HTTP date compared with `now`, UTC);
    `default` when it says nothing readable. Never negative."""
    lowered = {k.lower(): v for k, v in headers.items()}
    ms = lowered.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = (lowered.get("retry-after") or "").strip()
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(tz=UTC))).total_seconds())


def no_cookies() -> CookieJar:
    """A cookie jar that never stores nor sends a cookie.

    httpx clients keep the cookies of every reply and send them with later
    requests; a client shared by many tenants (webhooks) or browser contexts
    (the proxy) must not carry one's cookies to another.
    """
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


@dataclass
class Reply:
    """A reply of any status: `body` holds at most the `max_body` bytes asked for."""

    status: int
    headers: httpx.Headers
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def snippet(self, n: int = 300) -> str:
        return self.body[:n].decode("utf-8", "replace")


_lock = threading.Lock()
_clients: dict[tuple[int, float, float], httpx.Client] = {}


def _client(timeout: float, connect: float) -> httpx.Client:
    key = (os.getpid(), timeout, connect)
    client = _clients.get(key)
    if client is None:
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = httpx.Client(
                    timeout=httpx.Timeout(timeout, connect=connect),
                    follow_redirects=False,
                    trust_env=False,
                    limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
                    headers={"User-Agent": USER_AGENT},
                    cookies=no_cookies(),
                )
                _clients[key] = client
    return client


def host_header(vetted: Vetted) -> str:
    """The Host header of a vetted destination: its host, bracketed if IPv6,
    with the port unless it is the scheme's default."""
    destination = vetted.destination
    host = f"[{destination.host}]" if ":" in destination.host else destination.host
    default_port = 443 if destination.scheme == "https" else 80
    return host if destination.port == default_port else f"{host}:{destination.port}"


def pinned(vetted: Vetted) -> tuple[str, dict[str, str], dict[str, Any]]:
    """(URL to connect to, extra headers, httpx extensions) for a vetted destination.

    Trusted origins are connected to by name; others by the first checked address.
    """
    destination = vetted.destination
    if vetted.trusted or destination.literal is not None:
        return destination.href, {}, {}
    ip = vetted.addresses[0]
    url = httpx.URL(destination.href).copy_with(host=str(ip), port=destination.port)
    headers = {"Host": host_header(vetted)}
    extensions = {"sni_hostname": destination.host} if destination.scheme == "https" else {}
    return str(url), headers, extensions


def send(
    method: str,
    url: str,
    *,
    policy: Policy,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
    connect_timeout: float = 5.0,
    max_body: int = MAX_BODY,
) -> Reply:
    """Send one request after the policy check, pinned to the checked address.

    Raises DestinationRefused (permanent) when the policy refuses, and a
    retryable AgentError on network failures and timeouts; a reply of any
    status is returned for the caller to judge. `timeout` and
    `connect_timeout` are seconds; `max_body` is bytes kept.
    """
    vetted = policy.vet(url)
    target, extra, extensions = pinned(vetted)
    host = vetted.destination.host
    try:
        with _client(timeout, min(timeout, connect_timeout)).stream(
            method, target, content=content, headers={**(headers or {}), **extra}, extensions=extensions
        ) as response:
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) >= max_body:
                    break
            return Reply(response.status_code, response.headers, body[:max_body])
    except httpx.TimeoutException:
        raise AgentError(f"{host} did not answer within {timeout:g}s") from None
    except httpx.HTTPError as exc:
        raise AgentError(f"could not reach {host}: {type(exc).__name__}: {exc}") from None
