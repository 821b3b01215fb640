"""Caps on concurrent live connections (WebSockets and SSE streams).

Each connection holds two concurrency leases of the global limiter while it
is open: one of its principal (the API token, else the signed-in user) and
one of its tenant, so one token cannot take a web process's sockets (100
streams and 100 sockets from one token took a web process to 57 database
connections). A lease lives LEASE_SECONDS and an open connection renews it
every RENEW_SECONDS, so a process that dies frees its leases within a
minute. Limits: REACHLY_LIVE_CONNECTIONS_PER_PRINCIPAL (default 20) and
REACHLY_LIVE_CONNECTIONS_PER_TENANT (default 200).
"""

from __future__ import annotations

from django.conf import settings

from reachly import limiter

LEASE_SECONDS = 60.0
RENEW_SECONDS = 20.0


def open_lease(*, tenant_id: int, principal: str) -> limiter.Decision:
    """Try to hold a connection slot; the decision says whether it may open
    (`allowed`) and, if not, `retry_after` seconds. `principal` is
    "token:<id>" or "user:<id>"."""
    return limiter.acquire(
        [
            limiter.lease(f"live:{principal}", settings.REACHLY_LIVE_CONNECTIONS_PER_PRINCIPAL, LEASE_SECONDS),
            limiter.lease(f"live:tenant:{tenant_id}", settings.REACHLY_LIVE_CONNECTIONS_PER_TENANT, LEASE_SECONDS),
        ]
    )


def renew(decision: limiter.Decision) -> bool:
    """Keep an open connection's slots (see the module); False if they lapsed."""
    return limiter.renew(decision)


def close_lease(decision: limiter.Decision) -> None:
    """Free the slots of a connection that closed."""
    limiter.release(decision)


def refusal_message(decision: limiter.Decision) -> str:
    scope = decision.denied_by.scope if decision.denied_by else "live"
    which = "this tenant" if ":tenant:" in scope else "this token (or user)"
    return f"too many open live connections for {which}; close one or retry in {max(1, int(decision.retry_after))} s"
