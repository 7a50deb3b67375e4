"""Ledgers for the export tests, loaded by the real importers from the exact-format fixtures (so restatement,
reconciliation and the daily rollup are as in production), and the billed totals worked out independently."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from connections.models import Tenant
from finops.ledger.models import SpendEvent
from ingestion.services import import_cur, import_invocation_logs
from tests.fixtures import make_fixtures as mf

JUNE = date(2026, 6, 1)
AUGUST = date(2026, 8, 1)
SEPTEMBER = date(2026, 9, 1)
JUNE_CSV = mf.CUR_DIR / "cur2-bedrock-2026-06.csv"
JUNE_RESTATED_CSV = mf.CUR_DIR / "cur2-bedrock-2026-06-restated.csv"
AUGUST_CSV = mf.CUR_DIR / "cur2-bedrock-2026-08-reconcile.csv"
AUGUST_LOGS = mf.LOG_DIR / "reconcile-2026-08.jsonl"
# Usage, a refund in the period, a refund of August usage (a correction), an enterprise discount, a credit, tax,
# provisioned throughput and a member account's batch usage.
SEPTEMBER_CSV = mf.CUR_DIR / "cur2-bedrock-2026-09-focus.csv"


def ledger_billed(tenant: Tenant, period: date) -> Decimal:
    """The period's billed dollars, summed here from the ledger's rows."""
    total = Decimal(0)
    for row in SpendEvent.objects.filter(tenant=tenant, billing_period=period, cost_basis="billed"):
        total += row.cost_usd or Decimal(0)
    return total


def file_billed(path: Path) -> Decimal:
    """The Bedrock lines' unblended cost, summed from the CUR file itself (the invoice as delivered)."""
    total = Decimal(0)
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            # Bedrock's own lines, and Marketplace models sold through it ("... (Amazon Bedrock Edition)")
            named = " ".join(
                row[k] for k in ("line_item_product_code", "product_servicecode", "product_product_family")
            )
            bedrock = "bedrock" in f"{named} {row['product']}".lower()
            if bedrock:
                total += Decimal(row["line_item_unblended_cost"])
    return total


@pytest.fixture
def billed_ledger(tenant: Tenant) -> Tenant:
    """June (usage, Marketplace, provisioned throughput, a credit, a refund, tax; a non-Bedrock line the importer
    skips), August with its invocation logs (reconciled: bill lines carry allocated dollars) and September."""
    import_invocation_logs(tenant=tenant, paths=[AUGUST_LOGS])
    for path in (JUNE_CSV, AUGUST_CSV, SEPTEMBER_CSV):
        run = import_cur(tenant=tenant, paths=[path])
        assert run.rows_loaded and not run.rows_rejected, f"{path.name}: {run.status} {run.rows_rejected} rejected"
    return tenant
