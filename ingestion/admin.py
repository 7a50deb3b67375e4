from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from connections.admin_site import ReadOnlyAdminMixin, TenantScopedAdmin
from ingestion.models import ImportRun, SyncRun, SyncState
from ingestion.runs import import_runs_mark_interrupted
from ingestion.sync.services import sync_runs_mark_interrupted


@admin.register(ImportRun)
class ImportRunAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    list_display = (
        "id",
        "started_at",
        "tenant",
        "source",
        "status",
        "rows_read",
        "rows_loaded",
        "rows_unchanged",
        "rows_skipped",
        "rows_rejected",
        "rows_replaced",
        "rows_flagged",
        "duration_seconds",
    )
    list_filter = ("source", "status", "tenant")
    # `process` (host and pid of the importing process) is infrastructure, not the customer's business.
    exclude = ("process",)
    readonly_fields = [f.name for f in ImportRun._meta.fields if f.name != "process"]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        # A run whose process died is shown as interrupted (with what it loaded), not as running forever.
        import_runs_mark_interrupted()
        return super().changelist_view(request, extra_context)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        import_runs_mark_interrupted()
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    list_display = (
        "id",
        "started_at",
        "tenant",
        "connection",
        "source",
        "account_id",
        "region",
        "status",
        "items_fetched",
        "rows_loaded",
        "rows_rejected",
        "trigger",
        "duration_seconds",
    )
    list_filter = ("source", "status", "trigger", "tenant")
    exclude = ("process",)
    readonly_fields = [f.name for f in SyncRun._meta.fields if f.name != "process"]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        sync_runs_mark_interrupted()
        return super().changelist_view(request, extra_context)


@admin.register(SyncState)
class SyncStateAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    list_display = ("connection", "tenant", "source", "account_id", "region", "updated_at")
    list_filter = ("source", "tenant")
    readonly_fields = [f.name for f in SyncState._meta.fields]
