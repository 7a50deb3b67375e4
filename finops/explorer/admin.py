from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from connections.admin_site import TenantScopedAdmin
from finops.explorer.models import SavedView
from finops.explorer.services import saved_view_delete


@admin.register(SavedView)
class SavedViewAdmin(TenantScopedAdmin):
    """Saved explorer views, read and deleted here (each user saves their own on the explorer page); a customer
    admin sees their tenants' views only. Deleting is audited like deleting from the page."""

    customer_can = ("view", "delete")
    list_display = ("name", "user", "tenant", "created")
    list_filter = ("tenant",)
    search_fields = ("name",)
    readonly_fields = ("user", "tenant", "name", "querystring", "created")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        saved_view_delete(view=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[SavedView]) -> None:
        for view in queryset.select_related("tenant"):
            saved_view_delete(view=view, actor=request.user)
