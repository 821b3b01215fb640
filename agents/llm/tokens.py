"""Token estimates, deterministic: for the local provider's accounting, for
reserving tokens per minute before a call, and for providers that report no
usage. About four characters per token for English text (OpenAI's rule of
thumb); a few tokens of overhead per chat message."""

from __future__ import annotations

import math

MESSAGE_OVERHEAD = 4


def estimate(text: str) -> int:
    return max(1, math.ceil(len(text) / 4)) if text else 0


def estimate_messages(system: str, messages: list[dict[str, str]]) -> int:
    total = estimate(system) + (MESSAGE_OVERHEAD if system else 0)
    for message in messages:
        total += estimate(message.get("content", "")) + MESSAGE_OVERHEAD
    return total
