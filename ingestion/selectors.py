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
