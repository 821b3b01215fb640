"""What every door shares about the tenant a request acts for.

`SESSION_KEY`: the session entry holding the tenant a signed-in user chose
(a user may belong to several tenants); the web UI sets it, the API and the
live doors read it.
"""

from __future__ import annotations

SESSION_KEY = "reachly_tenant_id"
