"""Reachly's one egress path: the address policy (`policy`), the HTTP client
that connects only where the policy allows (`http`) and the Chromium request
guard (`browser`). `current_policy()` is the policy configured in settings.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings

from agents.egress.policy import DestinationRefused, Policy, Vetted, from_settings

__all__ = ["DestinationRefused", "Policy", "Vetted", "current_policy"]


def current_policy(trusted: Sequence[str] = ()) -> Policy:
    """The policy of settings.REACHLY_EGRESS_ALLOW, also trusting the origins
    of `trusted` (operator-configured URLs only, never a tenant's)."""
    return from_settings(settings.REACHLY_EGRESS_ALLOW, trusted)
