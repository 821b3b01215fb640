"""Key rotation: old ciphertexts are re-encrypted with the new key, so the
old key can then be dropped (issue 10: the docs promised rotation, but
nothing ever re-encrypted)."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import CommandError, call_command
from django.db import connection

from reachly.campaigns.models import SenderAccount
from reachly.core import crypto
from tests.factories import SenderAccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def keys(settings):
    def use(value: str) -> None:
        settings.REACHLY_ENCRYPTION_KEY = value
        crypto._fernet.cache_clear()

    yield use
    crypto._fernet.cache_clear()


def _raw(account_id: int) -> bytes:
    with connection.cursor() as cursor:
        cursor.execute("SELECT session_state FROM campaigns_senderaccount WHERE id = %s", [account_id])
        return bytes(cursor.fetchone()[0])


def test_rotation_re_encrypts_every_secret_with_the_new_key(keys, capsys):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    keys(old)
    account = SenderAccountFactory(password="pw")
    SenderAccount.objects.filter(pk=account.pk).update(session_state={"cookies": [{"name": "a", "value": "b"}]})

    keys(f"{new},{old}")
    call_command("rotate_encryption")
    assert "campaigns.SenderAccount: re-encrypted 1 rows" in capsys.readouterr().out
    Fernet(new.encode()).decrypt(_raw(account.pk))  # the new key alone reads it now
    with pytest.raises(InvalidToken):
        Fernet(old.encode()).decrypt(_raw(account.pk))

    keys(new)  # the old key is gone, and nothing needed it
    account = SenderAccount.objects.get(pk=account.pk)
    assert account.password == "pw"
    assert account.session_state == {"cookies": [{"name": "a", "value": "b"}]}


def test_a_value_no_key_decrypts_is_reported_not_lost(keys):
    keys(Fernet.generate_key().decode())
    account = SenderAccountFactory(password="pw")
    keys(Fernet.generate_key().decode())  # the only key that could read it is gone
    with pytest.raises(CommandError, match=f"campaigns.SenderAccount#{account.pk}"):
        call_command("rotate_encryption")
