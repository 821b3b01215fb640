"""Personas for API tests (STYLE.md): Alice owns tenant "alice-co" and has a
token; Bob is on Alice's team as a viewer; Charlie has his own tenant and
"should have no access to Alice's stuff"."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from reachly.tenants.models import ApiToken, Membership, Tenant
from reachly.tenants.services import api_token_create, membership_add
from tests.factories import TenantFactory, UserFactory


@dataclass
class Persona:
    tenant: Tenant
    token: ApiToken
    key: str
    client: APIClient

    def url(self, path: str) -> str:
        return "/api/v1/" + path.lstrip("/")


def make_user(username: str, **fields):
    """A saved user (UserFactory skips the save after set_password, which
    leaves the stored hash stale and sessions of `force_login` invalid)."""
    user = UserFactory(username=username, **fields)
    user.save()
    return user


def _persona(slug: str, username: str) -> Persona:
    tenant = TenantFactory(slug=slug)
    user = make_user(username)
    membership_add(tenant=tenant, user=user, role=Membership.Role.OWNER)
    token, key = api_token_create(tenant=tenant, name=f"{username}'s token", created_by=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return Persona(tenant, token, key, client)


@pytest.fixture(autouse=True)
def _generous_throttle():
    """Tests that are not about throttling never hit it."""
    with override_settings(REACHLY_API_THROTTLE_RATE="100000/min", REACHLY_API_INVALID_TOKEN_RATE="100000/min"):
        yield


@pytest.fixture
def alice(plans) -> Persona:
    return _persona("alice-co", "alice")


@pytest.fixture
def charlie(plans) -> Persona:
    return _persona("charlie-co", "charlie")


@pytest.fixture
def bob(alice):
    """Alice's teammate with read-only access, signed in with a session."""
    user = make_user("bob")
    membership_add(tenant=alice.tenant, user=user, role=Membership.Role.VIEWER)
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def error(response) -> dict:
    """The error object of a response, checking the one error body shape."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    return body["error"]
