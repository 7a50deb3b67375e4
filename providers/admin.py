"""Provider connections in the admin, scoped like connections/admin.py: staff see every tenant, a customer
admin only their own. The key is never shown: a write-only "replace key" field and the last four characters.
Sync runs, watermarks and names are read-only. Changes go through providers.services (audited)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from connections.admin_site import ReadOnlyAdminMixin, TenantScopedAdmin
from providers.models import ProviderConnection, ProviderName, ProviderSyncRun, ProviderSyncState
from providers.services import (
    provider_connection_create,
    provider_connection_delete,
    provider_connection_update,
    provider_key_check,
)

UPDATABLE = ("name", "enabled", "organization_id")


class ProviderConnectionAdminForm(forms.ModelForm):
    # Never rendered back (render_value=False) and never a model field: the key goes to the service only.
    replace_key = forms.CharField(
        required=False,
        label="Admin API key",
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Write-only. On a new connection: the organization Admin key. On an existing one: leave blank to "
        "keep the stored key, or enter a new key to replace it.",
    )

    class Meta:
        model = ProviderConnection
        fields = ("tenant", "kind", "name", "organization_id", "enabled")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        key = data.get("replace_key") or ""
        kind = data.get("kind") or getattr(self.instance, "kind", "")
        if not self.instance.pk and not key:
            self.add_error("replace_key", "Enter the organization Admin key.")
        elif key and kind:
            try:
                provider_key_check(kind=kind, api_key=key)
            except ValidationError as exc:
                self.add_error("replace_key", exc.messages)
        name = (data.get("name") or "").strip()
        if self.instance.pk and name:
            taken = ProviderConnection.objects.filter(tenant_id=self.instance.tenant_id, name=name)
            if taken.exclude(pk=self.instance.pk).exists():
                self.add_error("name", f"This tenant already has a connection named {name!r}.")
        return data


@admin.register(ProviderConnection)
class ProviderConnectionAdmin(TenantScopedAdmin):
    customer_can = ("view", "add", "change", "delete")
    form = ProviderConnectionAdminForm
    list_display = ("name", "kind", "tenant", "status", "last_synced_at", "masked_key", "enabled")
    list_filter = ("kind", "status", "enabled", "tenant")
    search_fields = ("name", "organization_id")
    readonly_fields = (
        "masked_key", "status", "last_validated_at", "last_error", "last_remedy", "last_synced_at", "mapping",
        "created_at",
    )  # fmt: skip

    def get_fieldsets(self, request: HttpRequest, obj: ProviderConnection | None = None) -> Any:
        key = ("masked_key", "replace_key") if obj else ("replace_key",)
        return (
            (None, {"fields": ("tenant", "kind", "name", "organization_id", "enabled")}),
            ("Admin key", {"fields": key}),
            (
                "Health",
                {"fields": ("status", "last_validated_at", "last_synced_at", "last_error", "last_remedy")},
            ),
            ("Mapping (edit on the connection's mapping page)", {"fields": ("mapping", "created_at")}),
        )

    def get_readonly_fields(self, request: HttpRequest, obj: ProviderConnection | None = None) -> Any:
        # Tenant and provider are fixed once created (the ledger rows and the principal ids depend on them).
        return (*self.readonly_fields, "tenant", "kind") if obj else self.readonly_fields

    @admin.display(description="Admin key")
    def masked_key(self, obj: ProviderConnection) -> str:
        return obj.masked_key

    def save_model(self, request: HttpRequest, obj: ProviderConnection, form: Any, change: bool) -> None:
        key = form.cleaned_data.get("replace_key") or ""
        if change:
            changes: dict[str, Any] = {f: form.cleaned_data[f] for f in form.changed_data if f in UPDATABLE}
            if key:
                changes["api_key"] = key
            if changes:
                provider_connection_update(connection=obj, actor=request.user, **changes)
            return
        created = provider_connection_create(
            tenant=form.cleaned_data["tenant"],
            kind=form.cleaned_data["kind"],
            name=form.cleaned_data["name"],
            organization_id=form.cleaned_data.get("organization_id") or "",
            api_key=key,
            actor=request.user,
        )
        # The admin goes on with `obj` (its messages and redirect): it becomes the row the service created.
        for field in ProviderConnection._meta.concrete_fields:
            setattr(obj, field.attname, getattr(created, field.attname))
        obj._state.adding = False
        obj._state.db = created._state.db

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        # The runs, watermarks and names go with their connection: that nobody may delete them one by one
        # (read-only admins) must not forbid deleting the connection.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        owned = {m._meta.verbose_name for m in (ProviderSyncRun, ProviderSyncState, ProviderName)}
        return deleted, counts, {p for p in perms_needed if p not in owned}, protected

    def delete_model(self, request: HttpRequest, obj: ProviderConnection) -> None:
        provider_connection_delete(connection=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ProviderConnection]) -> None:
        for obj in queryset:
            provider_connection_delete(connection=obj, actor=request.user)


@admin.register(ProviderSyncRun)
class ProviderSyncRunAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    list_display = (
        "started_at", "connection", "tenant", "endpoint", "status", "items_fetched", "rows_loaded",
        "rows_skipped", "rows_replaced", "errors", "trigger", "duration_seconds",
    )  # fmt: skip
    list_filter = ("status", "endpoint", "trigger", "tenant")
    readonly_fields = [f.name for f in ProviderSyncRun._meta.fields]


@admin.register(ProviderSyncState)
class ProviderSyncStateAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    tenant_field = "connection__tenant"
    list_display = ("connection", "endpoint", "watermark", "updated_at")
    list_filter = ("endpoint",)
    readonly_fields = [f.name for f in ProviderSyncState._meta.fields]


@admin.register(ProviderName)
class ProviderNameAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    tenant_field = "connection__tenant"
    list_display = ("object_id", "name", "kind", "connection", "archived", "listed", "seen_in_usage", "updated_at")
    list_filter = ("kind", "archived", "listed")
    search_fields = ("object_id", "name")
    readonly_fields = [f.name for f in ProviderName._meta.fields]
