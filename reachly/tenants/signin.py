"""Failed sign-ins are limited so that guessing is slow and nobody can lock
a user out.

* Per user name *and* address (`REACHLY_LOGIN_FAILURES_PER_USER_ADDRESS`,
  10/hour): that address may not try that name again for a while.
* Per address (`REACHLY_LOGIN_FAILURES_PER_ADDRESS`, 50/hour), across names.
* Per user name from everywhere (`REACHLY_LOGIN_FAILURES_PER_USER`,
  100/hour): past it the name is not locked (anyone could lock anyone out
  by failing on purpose) but slowed: one password check per
  `REACHLY_LOGIN_SLOW_SECONDS` for that name, so a distributed guesser gets
  a few hundred tries an hour while the user, with the right password,
  gets in after at most that wait.

The address is REMOTE_ADDR as uvicorn sets it: from X-Forwarded-For only
for the proxies named in FORWARDED_ALLOW_IPS (the ingress), never any
client's say-so. Counted by the control plane's global limiter (sliding
windows in Redis), so the limits hold across every web process. Only
failures count. If Redis is down, sign-in works unthrottled (logged): the
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

from reachly import limiter

log = logging.getLogger(__name__)


def _name(username: str) -> str:
    return username.strip().lower()[:150]


def _refusing(username: str, address: str) -> list[limiter.Limit]:
    return [
        limiter.window_from_rate(
            f"login:pair:{_name(username)}:{address}", settings.REACHLY_LOGIN_FAILURES_PER_USER_ADDRESS
        ),
        limiter.window_from_rate(f"login:addr:{address}", settings.REACHLY_LOGIN_FAILURES_PER_ADDRESS),
    ]


def _per_user(username: str) -> limiter.Limit:
    return limiter.window_from_rate(f"login:user:{_name(username)}", settings.REACHLY_LOGIN_FAILURES_PER_USER)


def retry_after(username: str, address: str) -> float | None:
    """Seconds until this user name may try again from this address, or
    None when it may try now (a slowed name takes its one check per
    REACHLY_LOGIN_SLOW_SECONDS here)."""
    try:
        decision = limiter.acquire(_refusing(username, address), peek=True)
        if not decision.allowed:
            return max(decision.retry_after, 1.0)
        if limiter.acquire([_per_user(username)], peek=True).allowed:
            return None
        slow_ms = int(settings.REACHLY_LOGIN_SLOW_SECONDS * 1000)
        decision = limiter.acquire([limiter.Limit(f"login:slow:{_name(username)}", "window", 1, slow_ms)])
    except Exception:
        log.warning("sign-in throttle unavailable; attempt allowed", exc_info=True)
        return None
    return None if decision.allowed else max(decision.retry_after, 1.0)


def record_failure(username: str, address: str) -> None:
    try:
        # Separately: a full per-user window must not stop the per-address count.
        limiter.acquire(_refusing(username, address))
        limiter.acquire([_per_user(username)])
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
            if wait < 60:
                seconds = math.ceil(wait)
                when = f"{seconds} second{'s' if seconds > 1 else ''}"
            else:
                minutes = math.ceil(wait / 60)
                when = f"{minutes} minute{'s' if minutes > 1 else ''}"
            raise ValidationError(f"Too many failed sign-ins. Try again in {when}.", code="throttled")
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
