"""The campaign graph: its default shape, and what a planned graph must be.

THE CONTRACT with the outreach agent (issue 3) — do not change it:

    write-copy          copywriter   {"campaign": id, "brief": str, "leads": [lead ids]}
                                     → {"notes": {"<lead id>": note ≤ 300 chars},
                                        "messages": {"<lead id>": follow-up text}}
    invite-<acc>-<n>    outreach     sender_account acc, depends on write-copy,
                                     {"action": "invite", "leads": [ids], "notes_from": "write-copy"}
    follow-up-<acc>-<n> outreach     sender_account acc, depends on invite-<acc>-<n> and write-copy,
                                     {"action": "follow_up", "leads": [same ids], "messages_from": "write-copy"}
    summarise           data_analyst depends on every outreach step (else on write-copy)

Leads go round-robin across the campaign's sender accounts, then in batches
of `batch_size` per account; a campaign without sender accounts gets no
outreach steps. Steps are dicts in the API's format; the job's graph rules (keys,
priorities, dependencies, cycles) come through the job port
(agents/ports.py: JobPort), the control plane's own check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agents import registry

COPY_KEY = "write-copy"
SUMMARY_KEY = "summarise"
# The planner plans for every role but itself (no recursive planning) and
# the test agent.
PLANNABLE = [r for r in registry.roles() if r not in ("activity_planner", "test")]


def default_graph(
    *, campaign: int, brief: str, leads: list[int], sender_accounts: list[int], batch_size: int = 5
) -> list[dict[str, Any]]:
    batch_size = max(1, int(batch_size))
    steps: list[dict[str, Any]] = [
        {"key": COPY_KEY, "agent": "copywriter", "input": {"campaign": campaign, "brief": brief, "leads": list(leads)}}
    ]
    per_account: dict[int, list[int]] = {acc: [] for acc in sender_accounts}
    for i, lead in enumerate(leads):
        if sender_accounts:
            per_account[sender_accounts[i % len(sender_accounts)]].append(lead)
    outreach_keys: list[str] = []
    for acc, acc_leads in per_account.items():
        for n, start in enumerate(range(0, len(acc_leads), batch_size), start=1):
            batch = acc_leads[start : start + batch_size]
            invite, follow = f"invite-{acc}-{n}", f"follow-up-{acc}-{n}"
            steps.append(
                {
                    "key": invite,
                    "agent": "outreach",
                    "sender_account": acc,
                    "input": {"action": "invite", "leads": batch, "notes_from": COPY_KEY},
                    "depends_on": [COPY_KEY],
                }
            )
            steps.append(
                {
                    "key": follow,
                    "agent": "outreach",
                    "sender_account": acc,
                    "input": {"action": "follow_up", "leads": batch, "messages_from": COPY_KEY},
                    # The agent reads the messages from ctx.upstream(): only
                    # the outputs of the steps it depends on.
                    "depends_on": [COPY_KEY, invite],
                }
            )
            outreach_keys += [invite, follow]
    steps.append(
        {
            "key": SUMMARY_KEY,
            "agent": "data_analyst",
            "input": {"campaign": campaign},
            "depends_on": outreach_keys or [COPY_KEY],
        }
    )
    return steps


def schema(*, key_pattern: str, priorities: list[int], agents: list[str] | None = None) -> dict[str, Any]:
    """The JSON schema of the planner's answer: {"steps": [...]}, with the
    job port's step key pattern (a regular expression) and priority levels."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["steps"],
        "additionalProperties": False,
        "properties": {
            "steps": {
                "type": "array",
                "minItems": 1,
                "maxItems": 1000,
                "items": {
                    "type": "object",
                    "required": ["key", "agent", "input"],
                    "additionalProperties": False,
                    "properties": {
                        "key": {"type": "string", "pattern": key_pattern},
                        "agent": {"enum": list(agents or PLANNABLE)},
                        "input": {"type": "object"},
                        "depends_on": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
                        "sender_account": {"type": "integer"},
                        "priority": {"enum": list(priorities)},
                    },
                },
            }
        },
    }


def check(
    steps: list[dict[str, Any]],
    *,
    leads: list[int],
    sender_accounts: list[int],
    graph_errors: Callable[[list[dict[str, Any]]], dict[str, str]],
) -> list[str]:
    """What is wrong with a schema-valid graph for this campaign, as
    "steps[i].field: message" lines: the graph as the job would take it
    (`graph_errors`, the job port's check: keys, taken keys, dependencies,
    cycles), and that it only uses the campaign's leads and sender
    accounts."""
    errors: list[str] = []
    known_leads, accounts = set(leads), set(sender_accounts)
    keys = {s.get("key") for s in steps}
    for i, step in enumerate(steps):
        where = f"steps[{i}]"
        account = step.get("sender_account")
        needs_account = registry.get(step["agent"]).needs_account if step.get("agent") in registry.AGENTS else False
        if needs_account and account is None:
            errors.append(f"{where}.sender_account: the {step['agent']} agent needs one of {sorted(accounts)}")
        elif account is not None and account not in accounts:
            errors.append(f"{where}.sender_account: {account} is not one of the campaign's accounts {sorted(accounts)}")
        step_leads = step.get("input", {}).get("leads", [])
        if not isinstance(step_leads, list):
            errors.append(f"{where}.input.leads: must be a list of lead ids")
        else:
            unknown = [lead for lead in step_leads if lead not in known_leads]
            if unknown:
                errors.append(f"{where}.input.leads: {unknown[:5]} are not leads of this campaign")
        for ref in ("notes_from", "messages_from"):
            source = step.get("input", {}).get(ref)
            if source is not None and source not in keys:
                errors.append(f"{where}.input.{ref}: no step {source!r} in the graph")
    errors += [f"{field}: {message}" for field, message in graph_errors(steps).items()]
    return errors
