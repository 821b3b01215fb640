"""The one HTTP client of the LLM providers: pooled, with timeouts and a
short, bounded retry on 429/5xx that honours Retry-After.

A worker slot must never wait long (shared/DESIGN.md, principle 3): the
client retries in place only when the provider asks for at most
`inline_retry_max_seconds`; otherwise it raises at once, and the chain falls
back to the next provider or the step goes back to the database. Redirects
are never followed, so an endpoint cannot send us to another host.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from agents.llm.providers.base import ProviderError, ProviderRateLimited, ProviderUnavailable

_lock = threading.Lock()
_client: httpx.Client | None = None


def client() -> httpx.Client:
    """One connection pool per process (threads share it)."""
    global _client
    if _client is None:
        with _lock:
            if _client is None:
                _client = httpx.Client(
                    follow_redirects=False,
                    limits=httpx.Limits(max_connections=32, max_keepalive_connections=8),
                    headers={"User-Agent": "Reachly/1"},
                )
    return _client


def retry_after(response: httpx.Response, now: datetime | None = None) -> float | None:
    """Seconds the server asks us to wait: `retry-after-ms`, `Retry-After`
    as seconds or as an HTTP date; None when it does not say."""
    ms = response.headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(tz=UTC))).total_seconds())


def _backoff(attempt: int) -> float:
    return min(2.0, 0.25 * 2**attempt) * random.uniform(0.5, 1.0)


def post_json(
    url: str,
    body: dict[str, Any],
    *,
    headers: dict[str, str],
    connect_timeout: float = 5.0,
    read_timeout: float = 60.0,
    retries: int = 2,
    retry_max_seconds: float = 2.0,
) -> dict[str, Any]:
    """POST a JSON body, return the JSON answer, or raise a ProviderError
    saying whether another try (here, on another provider, or later) can help."""
    timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
    attempt = 0
    while True:
        try:
            response = client().post(url, json=body, headers=headers, timeout=timeout)
        except httpx.TimeoutException as exc:
            error: ProviderError = ProviderUnavailable(f"timed out: {type(exc).__name__}")
            wait = _backoff(attempt)
        except httpx.TransportError as exc:
            error = ProviderUnavailable(f"connection failed: {type(exc).__name__}: {exc}")
            wait = _backoff(attempt)
        else:
            status = response.status_code
            if 200 <= status < 300:
                try:
                    data = response.json()
                except ValueError:
                    raise ProviderUnavailable("the answer was not JSON", status=status) from None
                if not isinstance(data, dict):
                    raise ProviderUnavailable("the answer was not a JSON object", status=status)
                return data
            after = retry_after(response)
            detail = response.text[:300]
            if status == 429:
                error = ProviderRateLimited(f"HTTP 429: {detail}", retry_after=after, status=status)
            elif status >= 500 or status == 408:
                error = ProviderUnavailable(f"HTTP {status}: {detail}", retry_after=after, status=status)
            elif 300 <= status < 400:
                raise ProviderError(f"HTTP {status}: redirects are not followed", status=status)
            else:
                raise ProviderError(f"HTTP {status}: {detail}", status=status)
            wait = after if after is not None else _backoff(attempt)
        if attempt >= retries or wait > retry_max_seconds:
            if error.retry_after is None and isinstance(error, ProviderRateLimited):
                error.retry_after = max(wait, 1.0)
            raise error
        time.sleep(wait)
        attempt += 1
