"""What a call costs: USD per million tokens, input and output, per model.

List prices of the providers' public price pages (2025). A dated or tagged
model name is priced by its longest known prefix ("gpt-4o-mini-2024-07-18"
as "gpt-4o-mini"). Models not in the table cost nothing: self-hosted
OpenAI-compatible servers (Ollama, vLLM) and the local provider. Operators
add or correct prices with REACHLY_LLM_PRICES.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

MILLION = Decimal(1_000_000)
QUANTUM = Decimal("0.000001")

PRICES: dict[str, tuple[str, str]] = {
    "gpt-4o-mini": ("0.15", "0.60"),
    "gpt-4o": ("2.50", "10.00"),
    "gpt-4.1-nano": ("0.10", "0.40"),
    "gpt-4.1-mini": ("0.40", "1.60"),
    "gpt-4.1": ("2.00", "8.00"),
    "gpt-3.5-turbo": ("0.50", "1.50"),
    "o3-mini": ("1.10", "4.40"),
    "o4-mini": ("1.10", "4.40"),
    "claude-3-haiku": ("0.25", "1.25"),
    "claude-3-5-haiku": ("0.80", "4.00"),
    "claude-3-5-sonnet": ("3.00", "15.00"),
    "claude-3-7-sonnet": ("3.00", "15.00"),
    "claude-sonnet-4": ("3.00", "15.00"),
    "claude-opus-4": ("15.00", "75.00"),
    "local-template": ("0", "0"),
}


def price(model: str, overrides: dict[str, Any] | None = None) -> tuple[Decimal, Decimal]:
    """(input, output) USD per million tokens for `model`."""
    table: dict[str, Any] = {**PRICES, **(overrides or {})}
    if model in table:
        found = table[model]
    else:
        prefixes = [k for k in table if model.startswith(k)]
        if not prefixes:
            return Decimal(0), Decimal(0)
        found = table[max(prefixes, key=len)]
    return Decimal(str(found[0])), Decimal(str(found[1]))


def cost(model: str, prompt_tokens: int, completion_tokens: int, overrides: dict[str, Any] | None = None) -> Decimal:
    per_input, per_output = price(model, overrides)
    total = (per_input * prompt_tokens + per_output * completion_tokens) / MILLION
    return total.quantize(QUANTUM, rounding=ROUND_HALF_UP)
