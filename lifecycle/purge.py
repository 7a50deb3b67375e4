"""Deleting a tenant's data older than a date, kind by kind, in short transactions.

What "older than the cut-off" means per kind of data (the README's "Data lifecycle" says the same):

* ledger rows (SpendEvent, table ai_spend_events): retention goes by `billing_period` (whole billing months,
  the unit a partitioned ledger would drop); a deletion request "before D" goes by `usage_date` < D.
* daily rollup cells (SpendDaily): the same condition on the same columns (both are columns of a cell), and
  each batch of ledger rows leaves the rollup in the transaction that deletes it (`rollup_apply`), so the
  rollup equals the ledger after every commit.
* import runs: `started_at` before the cut-off and no ledger row left that names the run.
* sync runs: `started_at` before the cut-off (running ones are left alone).
* recommendation cards, with their stored evidence, math and chart: `last_seen_at` before the cut-off.
* budget alerts: `period_start` before the cut-off (the budgets themselves are configuration and stay).
* inventory items: `gone_at` before the cut-off (what AWS still lists is the present and stays).
* audit log: its own, longer retention, `created_at` before AUDIT_RETENTION_MONTHS (84 by default).

Configuration is never expired: connections, memberships, budgets, alert channels, API tokens, saved views
and sync states (a sync state is a position; removing it would make the next sync read old data again).

The ledger is not partitioned today: its rows go per billing month, LEDGER_BATCH rows (by ascending id) per
transaction, so no transaction holds the ledger for long. Once it is partitioned by month, a month wholly
past retention can be dropped as a partition instead (the per-month loop is where that goes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet

from budgets.models import BudgetAlert
from connections.models import AuditLog, Tenant
from finops.ledger.models import SpendDaily, SpendEvent
from finops.ledger.rollups import RAW_FIELDS, rollup_apply
from ingestion.models import ImportRun, SyncRun
from inventory.models import FoundationModel, InferenceProfile, LoggingConfiguration, ProvisionedThroughput
from lifecycle.cutoffs import start_of_day
from recommendations.models import Recommendation

LEDGER_BATCH = 10_000
RECORD_BATCH = 2_000
# The order kinds are reported and deleted in (the ledger first: import runs wait for their rows to go).
KINDS = (
    "ledger_rows",
    "rollup_cells",
    "import_runs",
    "sync_runs",
    "recommendations",
    "budget_alerts",
    "inventory_items",
    "audit_entries",
)


@dataclass(frozen=True)
class Scope:
    """What goes: ledger rows and rollup cells matching `ledger`, and the dated records from before `before`."""

    tenant: Tenant
    ledger: Q
    before: date
    audit_before: date | None = None  # None: the audit log is not touched

    def describe(self) -> str:
        return f"data before {self.before:%Y-%m-%d}"


def retention_scope(*, tenant: Tenant, cutoff: date, audit_cutoff: date | None) -> Scope:
    """The tenant's retention: whole billing months before `cutoff`."""
    return Scope(tenant=tenant, ledger=Q(billing_period__lt=cutoff), before=cutoff, audit_before=audit_cutoff)


def before_scope(*, tenant: Tenant, day: date) -> Scope:
    """A deletion request "before D": usage dates before D. The audit log keeps its own retention."""
    return Scope(tenant=tenant, ledger=Q(usage_date__lt=day), before=day)


def dated_records(scope: Scope) -> dict[str, list[QuerySet]]:
    """Per kind, the querysets of records (not ledger, not rollup) that the scope removes."""
    tenant, moment = scope.tenant, start_of_day(scope.before)
    kept_rows = SpendEvent.objects.filter(tenant=tenant, import_run_id=OuterRef("pk")).exclude(scope.ledger)
    gone = {"tenant": tenant, "gone_at__lt": moment}
    records: dict[str, list[QuerySet]] = {
        "import_runs": [
            ImportRun.objects.filter(tenant=tenant, started_at__lt=moment)
            .exclude(status=ImportRun.Status.RUNNING)
            .exclude(Exists(kept_rows))
        ],
        "sync_runs": [
            SyncRun.objects.filter(tenant=tenant, started_at__lt=moment).exclude(status=SyncRun.Status.RUNNING)
        ],
        "recommendations": [Recommendation.objects.filter(tenant=tenant, last_seen_at__lt=moment)],
        "budget_alerts": [BudgetAlert.objects.filter(budget__tenant=tenant, period_start__lt=scope.before)],
        "inventory_items": [
            model.objects.filter(**gone)
            for model in (InferenceProfile, ProvisionedThroughput, FoundationModel, LoggingConfiguration)
        ],
    }
    if scope.audit_before is not None:
        records["audit_entries"] = [
            AuditLog.objects.filter(tenant=tenant, created_at__lt=start_of_day(scope.audit_before))
        ]
    return records


