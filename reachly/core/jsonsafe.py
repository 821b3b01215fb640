"""JSON from outside, read so that what is accepted can also be stored.

Python's `json` accepts documents that PostgreSQL, UTF-8 or the recursion
limit refuse later, as a 500: lone UTF-16 surrogates (`"\\ud800"`: no UTF-8
encoding, `jsonb` refuses them), `NaN`/`Infinity` and numbers beyond a
double (`1e400` becomes `inf`: not JSON, `jsonb` refuses it), nesting deep
enough to exhaust the stack, integers of more than 4,300 digits. `loads`
refuses them up front, naming where (a JSON path such as `settings.a[3]`).
Every door that parses JSON (the API's parser, WebSocket frames, form
fields holding JSON) calls it.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 64  # nesting levels; deeper documents are refused


class JSONInputError(ValueError):
    """The input cannot be accepted. `path` names where ("" for the whole
    document; `a.b[2]` inside it); `message` says why, for the client."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


def _refuse_constant(name: str) -> Any:
    raise JSONInputError("", f"{name} is not a JSON number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONInputError("", f"the number {text[:40]} is out of range")
    return value


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _check_text(text: str, path: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise JSONInputError(path, "contains an unpaired UTF-16 surrogate (not valid Unicode text)") from None


def check(value: Any, path: str = "", depth: int = 0) -> None:
    """Raise JSONInputError if `value` (already parsed) cannot be stored as JSON text."""
    if depth > MAX_DEPTH:
        raise JSONInputError(path, f"nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, str):
        _check_text(value, path)
    elif isinstance(value, float) and not math.isfinite(value):
        raise JSONInputError(path, "is not a finite number")
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                _check_text(key, _join(path, "<key>"))
            check(item, _join(path, str(key)), depth + 1)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            check(item, _join(path, i), depth + 1)


def loads(text: str | bytes) -> Any:
    """Parse a JSON document, refusing what could not be stored (see the module).

    Raises JSONInputError (a ValueError) with a path and a reason.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JSONInputError("", f"not UTF-8 text (byte {exc.start})") from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_float)
    except JSONInputError:
        raise
    except RecursionError:
        raise JSONInputError("", f"nested more than {MAX_DEPTH} levels deep") from None
    except json.JSONDecodeError as exc:
        raise JSONInputError("", f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise JSONInputError("", f"not acceptable JSON: {exc}") from None
    check(value)
    return value
