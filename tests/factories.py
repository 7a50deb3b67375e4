"""Ledger rows for tests that need a few, made the way importers make them."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from connections.models import Tenant
from finops.ledger.models import SpendEvent
from finops.ledger.rollups import RAW_FIELDS, rollup_apply

_keys = itertools.count()


def ledger_row(**fields: Any) -> SpendEvent:
    """Create a ledger row and add it to the daily rollup, as the loader does in its transaction."""
    event = SpendEvent.objects.create(**fields)
    rollup_apply(tenant_id=event.tenant_id, added=[{name: getattr(event, name) for name in RAW_FIELDS}])
    return event


def billed_line(tenant: Tenant, *, cost: str, day: date = date(2026, 6, 3), **fields: Any) -> SpendEvent:
    """One billed CUR line on `day` (the dedupe key is unique per call)."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return ledger_row(
        tenant=tenant,
        record_kind="billed_line",
        cost_basis="billed",
        dedupe_key=f"factory:{next(_keys)}",
        usage_start=start,
        usage_end=start,
        usage_date=day,
        billing_period=day.replace(day=1),
        cost_usd=Decimal(cost),
        **fields,
    )
