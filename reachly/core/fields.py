"""Model fields shared by the domain apps."""

from __future__ import annotations

import json
from typing import Any

from django.db import models

from reachly.core import crypto


class EncryptedJSONField(models.BinaryField):
    """A JSON value stored Fernet-encrypted (see reachly.core.crypto).

    Never shown in forms or the admin (editable=False); read it through the
    model, write it with a plain Python value.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("editable", False)
        kwargs.setdefault("null", True)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        return json.loads(crypto.decrypt(bytes(value)))

    def to_python(self, value: Any) -> Any:
        return value

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if value is None:
            return None
        token = crypto.encrypt(json.dumps(value, separators=(",", ":")).encode())
        return super().get_db_prep_value(token, connection, prepared)


class URLField(models.URLField):
    """A URL field whose forms assume https:// for a URL typed without a
    scheme (Django 6's default; silences its deprecation warning now)."""

    def formfield(self, **kwargs: Any) -> Any:
        kwargs.setdefault("assume_scheme", "https")
        return super().formfield(**kwargs)
