"""Budgets in the tenant-scoped admin: customer admins manage their tenant's budgets (audited); alerts are read."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from budgets.models import Budget, BudgetAlert
from connections.admin_site import ReadOnlyAdminMixin, TenantScopedAdmin
from connections.services import audit_log_record


@admin.register(Budget)
class BudgetAdmin(TenantScopedAdmin):
    customer_can = ("view", "add", "change", "delete")
    list_display = ("name", "tenant", "amount_usd", "period", "basis", "scope_words", "updated_at")
    list_filter = ("period", "basis", "tenant")
    search_fields = ("name",)
    readonly_fields = ("created_by", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("tenant", "name", "amount_usd", "period", "basis", "scope")}),
        ("Alerts", {"fields": ("thresholds", "emails", "webhooks", "use_tenant_channels")}),
        ("History", {"fields": ("created_by", "created_at", "updated_at")}),
    )

    @admin.display(description="scope")
    def scope_words(self, obj: Budget) -> str:
        return obj.scope_words

    def save_model(self, request: HttpRequest, obj: Budget, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        audit_log_record(
            tenant=obj.tenant,
            actor=request.user,
            action="budget.changed" if change else "budget.created",
            target=obj.name,
            details={"budget_id": obj.pk, "fields": sorted(form.changed_data), "via": "admin"},
        )

    def delete_model(self, request: HttpRequest, obj: Budget) -> None:
        audit_log_record(
            tenant=obj.tenant,
            actor=request.user,
            action="budget.deleted",
            target=obj.name,
            details={"budget_id": obj.pk, "via": "admin"},
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(BudgetAlert)
class BudgetAlertAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    """Alerts are sent by the evaluation (once per threshold and period); here they are read."""

    tenant_field = "budget__tenant"
    list_display = ("sent_at", "budget", "period_start", "kind", "pct", "actual_usd", "forecast_usd")
    list_filter = ("kind",)
    search_fields = ("budget__name",)
    date_hierarchy = "sent_at"
    readonly_fields = [f.name for f in BudgetAlert._meta.fields]
