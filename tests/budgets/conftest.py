"""Budget test helpers: an analyst of the shared tenant, and spend rows made the way the CUR importer makes them
(the daily rollup rebuilt after)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from connections.models import Membership, Tenant
from finops.ledger.models import SpendEvent
from finops.ledger.rollups import rollup_rebuild
from tests.factories import billed_line


@pytest.fixture
def analyst(tenant: Tenant):  # noqa: ANN201
    user = get_user_model().objects.create_user("ana", password="pw-ana-123")
    Membership.objects.create(user=user, tenant=tenant, role=Membership.Role.ANALYST)
    return user


def bill(tenant: Tenant, first: date, last: date, cost: str, **fields: Any) -> None:
    """One billed line per day from `first` to `last` (inclusive)."""
    day = first
    while day <= last:
        billed_line(tenant, cost=cost, day=day, **fields)
        day += timedelta(days=1)


def rebuild(tenant: Tenant) -> None:
    rollup_rebuild(tenant_id=tenant.pk)


def raw_billed(tenant: Tenant, first: date, last: date, **fields: Any) -> Decimal:
    """Billed dollars summed in plain Python over the raw rows, independently of the selectors."""
    rows = SpendEvent.objects.filter(tenant=tenant, cost_basis="billed", **fields).values("usage_date", "cost_usd")
    return sum((r["cost_usd"] for r in rows if first <= r["usage_date"] <= last), Decimal(0))
