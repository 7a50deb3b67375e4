"""Reads for the data lifecycle, always scoped by tenant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Max, Min, Sum

from connections.models import Tenant
from finops.ledger.models import SpendDaily, SpendEvent
from lifecycle.cutoffs import retention_cutoff
from lifecycle.models import DeletionRequest
from lifecycle.services import audit_retention_months


@dataclass(frozen=True)
class DataSummary:
    retention_months: int
    cutoff: date
    audit_retention_months: int
    oldest_usage_date: date | None
    newest_usage_date: date | None
    ledger_rows: int
    expired_rows: int  # past retention, removed by the next nightly run
    pending: DeletionRequest | None
    history: list[DeletionRequest]


def tenant_data_summary(*, tenant: Tenant, today: date) -> DataSummary:
    """Retention, the span of data kept and the deletion requests, from the rollup (not the raw ledger)."""
    cutoff = retention_cutoff(today=today, months=tenant.retention_months)
    # Metric buckets are in the ledger too (rows of data kept), so they count here.
    cells = SpendDaily.objects.filter(tenant=tenant)
    span = cells.aggregate(oldest=Min("usage_date"), newest=Max("usage_date"), rows=Sum("events"))
    expired = cells.filter(billing_period__lt=cutoff).aggregate(rows=Sum("events"))["rows"] or 0
    requests = list(DeletionRequest.objects.filter(tenant=tenant).order_by("-requested_at", "-id")[:10])
    pending = next((r for r in requests if r.state in ("pending", "running")), None)
    return DataSummary(
        retention_months=tenant.retention_months,
        cutoff=cutoff,
        audit_retention_months=audit_retention_months(),
        oldest_usage_date=span["oldest"],
        newest_usage_date=span["newest"],
        ledger_rows=int(span["rows"] or 0),
        expired_rows=int(expired),
        pending=pending,
        history=[r for r in requests if r is not pending],
    )


def ledger_oldest_usage_date(*, tenant: Tenant) -> date | None:
    """From the raw rows (support and tests; the page reads the rollup)."""
    return SpendEvent.objects.filter(tenant=tenant).aggregate(oldest=Min("usage_date"))["oldest"]
