"""Signals of the tenants domain, for layers above it to act on.

`token_revoked(sender=ApiToken, token=...)`: sent after commit of a revoke;
the live layer closes the sockets opened with that token's tickets.

`limits_changed(sender=Tenant, tenant_id=...)`: sent after commit of a change
to what a tenant may run (its plan); the control plane re-admits the steps
it parked because the old limits said no.
"""

from __future__ import annotations

from django.dispatch import Signal

token_revoked = Signal()
limits_changed = Signal()
