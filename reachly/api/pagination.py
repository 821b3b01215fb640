"""Cursor pagination: stable under inserts, cheap at any depth.

Lists answer `{"next": url|null, "previous": url|null, "results": [...]}`;
follow `next`. `page_size` up to 1000. A cursor that was not made by us
answers 400 naming `cursor`.
"""

from __future__ import annotations

from base64 import b64decode
from urllib import parse

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import Cursor as _Cursor
from rest_framework.pagination import CursorPagination

MAX_ID = 2**63 - 1


class Newest(CursorPagination):
    ordering = "-id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_page_size(self, request):
        """`page_size` from the query, 1 to max_page_size; anything else is a
        400 naming it (DRF would fall back to the default without a word)."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= self.max_page_size):
            raise ValidationError(
                {self.page_size_query_param: [f"must be an integer from 1 to {self.max_page_size}, not {raw[:20]!r}"]}
            )
        return int(raw)

    def decode_cursor(self, request):
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        try:
            querystring = b64decode(encoded.encode("ascii")).decode("ascii")
            tokens = parse.parse_qs(querystring, keep_blank_values=True)
            offset = int(tokens.get("o", ["0"])[0])
            reverse = bool(int(tokens.get("r", ["0"])[0]))
            position = tokens.get("p", [None])[0]
            # Every ordering here is an integer column: anything else is forged.
            if position is not None and not (position.isdigit() and int(position) <= MAX_ID):
                raise ValueError(position)
            if not 0 <= offset <= self.offset_cutoff:
                raise ValueError(offset)
        except (TypeError, ValueError, UnicodeError):
            raise ValidationError(
                {self.cursor_query_param: ["invalid cursor: use the next or previous link"]}
            ) from None
        return _Cursor(offset=offset, reverse=reverse, position=position)  # type: ignore[arg-type]  # a str, as in DRF


class Oldest(Newest):
    ordering = "id"


class BySeq(Newest):
    ordering = "seq"


Cursor = Newest
