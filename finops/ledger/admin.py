from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Q
from django.http import HttpRequest

from connections.admin_site import ReadOnlyAdminMixin, TenantScopedAdmin, is_tenant_admin
from connections.services import audit_log_record
from finops.ledger.models import ModelAlias, ModelCatalog, ModelPrice, SpendEvent, TierRule


class StaffEditsAdmin(admin.ModelAdmin):
    """Catalog data: staff edit it (with Django's permissions); customer admins may look at it."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_staff and super().has_module_permission(request) or is_tenant_admin(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if request.user.is_staff:
            return super().has_view_permission(request, obj)
        return is_tenant_admin(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_staff and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_staff and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_staff and super().has_delete_permission(request, obj)


class ModelAliasInline(admin.TabularInline):
    model = ModelAlias
    extra = 0


@admin.register(ModelCatalog)
class ModelCatalogAdmin(StaffEditsAdmin):
    list_display = (
        "model_id",
        "name",
        "platform",
        "provider",
        "family",
        "tier",
        "lifecycle",
        "regional_premium",
        "source",
    )
    list_filter = ("platform", "provider", "tier", "lifecycle")
    search_fields = ("model_id", "name", "aliases__alias")
    inlines = [ModelAliasInline]


@admin.register(TierRule)
class TierRuleAdmin(StaffEditsAdmin):
    """How models new to the catalog (from the price library or the AWS Price List) get a tier."""

    list_display = ("order", "pattern", "tier", "family", "note")
    list_editable = ("pattern", "tier", "family")
    ordering = ("order", "id")


@admin.register(ModelAlias)
class ModelAliasAdmin(StaffEditsAdmin):
    list_display = ("alias", "kind", "model")
    list_filter = ("kind",)
    search_fields = ("alias", "model__model_id")


@admin.register(ModelPrice)
class ModelPriceAdmin(StaffEditsAdmin):
    list_display = (
        "model",
        "token_type",
        "service_tier",
        "route",
        "region",
        "context",
        "cache_ttl",
        "variant",
        "price_usd",
        "unit",
        "effective_from",
        "effective_to",
        "source",
        "as_of",
    )
    list_filter = ("token_type", "service_tier", "route", "context", "cache_ttl", "model__provider")
    search_fields = ("model__model_id", "model__name", "source", "usage_type")
    actions = ["reprice_requests"]

    @admin.action(description="Re-price every tenant's requests of these prices' models")
    def reprice_requests(self, request: HttpRequest, queryset: Any) -> None:
        from connections.models import Tenant
        from finops.ledger.services import ledger_reprice

        if not request.user.is_staff:
            self.message_user(request, "Only staff can re-price across tenants.", level="error")
            return
        model_ids = sorted(set(queryset.values_list("model__model_id", flat=True)))
        requests = SpendEvent.objects.filter(record_kind="request")
        tenants = Tenant.objects.filter(
            pk__in=requests.filter(Q(model_id__in=model_ids) | Q(model_id="")).values("tenant_id")
        )
        changed = rows = 0
        for tenant in tenants:
            for model_id in model_ids:
                result = ledger_reprice(tenant=tenant, model_id=model_id, actor=request.user)
                changed, rows = changed + result.changed, rows + result.rows
        models = ", ".join(model_ids)
        summary = f"Re-priced {rows:,} requests of {models} in {len(tenants)} tenant(s): {changed:,} changed."
        self.message_user(request, summary)

    def save_model(self, request: HttpRequest, obj: ModelPrice, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        audit_log_record(
            tenant=None,
            actor=request.user,
            action="price.changed" if change else "price.created",
            target=str(obj),
            details={"fields": sorted(form.changed_data), "price_usd": str(obj.price_usd)},
        )


@admin.register(SpendEvent)
class SpendEventAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    list_display = (
        "usage_start",
        "record_kind",
        "cost_basis",
        "model_id",
        "usage_type",
        "principal_name",
        "team",
        "application",
        "input_tokens",
        "output_tokens",
        "cost_usd",
        "unpriced",
    )
    list_filter = (
        "record_kind",
        "cost_basis",
        "unpriced",
        "model_tier",
        "model_family",
        "route",
        "service_tier",
        "principal_type",
        "line_item_type",
        "tenant",
    )
    search_fields = ("model_id", "model_ref", "principal_name", "iam_principal", "team", "application", "request_id")
    date_hierarchy = "usage_date"
    list_select_related = ()
    list_per_page = 100
