"""The `notification` agent: e-mail through Django's mail backend.

Input:

    to        an address or a list of addresses (at most MAX_RECIPIENTS)
    subject   one line
    body      plain text
    html      optional HTML alternative

The console backend prints mail in dev and test; production configures
EMAIL_BACKEND / SMTP settings. One send per step, under the global limit for
the "email" action and through the effect ledger, so a retried step does
not mail twice once the backend accepted the message.
"""

from __future__ import annotations

import hashlib
from typing import Any

from agents.base import AgentError, PermanentError
from agents.ports import StepContext

MAX_RECIPIENTS = 50


def _addresses(raw: Any) -> list[str]:
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not items or not all(isinstance(a, str) for a in items):
        raise PermanentError("input.to: an e-mail address or a list of them is required")
    if len(items) > MAX_RECIPIENTS:
        raise PermanentError(f"input.to: at most {MAX_RECIPIENTS} recipients")
    for address in items:
        try:
            validate_email(address)
        except ValidationError:
            raise PermanentError(f"input.to: not a valid e-mail address: {address!r}") from None
    return items


class Notification:
    def run(self, ctx: StepContext) -> dict[str, Any]:
        spec = ctx.input
        to = _addresses(spec.get("to"))
        subject = spec.get("subject")
        body = spec.get("body", "")
        html = spec.get("html")
        if not isinstance(subject, str) or not subject.strip() or "\n" in subject or "\r" in subject:
            raise PermanentError("input.subject: one line of text is required")
        if not isinstance(body, str) or (html is not None and not isinstance(html, str)):
            raise PermanentError("input.body and input.html must be text")

        ctx.safe_point()
        ctx.acquire("email")
        digest = hashlib.sha256("\0".join([*to, subject, body, html or ""]).encode()).hexdigest()[:16]
        return ctx.effect(f"mail:{digest}", lambda: self._send(to, subject.strip(), body, html))

    def _send(self, to: list[str], subject: str, body: str, html: str | None) -> dict[str, Any]:
        from django.conf import settings
        from django.core.mail import EmailMultiAlternatives

        message = EmailMultiAlternatives(subject, body, settings.DEFAULT_FROM_EMAIL, to)
        if html:
            message.attach_alternative(html, "text/html")
        try:
            sent = message.send()
        except OSError as exc:  # SMTP down, refused: worth another try
            raise AgentError(f"the mail server refused or is unreachable: {exc}") from None
        return {"sent": sent, "to": to, "subject": subject}
