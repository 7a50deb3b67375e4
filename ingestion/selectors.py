"""Reads over import runs, always scoped by tenant."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from connections.models import Tenant
from ingestion.models import ImportRun


def import_runs_needing_attention(*, tenant: Tenant) -> list[ImportRun]:
    """The latest run of each source when it did not finish: interrupted, or failed. A later run of the
    same source that finished supersedes it (re-running is how an interrupted import is completed)."""
    latest: dict[str, ImportRun] = {}
    for run in (
        ImportRun.objects.filter(tenant=tenant)
        .exclude(status=ImportRun.Status.RUNNING)
        .order_by("-started_at", "-id")[:50]
    ):
        latest.setdefault(run.source, run)
    attention = {ImportRun.Status.INTERRUPTED, ImportRun.Status.FAILED}
    return [run for run in latest.values() if run.status in attention]


def import_runs_for(*, tenant: Tenant, source: str = "") -> QuerySet[ImportRun]:
    """The tenant's import runs, newest first, optionally of one source."""
    runs = ImportRun.objects.filter(tenant=tenant).order_by("-started_at", "-id")
    return runs.filter(source=source) if source else runs


def sync_status(*, tenant: Tenant) -> list[dict[str, Any]]:
    """Per source: its latest run (whatever its state), its latest finished one, and whether it needs attention
    (its latest run, after any later success, was interrupted or failed)."""
    attention = {run.source for run in import_runs_needing_attention(tenant=tenant)}
    out = []
    for source, label in ImportRun.Source.choices:
        runs = import_runs_for(tenant=tenant, source=source)
        finished = runs.filter(status__in=[ImportRun.Status.SUCCEEDED, ImportRun.Status.PARTIAL])
        out.append(
            {
                "source": source,
                "label": str(label),
                "latest": runs.first(),
                "last_success": finished.first(),
                "needs_attention": source in attention,
            }
        )
    return out


# --- live sync ------------------------------------------------------------------------------------

SYNC_SCHEDULES = {
    "logs": "sync-logs-metrics-hourly",
    "metrics": "sync-logs-metrics-hourly",
    "cur": "sync-cur-6-hourly",
    "inventory": "sync-inventory-daily",
}


def connection_sync_status(*, connection: Any) -> list[dict[str, Any]]:
    """Per source (in sync order): its latest run for each account and region, the source's overall state
    (the worst of those), the last time it succeeded and the next scheduled run."""
    from django_q.models import Schedule

    from ingestion.models import SyncRun
    from ingestion.sync.services import ORDER

    latest: dict[tuple[str, str, str], SyncRun] = {}
    last_ok: dict[str, Any] = {}
    for run in SyncRun.objects.filter(connection=connection).order_by("-started_at", "-id")[:500]:
        latest.setdefault((run.source, run.account_id, run.region), run)
        if run.status in (SyncRun.Status.SUCCEEDED, SyncRun.Status.PARTIAL) and run.finished_at:
            last_ok.setdefault(run.source, run.finished_at)
    schedules = dict(Schedule.objects.filter(name__in=set(SYNC_SCHEDULES.values())).values_list("name", "next_run"))
    rank = ["failed", "interrupted", "partial", "running", "succeeded", "skipped"]
    out = []
    for source in ORDER:
        runs = sorted((r for (s, _, _), r in latest.items() if s == source), key=lambda r: (r.account_id, r.region))
        state = min((r.status for r in runs), key=rank.index) if runs else "never"
        out.append(
            {
                "source": source,
                "label": SyncRun(source=source).get_source_display(),
                "state": state,
                "runs": runs,
                "last_success": last_ok.get(source),
                "next_run": schedules.get(SYNC_SCHEDULES[source]),
            }
        )
    return out
