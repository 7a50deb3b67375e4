"""Reads over import runs, always scoped by tenant."""

from __future__ import annotations

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
