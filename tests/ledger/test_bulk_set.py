"""bulk_set writes exactly the given fields of exactly the given rows, reports how many changed, and
writes nothing when the values are already there (a reconciliation run twice)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connections.models import Tenant
from finops.ledger.bulk import bulk_set
from finops.ledger.models import SpendEvent
from tests.factories import billed_line


@pytest.mark.django_db
def test_bulk_set_writes_the_fields_of_the_rows_given_and_nothing_else() -> None:
    tenant = Tenant.objects.create(slug="t", name="T")
    rows = [billed_line(tenant, cost=f"{i}.25", team="old", application="app") for i in range(5)]
    untouched = billed_line(tenant, cost="9", team="old")
    updates = [
        SpendEvent(id=row.id, allocated_cost_usd=Decimal(f"{i}.1234567891"), team=f"team-{i}")
        for i, row in enumerate(rows[:4])
    ]
    updates.append(SpendEvent(id=rows[4].id, allocated_cost_usd=None, team="old"))

    assert bulk_set(updates, ["allocated_cost_usd", "team"]) == 4  # the fifth already holds those values

    stored = {e.id: e for e in SpendEvent.objects.filter(tenant=tenant)}
    for i, row in enumerate(rows[:4]):
        assert stored[row.id].allocated_cost_usd == Decimal(f"{i}.1234567891")
        assert stored[row.id].team == f"team-{i}"
        assert stored[row.id].application == "app"
        assert stored[row.id].cost_usd == Decimal(f"{i}.25")
    assert stored[rows[4].id].allocated_cost_usd is None
    assert stored[untouched.id].team == "old"
    assert stored[untouched.id].allocated_cost_usd is None

    assert bulk_set(updates, ["allocated_cost_usd", "team"]) == 0  # nothing changed the second time
    assert bulk_set([], ["team"]) == 0
