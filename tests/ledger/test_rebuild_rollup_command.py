"""rebuild_rollup: finds a rollup that drifted from the ledger, says where, and rebuilds it; --check only looks."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from connections.models import AuditLog, Tenant
from finops.ledger.models import SpendDaily, SpendEvent
from finops.ledger.rollups import rollup_check, rollup_rebuild
from tests.factories import billed_line


@pytest.fixture
def drifted(tenant: Tenant) -> Tenant:
    billed_line(tenant, cost="10.00", team="search")
    billed_line(tenant, cost="2.50", team="ads")
    rollup_rebuild(tenant_id=tenant.pk)
    SpendEvent.objects.filter(tenant=tenant, team="ads").update(cost_usd=Decimal("4.00"))  # a hand edit
    return tenant


def _rollup_total(tenant: Tenant) -> Decimal:
    return sum((c.cost_usd for c in SpendDaily.objects.filter(tenant=tenant)), Decimal(0))


def test_check_reports_the_drift_and_changes_nothing(drifted: Tenant) -> None:
    out = StringIO()
    with pytest.raises(CommandError, match="run without --check"):
        call_command("rebuild_rollup", tenant="acme", check=True, stdout=out)
    assert "differs from the ledger in 1 places" in out.getvalue() and "cost_usd: rollup 2.5" in out.getvalue()
    assert _rollup_total(drifted) == Decimal("12.50")


def test_a_rebuild_makes_the_rollup_equal_the_ledger_and_is_audited(drifted: Tenant, other_tenant: Tenant) -> None:
    out = StringIO()
    call_command("rebuild_rollup", all=True, stdout=out)
    assert rollup_check(tenant_id=drifted.pk) == []
    assert _rollup_total(drifted) == Decimal("14.00")
    assert "globex: the rollup matches the ledger." in out.getvalue()
    assert AuditLog.objects.filter(tenant=drifted, action="rollup.rebuilt", details__differences=1).exists()
    call_command("rebuild_rollup", tenant="acme", check=True, stdout=StringIO())  # agrees now: no error


def test_an_unknown_tenant_is_an_error(db) -> None:  # noqa: ANN001
    with pytest.raises(CommandError, match="No tenant 'nope'"):
        call_command("rebuild_rollup", tenant="nope")
