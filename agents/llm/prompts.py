"""Prompt templates: agents/llm/prompts/<task>.txt.

A template is the system prompt, a line `---`, then the user prompt, with
`$name` placeholders (string.Template). Values that are not strings are
rendered as JSON. A missing value is an error, not an empty hole.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from string import Template
from typing import Any

PROMPTS = Path(__file__).resolve().parent / "prompts"


@cache
def _load(task: str) -> tuple[Template, Template]:
    path = PROMPTS / f"{task}.txt"
    system, sep, user = path.read_text().partition("\n---\n")
    if not sep:
        raise ValueError(f"{path.name}: no '---' line between the system and the user prompt")
    return Template(system.strip()), Template(user.strip())


def render(task: str, values: dict[str, Any]) -> tuple[str, str]:
    """(system, user) for `task`, filled with `values`."""
    strings = {
        k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str) for k, v in values.items()
    }
    system, user = _load(task)
    try:
        return system.substitute(strings), user.substitute(strings)
    except KeyError as exc:
        raise ValueError(f"prompt {task!r} needs a value for {exc.args[0]!r}") from None


def tasks() -> list[str]:
    return sorted(p.stem for p in PROMPTS.glob("*.txt"))
