"""Structured logging: JSON in production, readable lines in development.

Every line carries the context it was written in: `request_id`/`trace_id`
(from the HTTP request, carried to Celery tasks in their headers by
django-structlog) and, inside a step, `tenant_id`, `campaign_id`, `job_id`,
`step_id` and `agent` (bound from the task's kwargs, see celery_hooks.py).
Lines written by plain `logging` loggers (Django, Celery, our modules) get the
same context and the same rendering as structlog's.

Secrets never reach the output: `redact` replaces the values of sensitive
keys (password, session_state, secret, token, authorization, cookie, ...) at
any depth, and scrubs such values out of free text (dict reprs, headers,
URLs with credentials, Reachly API keys) — including tracebacks.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

import structlog

REDACTED = "[redacted]"

# The context every JSON line has (null when it does not apply).
CONTEXT_FIELDS = ("request_id", "trace_id", "tenant_id", "campaign_id", "job_id", "step_id", "agent")

# A key is sensitive when its last word is one of these (after lowercasing
# and turning "-" into "_"): "password", "new_password", "HTTP_AUTHORIZATION",
# "session_state", "client_secret", "access_token", "Set-Cookie". Counts such
# as "prompt_tokens" are not secrets and do not match.
_SENSITIVE_KEY = re.compile(
    r"(?:^|_)(?:password|passwd|pwd|secret|token|session_state|session|sessionid|authorization|auth|cookie|cookies"
    r"|api_key|apikey|private_key|credential|credentials|dsn|key_hash)$"
)
_KEYWORDS = (
    r"password|passwd|secret|token|session_state|sessionid|authorization|cookie|set-cookie|api_key|apikey"
    r"|private_key|credentials|access_token|refresh_token|client_secret|ticket"
)
# `'password': 'x'`, `"token": "x"`, `password=x`, `Authorization: Token x`, `session_state={...}`
_KEY_VALUE = re.compile(rf"""(?P<key>["']?(?:\w*_)?(?:{_KEYWORDS})["']?)(?P<sep>\s*[:=]\s*)""", re.IGNORECASE)
_URL_CREDENTIALS = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<secret>[^@\s/]+)(?P<tail>@)", re.I)
_API_KEY = re.compile(r"\brly_(?P<prefix>[0-9a-f]{8})_[A-Za-z0-9_\-]{16,}")
_BARE_VALUE = re.compile(r"(?:(?:Token|Bearer|Basic)\s+)?[^\s,;&}\]\)\"']+", re.I)
_CLOSERS = {"{": "}", "[": "]", "(": ")"}


def _is_sensitive(key: object) -> bool:
    return isinstance(key, str) and bool(_SENSITIVE_KEY.search(key.lower().replace("-", "_")))


def _value_end(text: str, start: int) -> int:
    """Where the value starting at `start` ends: a quoted string, a bracketed
    structure (balanced), or a bare word up to a delimiter. A header value
    ("Token abc", "Bearer abc") runs to the end of the line or quote."""
    if start >= len(text):
        return start
    first = text[start]
    if first in "\"'":
        end = text.find(first, start + 1)
        return len(text) if end < 0 else end + 1
    if first in _CLOSERS:
        depth, i = 0, start
        while i < len(text):
            c = text[i]
            if c in _CLOSERS:
                depth += 1
            elif c in _CLOSERS.values():
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        return len(text)
    m = _BARE_VALUE.match(text, start)
    return m.end() if m else start


def redact_text(text: str) -> str:
    """Scrub secret values out of free text; the keys stay, so the line still
    says what was there."""
    if not text:
        return text
    text = _API_KEY.sub(lambda m: f"rly_{m['prefix']}_{REDACTED}", text)
    text = _URL_CREDENTIALS.sub(lambda m: f"{m['head']}{REDACTED}{m['tail']}", text)
    out, pos = [], 0
    for m in _KEY_VALUE.finditer(text):
        if m.start() < pos:
            continue
        value_start = m.end()
        value_end = _value_end(text, value_start)
        if value_end == value_start or text[value_start:value_end] in ("None", "null", "''", '""'):
            continue
        out.append(text[pos:value_start])
        out.append(REDACTED)
        pos = value_end
    out.append(text[pos:])
    return "".join(out)


def redact_value(value: Any, depth: int = 0) -> Any:
    """Redact a structure: sensitive keys' values, secrets in strings. Gives
    up below `depth` 8 (start lower to go deeper)."""
    if depth > 8:
        return value
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {
            k: (REDACTED if _is_sensitive(k) and _is_secretish(v) else redact_value(v, depth + 1))
            for k, v in value.items()
        }
    if type(value) in (list, tuple):  # exact types: a namedtuple cannot be rebuilt from one iterable
        return type(value)(redact_value(v, depth + 1) for v in value)
    if value is None or isinstance(value, bool | int | float):
        return value
    # Anything else is rendered with str() by the renderers (Django puts the
    # request object itself on django.request records: its repr holds the
    # full URL, query string and all), so scrub that text here, once.
    # Objects without a secret in their text are left as they are.
    try:
        text = str(value)
    except Exception:  # noqa: BLE001 - a broken __str__ must not lose the line
        return f"<unprintable {type(value).__name__}>"
    scrubbed = redact_text(text)
    return value if scrubbed == text else scrubbed


def _is_secretish(value: Any) -> bool:
    # A fencing token (an int) or a flag is not a secret; strings, bytes and
    # structures under a sensitive key are.
    return value is not None and not isinstance(value, bool | int | float)


def redact(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: the last one before rendering."""
    return redact_value(event_dict)


def add_context_fields(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """A stable JSON schema: the context fields are on every line."""
    for name in CONTEXT_FIELDS:
        event_dict.setdefault(name, None)
    return event_dict


def drop_empty_context(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Console lines stay short: no `job_id=None`."""
    for name in CONTEXT_FIELDS:
        if event_dict.get(name) is None:
            event_dict.pop(name, None)
    return event_dict


def _shared_processors() -> list:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def logging_config(*, json: bool, level: str) -> dict[str, Any]:
    """The LOGGING dict for settings.py; also configures structlog itself."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    json_chain = [
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
        add_context_fields,
        structlog.processors.format_exc_info,
        redact,
        structlog.processors.JSONRenderer(default=str),
    ]
    console_chain = [
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
        drop_empty_context,
        structlog.processors.format_exc_info,
        redact,
        structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback),
    ]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": json_chain,
                "foreign_pre_chain": _shared_processors(),
            },
            "console": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": console_chain,
                "foreign_pre_chain": _shared_processors(),
            },
        },
        "handlers": {"default": {"class": "logging.StreamHandler", "formatter": "json" if json else "console"}},
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "INFO"},
            # One line per request comes from django_structlog; Django's own
            # access-style lines would repeat it.
            "django.server": {"level": "WARNING"},
            "uvicorn.access": {"level": "WARNING"},
        },
    }


def level(name: str) -> int:
    """A level name as a number: "INFO" -> 20 (some libraries want numbers)."""
    value = logging.getLevelName(name.upper())
    if not isinstance(value, int):
        raise ValueError(f"unknown log level {name!r}")
    return value


def bind(**fields: Any) -> None:
    """Add fields to every following line of this request or task (e.g. the
    API binds `tenant_id` once it knows the token's tenant)."""
    structlog.contextvars.bind_contextvars(**fields)


def connect_request_signals() -> None:
    """`trace_id` of an HTTP request = its request id; it travels with the
    request id into every task the request publishes."""
    from django_structlog import signals

    signals.bind_extra_request_metadata.connect(_bind_trace_id, dispatch_uid="reachly-trace-id")


def _bind_trace_id(request, logger, log_kwargs=None, **_kwargs) -> None:
    context = structlog.contextvars.get_contextvars()
    structlog.contextvars.bind_contextvars(trace_id=context.get("trace_id") or context.get("request_id"))


get_logger = structlog.get_logger
__all__ = ["REDACTED", "bind", "get_logger", "logging_config", "redact_text", "redact_value"]