def scope_counts(scope: Scope) -> dict[str, int]:
    """What the scope would remove, per kind (the dry run); nothing is changed."""
    counts = {
        "ledger_rows": SpendEvent.objects.filter(scope.ledger, tenant=scope.tenant).count(),
        "rollup_cells": SpendDaily.objects.filter(scope.ledger, tenant=scope.tenant).count(),
    }
    for kind, querysets in dated_records(scope).items():
        counts[kind] = sum(queryset.count() for queryset in querysets)
    return {kind: counts[kind] for kind in KINDS if kind in counts}


def scope_delete(scope: Scope, *, ledger_batch: int = LEDGER_BATCH) -> dict[str, int]:
    """Remove what the scope covers, in short transactions; returns the rows removed per kind. Safe to run
    again after an interruption: every step only deletes what still matches."""
    counts = ledger_delete(tenant_id=scope.tenant.pk, condition=scope.ledger, batch=ledger_batch)
    for kind, querysets in dated_records(scope).items():
        counts[kind] = sum(records_delete(queryset) for queryset in querysets)
    return {kind: counts[kind] for kind in KINDS if kind in counts}


def ledger_delete(*, tenant_id: int, condition: Q, batch: int = LEDGER_BATCH) -> dict[str, int]:
    """Ledger rows matching `condition`, per billing month, `batch` rows per transaction, each batch taken
    out of the rollup in its transaction. Returns the ledger rows and the rollup cells removed."""
    cells_before = SpendDaily.objects.filter(condition, tenant_id=tenant_id).count()
    periods = (
        SpendDaily.objects.filter(condition, tenant_id=tenant_id)
        .order_by("billing_period")
        .values_list("billing_period", flat=True)
        .distinct()
    )
    rows = 0
    # Each billing month on its own (a partition, once the ledger has them); then a last sweep for rows
    # whose month had no rollup cell (a rollup that had drifted from the ledger).
    for period in [*periods, None]:
        matching = SpendEvent.objects.filter(condition, tenant_id=tenant_id)
        if period is not None:
            matching = matching.filter(billing_period=period)
        rows += _ledger_delete_batches(matching, tenant_id=tenant_id, batch=batch)
    with transaction.atomic():
        # Cells left without rows (only a drifted rollup has any).
        SpendDaily.objects.filter(condition, tenant_id=tenant_id).delete()
    return {"ledger_rows": rows, "rollup_cells": cells_before}


def _ledger_delete_batches(matching: QuerySet[SpendEvent], *, tenant_id: int, batch: int) -> int:
    deleted, last_id = 0, 0
    while True:
        with transaction.atomic():
            taken = list(matching.filter(id__gt=last_id).order_by("id").values("id", *RAW_FIELDS)[:batch])
            if not taken:
                return deleted
            ids = [row["id"] for row in taken]
            SpendEvent.objects.filter(id__in=ids).delete()
            rollup_apply(tenant_id=tenant_id, removed=taken)
        deleted += len(ids)
        last_id = ids[-1]


def records_delete(queryset: QuerySet, *, batch: int = RECORD_BATCH) -> int:
    """Delete a queryset's rows `batch` at a time, each batch in its own transaction."""
    model = queryset.model
    remove: Callable[[list[int]], int]
    if model is AuditLog:
        # The audit log is append-only for everything but its own retention and a tenant's erasure: this is the
        # one place rows leave it (a raw DELETE: nothing refers to an audit row).
        def remove(ids: list[int]) -> int:
            return AuditLog.objects.filter(pk__in=ids)._raw_delete(AuditLog.objects.db)
    else:

        def remove(ids: list[int]) -> int:
            return model.objects.filter(pk__in=ids).delete()[1].get(model._meta.label, 0)

    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:batch])
            if not ids:
                return deleted
            removed = remove(ids)
        if not removed:  # rows that match but cannot be removed: stop rather than loop
            return deleted
        deleted += removed
