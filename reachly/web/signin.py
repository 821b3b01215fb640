"""Failed sign-ins are limited, per user name and per address.

Counted by the control plane's global limiter (a sliding window in Redis),
so the limit holds across every web process. Only failures count: a user
who types the password right is never slowed down by others' guesses at a
different name. If Redis is down, sign-in works unthrottled (logged): the
limit must not lock everyone out.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from reachly.orchestration import limiter

log = logging.getLogger(__name__)


def _limits(username: str, address: str) -> list[limiter.Limit]:
    return [
        limiter.window_from_rate(
            f"login:user:{username.strip().lower()[:150]}", settings.REACHLY_LOGIN_FAILURES_PER_USER
        ),
        limiter.window_from_rate(f"login:addr:{address}", settings.REACHLY_LOGIN_FAILURES_PER_ADDRESS),
    ]


def retry_after(username: str, address: str) -> float | None:
    """Seconds until this user name may try again from this address, or
    None when it may try now."""
    try:
        decision = limiter.acquire(_limits(username, address), peek=True)
    except Exception:
        log.warning("sign-in throttle unavailable; attempt allowed", exc_info=True)
        return None
    return None if decision.allowed else max(decision.retry_after, 1.0)


def record_failure(username: str, address: str) -> None:
    try:
        limiter.acquire(_limits(username, address))
    except Exception:
        log.warning("sign-in throttle unavailable; failure not counted", exc_info=True)


class ThrottledSignIn(AuthenticationForm):
    """For Django's sign-in forms: refuse to check a password after too many
    failures for the user name or the address, and count each failure.
    Listed before the form it throttles (AdminAuthenticationForm is an
    AuthenticationForm too, so the order of `clean` stays the same)."""

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        address = (self.request.META.get("REMOTE_ADDR") if self.request else "") or "?"
        wait = retry_after(username, address)
        if wait is not None:
            minutes = max(1, math.ceil(wait / 60))
            raise ValidationError(
                f"Too many failed sign-ins. Try again in {minutes} minute{'s' if minutes > 1 else ''}.",
                code="throttled",
            )
        try:
            return super().clean()
        except ValidationError as error:
            if error.code == "invalid_login":  # a wrong password, not an inactive account
                record_failure(username, address)
            raise


class SignInForm(ThrottledSignIn, AuthenticationForm):
    """The web UI's sign-in."""


class AdminSignInForm(ThrottledSignIn, AdminAuthenticationForm):
    """The admin's sign-in (staff only, as Django's)."""
