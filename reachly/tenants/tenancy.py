"""The one rule for which tenant a request acts for, at every door.

The doors — the REST API (reachly/api), the web UI (reachly/web), the
WebSocket and the SSE stream (reachly/live, reachly/api/live.py) — each
pass what their transport carries to `resolve`, and map its refusal to
their own answer (403 in the API's error body, the web's 403 page, an
error frame and close code 4403 on the socket). The rule, in order:

1. A credential bound to a tenant — an API token, or a live ticket (which
   is issued for one tenant) — acts for that tenant only. An explicit
   choice naming another tenant is refused (`NotAMember`), never ignored.
2. A signed-in user with no membership is refused (`NoTenant`).
3. An explicit choice — the `X-Reachly-Tenant: <slug>` header (API, SSE)
   or the `?tenant=<slug>` query (the WebSocket, which browsers cannot
   give headers) — must name a tenant the user is a member of; otherwise
   it is refused (`NotAMember`), it never falls back.
4. Else the tenant remembered in the session (`SESSION_KEY`, set by the web
   UI's tenant switcher, which only stores a tenant the user is a member
   of), if the user is still a member of it. A remembered tenant the user
   has since left is forgotten, not an error: the user did not ask for it
   on this request.
5. Else the user's first membership in tenant-name order (then the oldest
   membership, for equal names) — the first entry of the web UI's switcher;
   for a user with one membership, that one.

Staff get no tenant they are not a member of, at any door: `is_staff` is
not consulted here. (Staff's one cross-tenant view is operational — the
capacity monitor, GET /api/v1/monitoring/capacity — and it is not acting
for a tenant.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reachly.tenants.models import Membership, Tenant

SESSION_KEY = "reachly_tenant_id"
"""The session entry holding the tenant id the user chose in the web UI."""

HEADER = "X-Reachly-Tenant"
"""The HTTP header of an explicit choice (a tenant's slug): API and SSE."""

QUERY = "tenant"
"""The WebSocket's query parameter of an explicit choice (a tenant's slug)."""


class TenancyError(Exception):
    """The request acts for no tenant. `code` is stable ("no_tenant",
    "not_a_member"); the message says why, in words a client can show."""

    code = "tenancy"


class NoTenant(TenancyError):
    code = "no_tenant"


class NotAMember(TenancyError):
    code = "not_a_member"


NO_TENANT = "this account is not a member of any tenant"


@dataclass(frozen=True)
class Tenancy:
    """Who acts for which tenant.

    `membership` is the user's membership in `tenant` (None for a token or a
    ticket issued to one); `memberships` every membership of the user, in
    the rule's order (empty for a token), for the web UI's switcher.
    """

    tenant: Tenant
    membership: Membership | None
    memberships: tuple[Membership, ...] = ()

    @property
    def can_write(self) -> bool:
        """Tokens and members write; viewers only read."""
        return self.membership is None or self.membership.can_write


def memberships_of(user: Any) -> list[Membership]:
    """`user`'s memberships with their tenant and plan, in the rule's order
    (tenant name, then the oldest membership); [] for an anonymous user."""
    if user is None or not user.is_authenticated or getattr(user, "pk", None) is None:
        return []
    return list(
        Membership.objects.filter(user_id=user.pk)
        .select_related("tenant", "tenant__plan")
        .order_by("tenant__name", "created_at", "id")
    )


def resolve(
    user: Any = None,
    *,
    bound: Tenant | None = None,
    choice: str | None = None,
    session: Mapping[str, Any] | None = None,
) -> Tenancy:
    """The tenant a request acts for, by the rule of this module's docstring.

    `user`: the signed-in Django user (ignored when `bound` is given);
    `bound`: the tenant of the request's token or ticket, if any;
    `choice`: the slug the request names explicitly (header or query), or
    None/"" for none; `session`: the request's session (a mapping), read for
    `SESSION_KEY` only — this function never writes it.

    Returns a `Tenancy`. Raises `NotAMember` when `choice` names a tenant the
    credential or user may not act for, `NoTenant` when a user has no
    membership (or there is no user at all).
    """
    if bound is not None:
        if choice and choice != bound.slug:
            raise NotAMember(f"this credential acts for tenant {bound.slug!r} only, not {choice!r}")
        return Tenancy(tenant=bound, membership=None)
    memberships = memberships_of(user)
    if not memberships:
        raise NoTenant(NO_TENANT)
    if choice:
        chosen = next((m for m in memberships if m.tenant.slug == choice), None)
        if chosen is None:
            raise NotAMember(f"you are not a member of tenant {choice!r}")
        return Tenancy(tenant=chosen.tenant, membership=chosen, memberships=tuple(memberships))
    remembered = session.get(SESSION_KEY) if session is not None else None
    current = next((m for m in memberships if m.tenant_id == remembered), memberships[0])
    return Tenancy(tenant=current.tenant, membership=current, memberships=tuple(memberships))


def remember(session: Any, user: Any, tenant_id: int) -> Tenant:
    """Store `tenant_id` in `session` as the user's choice (the web UI's
    tenant switcher), so every door acts for it until changed.

    `session`: a Django session (mutable mapping); `user`: the signed-in user.
    Returns the chosen Tenant. Raises `NotAMember` (and changes nothing) if
    the user is not a member of that tenant.
    """
    chosen = next((m for m in memberships_of(user) if m.tenant_id == tenant_id), None)
    if chosen is None:
        raise NotAMember("you are not a member of that tenant")
    session[SESSION_KEY] = chosen.tenant_id
    return chosen.tenant
