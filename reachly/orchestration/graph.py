"""Step graphs: validation of what a client or the planner submits.

Errors name the offending element as `steps[i].field`, so an API client (or
the planner's retry loop) can tell exactly what to fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from typing import Any

from django.db.models import IntegerChoices

from agents import registry


class Priority(IntegerChoices):
    """The three priority levels of jobs and steps (lower runs first); the one
    definition the API, the web forms, the planner's schema and the
    database's check constraint use."""

    URGENT = 1, "urgent"
    NORMAL = 5, "normal"
    BATCH = 10, "batch"


PRIORITIES: tuple[int, ...] = tuple(Priority.values)
# The error for another value: "must be 1 (urgent), 5 (normal) or 10 (batch)".
_LEVELS = [f"{value} ({label})" for value, label in Priority.choices]
PRIORITY_ERROR = f"must be {', '.join(_LEVELS[:-1])} or {_LEVELS[-1]}"
KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")
MAX_STEPS = 100_000


class GraphError(ValueError):
    """An invalid step graph; `errors` maps `steps[i].field` to a message."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        first = next(iter(errors.items()))
        super().__init__(f"{first[0]}: {first[1]}" + (f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""))


@dataclass
class StepSpec:
    key: str
    agent: str
    input: dict[str, Any] = field(default_factory=dict)
    depends_on: list[str] = field(default_factory=list)
    priority: int | None = None
    sender_account_id: int | None = None
    max_attempts: int | None = None


def validate(steps: list[StepSpec]) -> list[StepSpec]:
    """Check keys, agents, priorities and dependencies; reject cycles.

    Returns the steps in a topological order (dependencies first).
    """
    errors: dict[str, str] = {}
    if not steps:
        raise GraphError({"steps": "a job needs at least one step"})
    if len(steps) > MAX_STEPS:
        raise GraphError({"steps": f"at most {MAX_STEPS} steps per job, got {len(steps)}"})

    index: dict[str, int] = {}
    for i, step in enumerate(steps):
        where = f"steps[{i}]"
        if not isinstance(step.key, str) or not KEY_RE.match(step.key):
            errors[f"{where}.key"] = "1-100 characters: letters, digits, _ . : - (not first)"
        elif step.key in index:
            errors[f"{where}.key"] = f"duplicate key {step.key!r} (also steps[{index[step.key]}])"
        else:
            index[step.key] = i
        if step.agent not in registry.AGENTS:
            errors[f"{where}.agent"] = f"unknown agent {step.agent!r}; one of: {', '.join(registry.roles())}"
        if step.priority is not None and step.priority not in PRIORITIES:
            errors[f"{where}.priority"] = PRIORITY_ERROR
        if not isinstance(step.input, dict):
            errors[f"{where}.input"] = "must be an object"
        if step.max_attempts is not None and not 1 <= step.max_attempts <= 100:
            errors[f"{where}.max_attempts"] = "must be between 1 and 100"

    for i, step in enumerate(steps):
        for dep in step.depends_on:
            if dep not in index:
                errors[f"steps[{i}].depends_on"] = f"unknown step key {dep!r}"
            elif dep == step.key:
                errors[f"steps[{i}].depends_on"] = "a step cannot depend on itself"
    if errors:
        raise GraphError(errors)

    # The standard library's topological sort (graphlib, Kahn's algorithm);
    # its CycleError names the steps of one cycle, which the error repeats.
    sorter = TopologicalSorter({s.key: set(s.depends_on) for s in steps})
    try:
        order = list(sorter.static_order())
    except CycleError as exc:
        cycle = list(dict.fromkeys(exc.args[1]))
        first = min(cycle, key=lambda k: index[k])
        path = " -> ".join([*cycle, cycle[0]][:11])
        message = f"dependency cycle: {path} (each depends on the one before)"
        raise GraphError({f"steps[{index[first]}].depends_on": message}) from None
    by_key = {s.key: s for s in steps}
    return [by_key[k] for k in order]


def _clashes(steps: list[StepSpec], existing_keys: set[str]) -> dict[str, str]:
    return {
        f"steps[{i}].key": f"the job already has a step {s.key!r}"
        for i, s in enumerate(steps)
        if s.key in existing_keys
    }


def validate_extension(steps: list[StepSpec], existing_keys: set[str]) -> list[StepSpec]:
    """Check `steps` as additions to a job whose steps have `existing_keys`:
    keys must be new; dependencies may name existing steps.

    Returns the new steps in a topological order. Raises GraphError, its
    indices those of `steps`.
    """
    clashes = _clashes(steps, existing_keys)
    if clashes:
        raise GraphError(clashes)
    # Existing keys stand in as dependency-free placeholders, after the new
    # steps so that error indices stay those of `steps`.
    placeholders = [StepSpec(key=k, agent="test") for k in sorted(existing_keys)]
    new_keys = {s.key for s in steps}
    return [s for s in validate(steps + placeholders) if s.key in new_keys]


def extension_errors(raw: Any, existing_keys: set[str]) -> dict[str, str]:
    """Everything wrong with `raw` (untrusted steps in the API's format) as
    additions to a job whose steps have `existing_keys`, by
    ``steps[i].field``: fields, keys already taken, unknown dependencies,
    cycles. Empty when valid; raises nothing (the planner's check)."""
    try:
        specs = from_dicts(raw)
    except GraphError as exc:
        return exc.errors
    errors = _clashes(specs, existing_keys)
    keys = {s.key for s in specs}
    try:
        validate(specs + [StepSpec(key=k, agent="test") for k in sorted(existing_keys - keys)])
    except GraphError as exc:
        errors.update(exc.errors)
    return errors


def from_dicts(raw: Any) -> list[StepSpec]:
    """Build StepSpecs from untrusted JSON, naming the field of any error."""
    if not isinstance(raw, list):
        raise GraphError({"steps": "must be a list of steps"})
    specs: list[StepSpec] = []
    errors: dict[str, str] = {}
    for i, item in enumerate(raw):
        where = f"steps[{i}]"
        if not isinstance(item, dict):
            errors[where] = "must be an object"
            continue
        unknown = set(item) - {"key", "agent", "input", "depends_on", "priority", "sender_account", "max_attempts"}
        if unknown:
            errors[f"{where}.{sorted(unknown)[0]}"] = "unknown field"
        for name in ("key", "agent"):
            if not isinstance(item.get(name), str) or not item.get(name):
                errors[f"{where}.{name}"] = "this field is required"
        deps = item.get("depends_on", [])
        if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
            errors[f"{where}.depends_on"] = "must be a list of step keys"
            deps = []
        priority = item.get("priority")
        if priority is not None and (isinstance(priority, bool) or not isinstance(priority, int)):
            errors[f"{where}.priority"] = "must be 1, 5 or 10"
            priority = None
        account = item.get("sender_account")
        if account is not None and (isinstance(account, bool) or not isinstance(account, int)):
            errors[f"{where}.sender_account"] = "must be a sender account id"
            account = None
        attempts = item.get("max_attempts")
        if attempts is not None and (isinstance(attempts, bool) or not isinstance(attempts, int)):
            errors[f"{where}.max_attempts"] = "must be an integer"
            attempts = None
        specs.append(
            StepSpec(
                key=item.get("key") or "",
                agent=item.get("agent") or "",
                input=item.get("input", {}) if item.get("input") is not None else {},
                depends_on=deps,
                priority=priority,
                sender_account_id=account,
                max_attempts=attempts,
            )
        )
    if errors:
        raise GraphError(errors)
    return specs
