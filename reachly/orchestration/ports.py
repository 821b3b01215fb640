"""Where the step runner finds the ports other domains implement.

The agents' ports (agents/ports.py) are owned by the domains whose tables
they read and write: sender accounts and leads by campaigns, the LLM ledger
by llm, webhook targets by webhooks. The control plane may not import those
domains' services (the "control-plane" import contract in pyproject.toml),
so the dependency is inverted: each domain registers a factory here from its
AppConfig.ready() (which Django runs in every process: web, worker, tests),
and the runner builds a step's ports from the factories (dependency
inversion; the runner never names a campaigns or llm module).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Port name (the StepContext attribute) → the app expected to provide it,
# for the error when one is missing.
PORTS = {
    "sender": "reachly.campaigns",
    "leads": "reachly.campaigns",
    "llm": "reachly.llm",
    "webhooks": "reachly.webhooks",
}


@dataclass(frozen=True)
class StepScope:
    """Who a port instance works for: one claimed step.

    `tz` is the sender account's IANA time zone ("UTC" without one), as
    the step's message carries it for the limiter's calendar days.
    """

    step_id: int
    job_id: int
    tenant_id: int
    role: str
    sender_account_id: int | None
    tz: str = "UTC"


PortFactory = Callable[[StepScope], Any]
_factories: dict[str, PortFactory] = {}


def provide(name: str, factory: PortFactory) -> None:
    """Register `factory(scope) -> port` for the port `name` (a key of
    PORTS). Called once per process by the owning app's ready(); a second
    registration replaces the first (tests may swap one in). Raises
    KeyError for an unknown port name."""
    if name not in PORTS:
        raise KeyError(f"unknown port {name!r}; one of {sorted(PORTS)}")
    _factories[name] = factory


def build(name: str, scope: StepScope) -> Any:
    """A new instance of port `name` for `scope`. Raises LookupError naming
    the app that should have registered it (not installed, or its ready()
    did not run)."""
    try:
        factory = _factories[name]
    except KeyError:
        raise LookupError(f"no {name!r} port registered: is {PORTS.get(name, '?')} in INSTALLED_APPS?") from None
    return factory(scope)
