"""One HTTP client for the HTTP agents (webhooks today; LLM providers may share it).

* One `httpx.Client` per process (connection pooling; re-created after a
  fork), no redirects followed, no proxy settings from the environment.
* SSRF guard: the destination host is resolved once and every address must
  be public (not private, loopback, link-local, reserved, multicast...),
  unless `allow_private`. The request then goes to the address that was
  checked (the URL's host is sent as Host and TLS SNI), so a DNS answer
  that changes between the check and the connection cannot redirect it.
* Failures say whether a retry can help (agents.base errors), and
  `retry_after()` reads a 429/503's Retry-After (seconds or an HTTP date).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import SplitResult, urlsplit

import httpx

from agents.base import AgentError, PermanentError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
USER_AGENT = "Reachly-Webhooks/1.0"
MAX_BODY = 64 * 1024  # bytes of a reply kept (for error messages)


class DestinationRefused(PermanentError):
    """The URL points somewhere Reachly must not send requests (SSRF)."""


def is_public(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(url: str) -> SplitResult:
    """The URL's parts if it is an absolute http(s) URL without credentials."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise DestinationRefused(f"not a valid URL: {url[:200]!r}") from None
    if parts.scheme not in ("http", "https"):
        raise DestinationRefused("the URL must start with http:// or https://")
    if not parts.hostname:
        raise DestinationRefused("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise DestinationRefused("the URL must not contain credentials")
    return parts


def literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def resolve(host: str, port: int) -> list[IPAddress]:
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise AgentError(f"could not resolve {host}: {exc.strerror or exc}") from None
    seen: list[IPAddress] = []
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if ip not in seen:
            seen.append(ip)
    return seen


def check_destination(url: str, *, allow_private: bool) -> tuple[SplitResult, list[IPAddress]]:
    """Parse, resolve and vet a destination; raises DestinationRefused."""
    parts = check_url(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = resolve(parts.hostname or "", port)
    if not allow_private:
        bad = [ip for ip in addresses if not is_public(ip)]
        if bad:
            raise DestinationRefused(
                f"refusing to send to {parts.hostname} ({bad[0]}): private, loopback, link-local and reserved"
                " addresses are not allowed (REACHLY_WEBHOOK_ALLOW_PRIVATE)"
            )
    return parts, addresses


def retry_after(headers: httpx.Headers, default: float | None = None) -> float | None:
    value = headers.get("retry-after")
    if not value:
        return default
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError, OverflowError):
        return default


@dataclass
class Reply:
    status: int
    headers: httpx.Headers
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def snippet(self, n: int = 300) -> str:
        return self.body[:n].decode("utf-8", "replace")


_lock = threading.Lock()
_clients: dict[tuple[int, float], httpx.Client] = {}


def _client(timeout: float) -> httpx.Client:
    key = (os.getpid(), timeout)
    client = _clients.get(key)
    if client is None:
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = httpx.Client(
                    timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
                    follow_redirects=False,
                    trust_env=False,
                    limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
                    headers={"User-Agent": USER_AGENT},
                )
                _clients[key] = client
    return client


def post(url: str, *, content: bytes, headers: dict[str, str], allow_private: bool, timeout: float = 10.0) -> Reply:
    """POST `content` to `url` after the SSRF check, pinned to the checked address.

    Network failures and timeouts raise a retryable AgentError; the reply
    (any status) is returned for the caller to judge.
    """
    parts, addresses = check_destination(url, allow_private=allow_private)
    ip = addresses[0]
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host_literal = f"[{ip}]" if ip.version == 6 else str(ip)
    pinned = parts._replace(netloc=f"{host_literal}:{port}").geturl()
    host_header = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    try:
        with _client(timeout).stream(
            "POST", pinned, content=content, headers={**headers, "Host": host_header or ""}, extensions=extensions
        ) as response:
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) >= MAX_BODY:
                    break
            return Reply(response.status_code, response.headers, body[:MAX_BODY])
    except httpx.TimeoutException:
        raise AgentError(f"{parts.hostname} did not answer within {timeout:g}s") from None
    except httpx.HTTPError as exc:
        raise AgentError(f"could not reach {parts.hostname}: {type(exc).__name__}: {exc}") from None
