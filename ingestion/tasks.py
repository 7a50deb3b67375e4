"""django-q2 tasks: thin, take primitive ids, call one service, return a small summary.

Enqueue with transaction.on_commit(lambda: async_task("ingestion.tasks.import_files", ...))."""

from __future__ import annotations

from pathlib import Path

from connections.models import Tenant
from ingestion.providers_import import import_azure_costs, import_gcp_billing
from ingestion.services import import_cur, import_invocation_logs

# ImportRun.Source -> its importer (every file source, so whatever queues files can queue any of them).
IMPORTERS = {
    "cur": import_cur,
    "invocation_logs": import_invocation_logs,
    "azure_openai": import_azure_costs,
    "vertex": import_gcp_billing,
}


def import_files(tenant_id: int, source: str, paths: list[str]) -> dict[str, object]:
    importer = IMPORTERS.get(source)
    if importer is None:
        raise ValueError(f"import_files: source={source!r} is not a file source; use one of {', '.join(IMPORTERS)}")
    tenant = Tenant.objects.get(pk=tenant_id)
    run = importer(tenant=tenant, paths=[Path(p) for p in paths])
    return {"import_run": run.pk, "status": run.status, "loaded": run.rows_loaded, "rejected": run.rows_rejected}


def sync_prices() -> dict[str, object]:
    """Weekly: the other platforms' list prices from the price library first (so an upgraded library lands
    without a command, and an AWS failure cannot hold it back), then the AWS Price List overlay (live, the
    installation's own credentials)."""
    from finops.ledger.platform_apply import catalog_platforms_apply
    from ingestion.prices import prices_sync

    platforms = catalog_platforms_apply()
    result = prices_sync()
    return {
        "source": result.source,
        "changed": len(result.changes),
        "new_models": result.new_models,
        "platform_prices": platforms,
    }


# --- live sync ------------------------------------------------------------------------------------
# Connections a schedule syncs: validated ones (connected or degraded: a degraded connection still has
# sources that work); pending, failed and paused ones wait for a green validation or a resume.
SYNCABLE = ("connected", "degraded")


def sync_connection_task(connection_id: int, sources: list[str] | None = None, trigger: str = "schedule") -> dict:
    """One connection's sync (the lock makes a second one for the same connection a no-op)."""
    from connections.models import AwsConnection
    from ingestion.sync.services import SyncBusy, sync_connection

    connection = AwsConnection.objects.select_related("tenant").filter(pk=connection_id).first()
    if connection is None or connection.status == AwsConnection.Status.PAUSED:
        return {"connection_id": connection_id, "skipped": "gone or paused"}
    try:
        report = sync_connection(connection, sources=sources, trigger=trigger)
    except SyncBusy as exc:
        return {"connection_id": connection_id, "skipped": str(exc)}
    return {
        "connection_id": connection_id,
        "sync_id": report.sync_id,
        "runs": {r.status: sum(1 for x in report.runs if x.status == r.status) for r in report.runs},
        "rows_loaded": sum(r.rows_loaded for r in report.runs),
    }


def sync_all(sources: list[str] | None = None) -> dict[str, object]:
    """Queue one sync per syncable connection, so workers (on any host) run them side by side."""
    from django_q.tasks import async_task

    from connections.models import AwsConnection

    ids = list(AwsConnection.objects.filter(status__in=SYNCABLE).exclude(role_arn="").values_list("pk", flat=True))
    for pk in ids:
        async_task("ingestion.tasks.sync_connection_task", pk, sources, "schedule", group="sync")
    return {"queued": len(ids), "sources": sources or "all"}


def sync_logs_and_metrics() -> dict[str, object]:
    """Hourly."""
    return sync_all(["logs", "metrics"])


def sync_cur() -> dict[str, object]:
    """Every six hours."""
    return sync_all(["cur"])


def sync_inventory() -> dict[str, object]:
    """Daily."""
    return sync_all(["inventory"])
