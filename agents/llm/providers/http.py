"""The LLM providers' requests: through the one egress client
(agents/egress/http.py: pooled, timeouts, Retry-After), with a short,
bounded retry on 429/5xx.

A worker slot must never wait long (shared/DESIGN.md, principle 3): the
client retries in place only when the provider asks for at most
`inline_retry_max_seconds`; otherwise it raises at once, and the chain falls
back to the next provider or the step goes back to the database. Redirects
are never followed, so an endpoint cannot send us to another host.
"""

from __future__ import annotations

import json
import random
import time
from typing import Any

from agents.base import AgentError
from agents.egress import DestinationRefused, current_policy
from agents.egress import http as egress
from agents.egress.http import retry_after
from agents.llm.providers.base import ProviderError, ProviderRateLimited, ProviderUnavailable

__all__ = ["post_json", "retry_after"]

MAX_ANSWER = 16 * 1024 * 1024  # bytes of a provider's answer read


def _backoff(attempt: int) -> float:
    return min(2.0, 0.25 * 2.0**attempt) * random.uniform(0.5, 1.0)


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
    # Base URLs are operator configuration (settings), never tenant input:
    # their origin is trusted; anything else still obeys the egress policy.
    policy = current_policy(trusted=[url])
    content = json.dumps(body).encode()
    attempt = 0
    while True:
        try:
            response = egress.send(
                "POST",
                url,
                policy=policy,
                content=content,
                headers={"Content-Type": "application/json", **headers},
                timeout=read_timeout,
                connect_timeout=connect_timeout,
                max_body=MAX_ANSWER,
            )
        except DestinationRefused as exc:
            raise ProviderError(f"refused by the egress policy: {exc.reason}") from None
        except AgentError as exc:
            error: ProviderError = ProviderUnavailable(f"connection failed: {exc}")
            wait = _backoff(attempt)
        else:
            status = response.status
            if 200 <= status < 300:
                try:
                    data = json.loads(response.body)
                except ValueError:
                    raise ProviderUnavailable("the answer was not JSON", status=status) from None
                if not isinstance(data, dict):
                    raise ProviderUnavailable("the answer was not a JSON object", status=status)
                return data
            after = retry_after(response.headers)
            detail = response.snippet(300)
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
