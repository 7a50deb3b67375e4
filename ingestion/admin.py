from __future__ import annotations

import csv
from typing import Any

from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

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
    readonly_fields = [f.name for f in ImportRun._meta.fields if f.name != "process"] + ["rejected_rows"]

    def get_urls(self) -> list[URLPattern]:
        download = path(
            "<path:object_id>/rejected.csv",
            self.admin_site.admin_view(self.rejected_csv),
            name="ingestion_importrun_rejected",
        )
        return [download, *super().get_urls()]

    @admin.display(description="Rejected rows (file, line, reason)")
    def rejected_rows(self, run: ImportRun) -> str:
        if not run.rejected_samples:
            return "none"
        kept = len(run.rejected_samples)
        note = f" (the first {kept:,} of {run.rows_rejected:,} kept)" if kept < run.rows_rejected else ""
        url = reverse("admin:ingestion_importrun_rejected", args=[run.pk])
        return format_html('<a href="{}">Download {} as CSV</a>{}', url, f"{kept:,}", note)

    def rejected_csv(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The run's rejected rows as CSV (every source: CUR, logs, Azure and Vertex exports), scoped like the run."""
        run = self.get_object(request, object_id)  # the tenant-scoped queryset: another tenant's run is None
        if run is None or not self.has_view_permission(request, run):
            raise Http404("No such import run.")
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="import-run-{run.pk}-rejected.csv"'
        writer = csv.writer(response, lineterminator="\n")
        writer.writerow(["file", "line", "reason"])
        for sample in run.rejected_samples:
            writer.writerow([_cell(sample.get("file", "")), sample.get("line", ""), _cell(sample.get("reason", ""))])
        return response

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        # A run whose process died is shown as interrupted (with what it loaded), not as running forever.
        import_runs_mark_interrupted()
        return super().changelist_view(request, extra_context)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        import_runs_mark_interrupted()
        return super().change_view(request, object_id, form_url, extra_context)


def _cell(value: object) -> str:
    """Text a spreadsheet shows as text, never runs as a formula (a delivered value may start with =)."""
    text = str(value)
    return f"'{text}" if text[:1] in {"=", "+", "-", "@", "\t", "\r"} else text


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
