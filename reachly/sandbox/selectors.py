"""Reads of the sandbox's record: what the network received, as plain data
(for tests, the demo and the benchmarks)."""

from __future__ import annotations

from typing import Any

from reachly.sandbox.models import Invitation, Login, Message


def invitations(*, sender: str | None = None) -> list[dict[str, Any]]:
    """Every invitation received (duplicates included), oldest first."""
    qs = Invitation.objects.select_related("sender", "recipient").order_by("id")
    if sender:
        qs = qs.filter(sender__handle=sender)
    return [
        {
            "sender": i.sender.handle,
            "recipient": i.recipient.handle,
            "note": i.note,
            "created_at": i.created_at,
            "accepted": i.accepted(),
            "duplicate": i.duplicate,
        }
        for i in qs
    ]


def messages(*, sender: str | None = None) -> list[dict[str, Any]]:
    qs = Message.objects.select_related("sender", "recipient").order_by("id")
    if sender:
        qs = qs.filter(sender__handle=sender)
    return [{"sender": m.sender.handle, "recipient": m.recipient.handle, "body": m.body} for m in qs]


def login_count(handle: str) -> int:
    return Login.objects.filter(member__handle=handle).count()
