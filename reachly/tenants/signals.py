"""Signals of the tenants domain, for layers above it to act on.

`token_revoked(sender=ApiToken, token=...)`: sent after commit of a revoke;
the live layer closes the sockets opened with that token's tickets.
"""

from __future__ import annotations

from django.dispatch import Signal

token_revoked = Signal()
