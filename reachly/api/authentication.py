"""Who is calling: an API token (`Authorization: Token <key>`) or a session.

A token belongs to a tenant, not to a user: its requests run as a
TokenUser, and `request.auth` is the ApiToken. Session requests (the web
UI) run as the signed-in user, with DRF's CSRF check.

Invalid tokens are throttled per client address: each request whose token
is unknown, revoked or malformed counts one failure, and once an address
has REACHLY_API_INVALID_TOKEN_RATE failures (settings, "30/min") every
token request from it answers 429 (`throttled`, Retry-After) until the
window slides, before the key is looked up. Checked before the lookup, or
a guesser would still learn which key is right (200 among the 429s); a
valid token's own rate (PerTokenThrottle) is counted apart and never
spent by failures. The address is REMOTE_ADDR as uvicorn sets it (as for
failed sign-ins, reachly/tenants/signin.py). Counted by the global
limiter in Redis, so the limit holds across web processes; if Redis is
down, tokens are checked unthrottled (logged).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from reachly import limiter
from reachly.tenants.models import ApiToken
from reachly.tenants.services import api_token_authenticate

log = logging.getLogger(__name__)

KEYWORD = "Token"


class TokenUser:
    """The principal of a token request (not a row of auth.User)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, token: ApiToken):
        self.token = token

    @property
    def username(self) -> str:
        return f"token:{self.token.name}"

    def get_username(self) -> str:
        return self.username

    def __str__(self) -> str:
        return self.username


def _invalid_tokens(request) -> limiter.Limit | None:
    """The failure window of the request's address, or None when unlimited
    (REACHLY_API_INVALID_TOKEN_RATE empty)."""
    rate = settings.REACHLY_API_INVALID_TOKEN_RATE
    if not rate:
        return None
    address = request.META.get("REMOTE_ADDR") or "?"
    return limiter.window_from_rate(f"api:invalid-token:{address}", rate)


def _check_invalid_tokens(request) -> None:
    """Raise Throttled (with `wait`, seconds) when the address is past its
    invalid-token limit; a no-op when it is not, or Redis cannot say."""
    window = _invalid_tokens(request)
    if window is None:
        return
    try:
        decision = limiter.acquire([window], peek=True)
    except Exception:
        log.warning("invalid-token throttle unavailable; token checked", exc_info=True)
        return
    if not decision.allowed:
        raise exceptions.Throttled(wait=max(decision.retry_after, 1.0))


def _count_failure(request) -> None:
    """Count one invalid-token failure for the request's address."""
    window = _invalid_tokens(request)
    if window is not None:
        try:
            limiter.acquire([window])
        except Exception:
            log.warning("invalid-token throttle unavailable; failure not counted", exc_info=True)


class TokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        """`(TokenUser, ApiToken)` for `Authorization: Token <key>`, None
        without a Token header. Raises AuthenticationFailed (401) for a
        malformed header or an unknown/revoked key, Throttled (429) when
        the address is past REACHLY_API_INVALID_TOKEN_RATE failures."""
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != KEYWORD.lower().encode():
            return None
        _check_invalid_tokens(request)
        if len(header) != 2:
            _count_failure(request)
            raise exceptions.AuthenticationFailed(_("Invalid Authorization header: use `Token <key>`."))
        try:
            key = header[1].decode("ascii")
        except UnicodeError:
            _count_failure(request)
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        token = api_token_authenticate(key)
        if token is None:
            _count_failure(request)
            raise exceptions.AuthenticationFailed(_("Invalid or revoked token."))
        return TokenUser(token), token

    def authenticate_header(self, request) -> str:
        return KEYWORD


class SessionAuthentication(authentication.SessionAuthentication):
    """Django's session, CSRF enforced (the web UI's own requests)."""
