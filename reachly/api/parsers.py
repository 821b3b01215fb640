"""The API's JSON parser: DRF's, reading through reachly.core.jsonsafe, so a
body PostgreSQL could not store (lone surrogates, non-finite numbers, deep
nesting) answers 400 naming the field instead of a 500 later."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser

from reachly.core.jsonsafe import JSONInputError, loads


class SafeJSONParser(JSONParser):
    """`application/json` bodies; errors name the JSON path (`settings.a`)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            raise ParseError(f"the body is not {encoding} text") from None
        try:
            return loads(text)
        except JSONInputError as exc:
            if exc.path:
                raise ValidationError({exc.path: [exc.message]}) from None
            raise ParseError(f"JSON parse error: {exc.message}") from None
