from __future__ import annotations

from django.contrib import admin

from connections.admin_site import ReadOnlyAdminMixin, TenantScopedAdmin
from ingestion.models import ImportRun


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
        "rows_skipped",
        "rows_rejected",
        "rows_replaced",
        "duration_seconds",
    )
    list_filter = ("source", "status", "tenant")
    readonly_fields = [f.name for f in ImportRun._meta.fields]
