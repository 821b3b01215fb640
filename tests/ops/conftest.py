"""Personas of the operator side: Alice is an operator (staff, superuser);
Charlie is a signed-in user who is not staff and must see nothing of the admin."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import UserFactory

PASSWORD = "correct horse battery"


def _user(**fields):
    user = UserFactory(**fields)
    user.save()  # the factory sets the password without saving it
    return user


@pytest.fixture
def alice(db):
    return _user(username="alice", is_staff=True, is_superuser=True)


@pytest.fixture
def charlie(db):
    return _user(username="charlie", is_staff=False)


@pytest.fixture
def alice_client(alice) -> Client:
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def charlie_client(charlie) -> Client:
    client = Client()
    client.force_login(charlie)
    return client
