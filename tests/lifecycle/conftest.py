"""A ledger spread over 18 billing months for the tenant and the other tenant, made the way importers make it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db.models import QuerySet

from connections.models import AuditLog, Tenant
from finops.ledger.models import SpendEvent
from tests.factories import ledger_row

# "Today" for every lifecycle test; with 12 months of retention the cut-off is 2025-06-01 (worked out by hand:
# June 2026 and the twelve months before it are kept).
TODAY = date(2026, 6, 15)
NOW = datetime(2026, 6, 15, 3, 0, tzinfo=UTC)
CUTOFF_12 = date(2025, 6, 1)
MONTHS = [date(2025 + (m - 1) // 12, (m - 1) % 12 + 1, 1) for m in range(1, 19)]  # 2025-01 .. 2026-06

_keys = itertools.count()


@dataclass(frozen=True)
class Row:
    usage_date: date
    billing_period: date
    record_kind: str


def _row(tenant: Tenant, *, day: date, period: date, kind: str, n: int) -> SpendEvent:
    start = datetime(day.year, day.month, day.day, 10, n, tzinfo=UTC)
    common = {
        "tenant": tenant,
        "dedupe_key": f"lc:{next(_keys)}",
        "usage_start": start,
        "usage_end": start + timedelta(hours=1),
        "usage_date": day,
        "billing_period": period,
        "account_id": "111122223333",
        "region": "us-east-1",
        "model_id": ["anthropic.claude-sonnet-4", "amazon.nova-lite-v1"][n % 2],
        "team": ["search", "support"][n % 2],
        "tags": {"team": ["search", "support"][n % 2], "n": n},
    }
    if kind == "billed_line":
        return ledger_row(
            record_kind="billed_line",
            cost_basis="billed",
            cost_usd=Decimal("12.3456789012") + n,
            input_tokens=1000 * (n + 1),
            usage_type="USE1-Claude4Sonnet-input-tokens",
            line_item_type="Usage",
            **common,
        )
    if kind == "request":
        return ledger_row(
            record_kind="request",
            cost_basis="estimated",
            cost_usd=Decimal("0.0012345678") * (n + 1),
            allocated_cost_usd=Decimal("0.0100000001") * (n + 1),
            input_tokens=200 + n,
            output_tokens=50 + n,
            cache_read_tokens=10 * n,
            requests=1,
            latency_ms=300 + 700 * n,
            iam_principal=f"arn:aws:iam::111122223333:user/u{n}",
            request_id=f"req-{n}-{next(_keys)}",
            **common,
        )
    return ledger_row(record_kind="metric", cost_basis="", requests=5, input_tokens=900, **common)


def make_ledger(tenant: Tenant) -> list[Row]:
    """Per billing month: two bill lines, three requests, one metric bucket; plus one late bill line whose
    usage date is the last day of the month before its billing period. Returns what was made."""
    made: list[Row] = []
    for period in MONTHS:
        for n, (kind, day) in enumerate(
            [("billed_line", 3), ("billed_line", 20), ("request", 3), ("request", 11), ("request", 27), ("metric", 5)]
        ):
            usage = period.replace(day=day)
            _row(tenant, day=usage, period=period, kind=kind, n=n)
            made.append(Row(usage, period, kind))
    late_day, late_period = date(2025, 5, 31), date(2025, 6, 1)
    _row(tenant, day=late_day, period=late_period, kind="billed_line", n=7)
    made.append(Row(late_day, late_period, "billed_line"))
    return made


@pytest.fixture
def ledgers(tenant: Tenant, other_tenant: Tenant) -> dict[str, list[Row]]:
    return {tenant.slug: make_ledger(tenant), other_tenant.slug: make_ledger(other_tenant)}


def backdate(queryset: QuerySet, **values: object) -> None:
    """Set auto_now_add timestamps in tests (the audit log's own update() refuses: it is append-only)."""
    QuerySet.update(queryset, **values)


def audit_actions(tenant: Tenant) -> list[str]:
    return list(AuditLog.objects.filter(tenant=tenant).order_by("id").values_list("action", flat=True))
