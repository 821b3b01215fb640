"""Writes about tenants: creation, plans, memberships, API tokens."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db import transaction
from django.utils import timezone

from reachly.tenants import signals
from reachly.tenants.models import ApiToken, Membership, Plan, Tenant

TOKEN_PREFIX = "rly"


class TenantError(ValueError):
    """Bad input for a tenant operation; `field` names what to fix."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


def tenant_create(*, slug: str, name: str = "", plan: str = "free", timezone_name: str = "UTC") -> Tenant:
    try:
        plan_obj = Plan.objects.get(code=plan)
    except Plan.DoesNotExist:
        codes = ", ".join(Plan.objects.values_list("code", flat=True))
        raise TenantError("plan", f"unknown plan {plan!r}; one of: {codes}") from None
    if Tenant.objects.filter(slug=slug).exists():
        raise TenantError("slug", f"a tenant {slug!r} already exists")
    tenant = Tenant(slug=slug, name=name or slug, plan=plan_obj, timezone=timezone_name)
    tenant.full_clean()
    tenant.save()
    return tenant


def tenant_change_plan(tenant: Tenant, plan: str) -> Tenant:
    tenant.plan = Plan.objects.get(code=plan)
    tenant.save(update_fields=["plan"])
    transaction.on_commit(lambda: signals.limits_changed.send(sender=Tenant, tenant_id=tenant.id))
    return tenant


def membership_add(*, tenant: Tenant, user: AbstractBaseUser, role: str = Membership.Role.MEMBER) -> Membership:
    membership, _ = Membership.objects.update_or_create(tenant=tenant, user=user, defaults={"role": role})
    return membership


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_create(
    *, tenant: Tenant, name: str, created_by: User | AnonymousUser | None = None
) -> tuple[ApiToken, str]:
    """A new token; returns it with its key, which is never stored or shown again."""
    prefix = secrets.token_hex(4)
    key = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        tenant=tenant,
        name=name[:128] or "token",
        prefix=prefix,
        key_hash=_hash(key),
        created_by=created_by if created_by is not None and created_by.is_authenticated else None,
    )
    return token, key


def api_token_revoke(token: ApiToken) -> ApiToken:
    """Revoke `token` (idempotent); after commit, `signals.token_revoked` tells
    the live layer to close the sockets its tickets opened."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        transaction.on_commit(lambda: signals.token_revoked.send(sender=ApiToken, token=token))
    return token


def api_token_authenticate(key: str) -> ApiToken | None:
    """The active token for `key`, or None. Constant-time comparison."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        return None
    token = ApiToken.objects.select_related("tenant", "tenant__plan").filter(prefix=parts[1]).first()
    if token is None or token.revoked_at is not None:
        return None
    if not secrets.compare_digest(token.key_hash, _hash(key)):
        return None
    now = timezone.now()
    # Touch at most once a minute: authentication must not write on every request.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
