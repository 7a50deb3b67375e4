"""The admin site: internal staff (is_staff) see every tenant; a customer admin (an admin
membership, no is_staff) gets in too and sees only their own tenants' rows."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin import widgets
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.db.models.constants import LOOKUP_SEP
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


# Fields holding secrets or keys, on any model: never filtered or searched in the admin. A filter answers
# "which rows match", so `?hash_secret__startswith=ab` would read a secret out one character at a time.
SENSITIVE_FIELD_NAMES = frozenset({"hash_secret", "external_id", "password", "session_key", "session_data"})
SENSITIVE_NAME_PARTS = ("secret", "password", "credential", "private_key")
# The lookups Django's own list filters put in the query string (`status__exact`, `tenant__id__exact`,
# `created_at__gte`, ...) and the date hierarchy's parts.
FILTER_LOOKUPS = frozenset({"exact", "isnull", "isempty", "gte", "lt"})
DATE_HIERARCHY_LOOKUPS = frozenset({"year", "month", "day"})


def is_sensitive_lookup(lookup: str) -> bool:
    """Whether a lookup or search path (`tenant__hash_secret__startswith`) passes through a secret field."""
    for part in lookup.lower().split(LOOKUP_SEP):
        if part in SENSITIVE_FIELD_NAMES or any(marker in part for marker in SENSITIVE_NAME_PARTS):
            return True
    return False


class RestrictedLookupsMixin:
    """Query-string lookups only as this admin's own list filters and date hierarchy make them, never through a
    secret field; a refused lookup is Django's DisallowedModelAdminLookup (HTTP 400), whatever the value."""

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        if is_sensitive_lookup(lookup):
            return False
        if self._is_own_filter_lookup(lookup, request) or self._is_raw_id_lookup(lookup, value):
            return super().lookup_allowed(lookup, value, request)  # type: ignore[misc]
        return False

    def get_search_fields(self, request: HttpRequest) -> tuple[str, ...]:
        fields = super().get_search_fields(request)  # type: ignore[misc]
        return tuple(f for f in fields if not is_sensitive_lookup(f.lstrip("^=@")))

    def _is_own_filter_lookup(self, lookup: str, request: HttpRequest | None) -> bool:
        list_filter = self.get_list_filter(request) if request is not None else self.list_filter  # type: ignore[attr-defined]
        paths = []
        for item in list_filter:
            if isinstance(item, type) and issubclass(item, admin.SimpleListFilter):
                if lookup == item.parameter_name:
                    return True
            elif isinstance(item, list | tuple):
                paths.append(item[0])
            else:
                paths.append(item)
        for path in paths:
            prefix = f"{path}{LOOKUP_SEP}"
            if lookup.startswith(prefix):
                rest = lookup.removeprefix(prefix).split(LOOKUP_SEP)
                # `status__exact`; through a relation `tenant__id__exact`.
                if len(rest) <= 2 and rest[-1] in FILTER_LOOKUPS:
                    return True
        date_hierarchy = self.date_hierarchy  # type: ignore[attr-defined]
        return bool(date_hierarchy) and lookup in {f"{date_hierarchy}{LOOKUP_SEP}{p}" for p in DATE_HIERARCHY_LOOKUPS}

    def _is_raw_id_lookup(self, lookup: str, value: str) -> bool:
        """The `limit_choices_to` filters that raw-id popups pointing at this model pass (as Django allows them)."""
        for fk_lookup in self.model._meta.related_fkey_lookups:  # type: ignore[attr-defined]
            if callable(fk_lookup):
                fk_lookup = fk_lookup()
            if (lookup, value) in widgets.url_params_from_lookup_dict(fk_lookup).items():
                return True
        return False


class TenantScopedAdmin(RestrictedLookupsMixin, admin.ModelAdmin):
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
