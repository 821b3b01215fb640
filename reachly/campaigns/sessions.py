"""What a sender account's stored browser session and network must look like.

Checked by the sender-account service for every door (API, web, admin), so
a session that is not a Playwright storage state, or a network without a
site module, is refused when it is given, naming the field, instead of
failing the account's first step at run time.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError

from agents.browser import sites


def validate_storage_state(value: Any) -> dict[str, Any]:
    """A Playwright storage_state: {"cookies": [...], "origins": [...]}."""
    if not isinstance(value, dict):
        raise ValidationError('Expected a JSON object like {"cookies": [...], "origins": [...]}.')
    unknown = set(value) - {"cookies", "origins"}
    if unknown:
        raise ValidationError(f"Unexpected key “{sorted(unknown)[0]}”: a storage state has cookies and origins.")
    cookies = value.get("cookies", [])
    if not isinstance(cookies, list):
        raise ValidationError("“cookies” must be a list.")
    for i, cookie in enumerate(cookies):
        if not isinstance(cookie, dict) or not isinstance(cookie.get("name"), str) or "value" not in cookie:
            raise ValidationError(f"cookies[{i}] must be an object with a name and a value.")
        if not (cookie.get("domain") or cookie.get("url")):
            raise ValidationError(f"cookies[{i}] needs a domain (or a url).")
    origins = value.get("origins", [])
    if not isinstance(origins, list) or not all(isinstance(o, dict) and "origin" in o for o in origins):
        raise ValidationError("“origins” must be a list of objects with an origin.")
    if not cookies and not origins:
        raise ValidationError("The storage state is empty: sign in first, then export it.")
    if "\\u0000" in json.dumps(value):
        raise ValidationError("must not contain NUL characters")
    return {"cookies": cookies, "origins": origins}


def check_network(network: str) -> str:
    """`network` if a site module drives it (agents/browser/sites), else
    ValidationError listing the networks there are."""
    try:
        sites.for_network(network)
    except KeyError:
        raise ValidationError(f"unknown network {network!r}; one of: {', '.join(sites.networks())}") from None
    return network
