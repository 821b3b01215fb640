"""Model fields shared by the domain apps."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django import forms
from django.db import models

from reachly.core import crypto

# django-stubs makes fields generic in (value set, value read); Django's
# classes cannot be subscripted at run time (no django_stubs_ext there).
if TYPE_CHECKING:
    from django.db.models.expressions import Combinable

    _BinaryField = models.BinaryField[Any, Any]  # any JSON value in and out
    _URLField = models.URLField[str | Combinable, str]
else:
    _BinaryField = models.BinaryField
    _URLField = models.URLField


class EncryptedJSONField(_BinaryField):
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


class URLField(_URLField):
    """A URL field whose forms assume https:// for a URL typed without a
    scheme (Django 6's default; silences its deprecation warning now)."""

    def formfield(
        self,
        form_class: type[forms.Field] | None = None,
        choices_form_class: type[forms.ChoiceField] | None = None,
        **kwargs: Any,
    ) -> forms.Field | None:
        # Passed on only when given: models.URLField's own default form class stays.
        if form_class is not None:
            kwargs["form_class"] = form_class
        if choices_form_class is not None:
            kwargs["choices_form_class"] = choices_form_class
        kwargs.setdefault("assume_scheme", "https")
        return super().formfield(**kwargs)
