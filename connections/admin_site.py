"""The admin site: internal staff (is_staff) see every tenant; a customer admin (an admin
membership, no is_staff) gets in too and sees only their own tenants' rows."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from connections.models import Membership


def is_tenant_admin(user: Any) -> bool:
    return bool(
        user.is_active
        and user.is_authenticated
        and Membership.objects.filter(user=user, role=Membership.Role.ADMIN).exists()
    )


def admin_tenant_ids(request: HttpRequest) -> list[int]:
    """Tenants whose rows this customer admin may see in the admin."""
    cached = getattr(request, "_admin_tenant_ids", None)
    if cached is None:
        cached = list(
            Membership.objects.filter(user=request.user, role=Membership.Role.ADMIN).values_list("tenant_id", flat=True)
        )
        request._admin_tenant_ids = cached  # type: ignore[attr-defined]
    return cached


class FinopsAdminLoginForm(AuthenticationForm):
    """Django's admin login admits only is_staff; customer admins come in through their membership."""

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if not (user.is_staff or is_tenant_admin(user)):
            raise ValidationError(
                "This account cannot use the admin. Log in at /accounts/login/ for the dashboards, "
                "or ask a tenant admin for the admin role.",
                code="invalid_login",
            )


class FinopsAdminSite(admin.AdminSite):
    site_header = "Bedrock FinOps administration"
    site_title = "Bedrock FinOps"
    index_title = "Administration"
    login_form = FinopsAdminLoginForm

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and (user.is_staff or is_tenant_admin(user)))


class TenantScopedAdmin(admin.ModelAdmin):
    """Rows limited to the customer admin's tenants; `tenant_field` names the path to the tenant.

    `customer_can` lists what a customer admin may do here ("view", "add", "change", "delete");
    staff keep Django's normal permissions."""

    tenant_field = "tenant"
    customer_can: tuple[str, ...] = ("view",)
    show_full_result_count = False

    def _is_staff(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        if self._is_staff(request):
            return queryset
        return queryset.filter(**{f"{self.tenant_field}__in": admin_tenant_ids(request)})

    def get_list_filter(self, request: HttpRequest) -> tuple[Any, ...]:
        filters = tuple(super().get_list_filter(request))
        if self._is_staff(request):
            return filters
        # The tenant filter would list every tenant's name: customers do not get it.
        return tuple(f for f in filters if f != self.tenant_field)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "tenant" and not self._is_staff(request):
            from connections.models import Tenant

            kwargs["queryset"] = Tenant.objects.filter(id__in=admin_tenant_ids(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _customer(self, request: HttpRequest, action: str, obj: Model | None = None) -> bool:
        if action not in self.customer_can or not is_tenant_admin(request.user):
            return False
        if obj is None:
            return True
        tenant_id = obj
        for part in self.tenant_field.split("__"):
            tenant_id = getattr(tenant_id, part if part != "tenant" else "tenant_id", None)
            if tenant_id is None:
                return False
        return tenant_id in admin_tenant_ids(request)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return super().has_module_permission(request) or self._customer(request, "view")

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        if self._is_staff(request):
            return super().has_view_permission(request, obj)
        return self._customer(request, "view", obj) or self._customer(request, "change", obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        if self._is_staff(request):
            return super().has_add_permission(request)
        return self._customer(request, "add")

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        if self._is_staff(request):
            return super().has_change_permission(request, obj)
        return self._customer(request, "change", obj)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        if self._is_staff(request):
            return super().has_delete_permission(request, obj)
        return self._customer(request, "delete", obj)


class ReadOnlyAdminMixin:
    """Nobody adds, changes or deletes here, staff included (append-only or derived data)."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
