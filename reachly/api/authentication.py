"""Who is calling: an API token (`Authorization: Token <key>`) or a session.

A token belongs to a tenant, not to a user: its requests run as a
TokenUser, and `request.auth` is the ApiToken. Session requests (the web
UI) run as the signed-in user, with DRF's CSRF check.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from reachly.tenants.models import ApiToken
from reachly.tenants.services import api_token_authenticate

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


class TokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != KEYWORD.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid Authorization header: use `Token <key>`."))
        try:
            key = header[1].decode("ascii")
        except UnicodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        token = api_token_authenticate(key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked token."))
        return TokenUser(token), token

    def authenticate_header(self, request) -> str:
        return KEYWORD


class SessionAuthentication(authentication.SessionAuthentication):
    """Django's session, CSRF enforced (the web UI's own requests)."""
