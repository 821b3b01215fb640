"""Encryption at rest for secrets in the database (session state, tokens).

Fernet (AES-128-CBC + HMAC-SHA256) from `cryptography`, with MultiFernet so
keys can rotate: REACHLY_ENCRYPTION_KEY holds comma-separated keys, the first
encrypts, all decrypt. Outside production, a key derived from SECRET_KEY is
used when none is set, so a laptop needs no configuration.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

__all__ = ["InvalidToken", "decrypt", "encrypt"]


@cache
def _fernet() -> MultiFernet:
    raw = settings.REACHLY_ENCRYPTION_KEY
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    if not keys:
        digest = hashlib.sha256(("reachly-dev-encryption:" + settings.SECRET_KEY).encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    return MultiFernet([Fernet(k) for k in keys])


def encrypt(data: bytes) -> bytes:
    return _fernet().encrypt(data)


def decrypt(token: bytes) -> bytes:
    return _fernet().decrypt(bytes(token))
