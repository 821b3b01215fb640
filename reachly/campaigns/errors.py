"""Errors of the campaign domain (and of the API-facing services built on it).

Services raise these; the API maps them to HTTP statuses in one place
(reachly.api.errors): Invalid → 400, Conflict → 409, TooLarge → 413.
Each names the field or row to fix.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details if details is not None else ({field: [message]} if field else {})


class Invalid(DomainError):
    """Bad input (400)."""


class TooManyRows(Invalid):
    code = "too_many_rows"


class Conflict(DomainError):
    """The request is valid but the object's state does not allow it (409)."""

    code = "conflict"


class TooLarge(DomainError):
    """The request body is over a size limit (413)."""

    code = "too_large"
