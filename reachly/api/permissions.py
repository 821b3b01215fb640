"""Access rules: every API object belongs to the caller's tenant.

`TenantMember` is the default permission: a request needs a tenant (its
token's, or the signed-in user's membership); viewers may only read. Views
filter every queryset by that tenant (reachly.api.base.TenantScoped), so
another tenant's object is simply not found (404).
"""

from __future__ import annotations

from rest_framework import permissions
from rest_framework.exceptions import PermissionDenied

from reachly.api.tenancy import NO_TENANT, membership_of, tenant_of


class TenantMember(permissions.BasePermission):
    message = NO_TENANT

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        if tenant_of(request) is None:
            return False
        if request.method not in permissions.SAFE_METHODS:
            membership = membership_of(request)
            if membership is not None and not membership.can_write:
                raise PermissionDenied("viewers cannot change anything in this tenant")
        return True


class TenantReader(permissions.BasePermission):
    """A tenant member of any role, whatever the method (for POSTs that only read)."""

    message = NO_TENANT

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and tenant_of(request) is not None)


class TenantMemberOrStaff(TenantMember):
    """Staff see across tenants (capacity); others need a tenant."""

    def has_permission(self, request, view) -> bool:
        if request.user and request.user.is_authenticated and request.user.is_staff:
            return True
        return super().has_permission(request, view)
