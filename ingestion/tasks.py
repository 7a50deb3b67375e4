"""django-q2 tasks: thin, take primitive ids, call one service, return a small summary.

Enqueue with transaction.on_commit(lambda: async_task("ingestion.tasks.import_files", ...))."""

from __future__ import annotations

from pathlib import Path

from connections.models import Tenant
from ingestion.services import import_cur, import_invocation_logs


def import_files(tenant_id: int, source: str, paths: list[str]) -> dict[str, object]:
    tenant = Tenant.objects.get(pk=tenant_id)
    importer = {"cur": import_cur, "invocation_logs": import_invocation_logs}[source]
    run = importer(tenant=tenant, paths=[Path(p) for p in paths])
    return {"import_run": run.pk, "status": run.status, "loaded": run.rows_loaded, "rejected": run.rows_rejected}


def sync_prices() -> dict[str, object]:
    """Weekly: overlay the AWS Price List (live, the installation's own credentials)."""
    from ingestion.prices import prices_sync

    result = prices_sync()
    return {"source": result.source, "changed": len(result.changes), "new_models": result.new_models}
