"""Sentry for web and worker processes (called from settings.py).

With SENTRY_DSN unset nothing is initialised and nothing is sent. PII is off
(no user e-mails, IPs, cookies or request bodies); the scrubber also removes
Reachly's own secret names (session_state, key_hash, ...) at any depth of an
event, including local variables of stack frames. Inside a step, events are
tagged with tenant, job, step and agent (celery_hooks.py).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast

from reachly.observability.logs import redact_value

if TYPE_CHECKING:
    from sentry_sdk.types import Event, Hint

# Names whose values never leave the process (matched case-insensitively,
# exactly, at any depth of the event).
EXTRA_DENYLIST = [
    "session_state",
    "new_password",
    "key_hash",
    "key",
    "http_authorization",
    "http_cookie",
    "access_token",
    "refresh_token",
    "client_secret",
    "encryption_key",
    "reachly_encryption_key",
    "secret_key",
]


def init(*, dsn: str, environment: str, release: str = "", traces_sample_rate: float = 0.0) -> bool:
    """Initialise the SDK; returns whether Sentry is on."""
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration
    from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        send_default_pii=False,
        traces_sample_rate=traces_sample_rate,
        integrations=[
            DjangoIntegration(),
            CeleryIntegration(monitor_beat_tasks=False),
            # Error logs become events (an agent bug is logged by the step
            # runner, which turns it into a failed attempt instead of raising).
            LoggingIntegration(level=logging.INFO, event_level=logging.ERROR),
        ],
        event_scrubber=EventScrubber(denylist=DEFAULT_DENYLIST + EXTRA_DENYLIST, recursive=True),
        before_send=_before_send,
    )
    return True


def _before_send(event: Event, hint: Hint) -> Event | None:
    """Free text gets the same scrubbing as log lines: exception messages,
    log messages, breadcrumbs, and the reprs of frames' local variables (a
    dataclass repr such as `Claimed(input={'password': ...})` is a string the
    key-based scrubber cannot see into)."""
    # An Event is a plain dict at run time; its parts are rewritten by name.
    parts = cast("dict[str, Any]", event)
    for part in ("exception", "threads", "logentry", "breadcrumbs", "extra", "message"):
        if part in parts:
            parts[part] = redact_value(parts[part], depth=-32)
    return event


def set_tags(**tags: Any) -> None:
    """Tag the current scope (no-op when Sentry is off)."""
    try:
        import sentry_sdk
    except ImportError:  # pragma: no cover - sentry-sdk is a runtime dependency
        return
    if not sentry_sdk.get_client().is_active():
        return
    for name, value in tags.items():
        if value is not None:
            sentry_sdk.set_tag(name, str(value))
