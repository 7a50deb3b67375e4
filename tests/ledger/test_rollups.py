"""The daily rollup stays equal to the raw ledger through every change: imports (COPY on PostgreSQL,
bulk inserts on SQLite), a restated period, re-delivery, re-pricing and reconciliation. The check sums
the raw rows independently (rollup_check) and the totals are also compared with plain ORM sums."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.db.models import F, Sum
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from connections.models import Tenant
from finops.ledger.models import LATENCY_EDGES_MS, ModelPrice, SpendDaily, SpendEvent
from finops.ledger.rollups import dims_key, latency_bucket, rollup_check, rollup_rebuild
from finops.ledger.services import catalog_library_apply, catalog_seed_apply, ledger_reprice
from ingestion.services import import_cur, import_invocation_logs

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _totals(model: type, tenant: Tenant) -> dict[str, object]:
    sums = model.objects.filter(tenant=tenant).aggregate(
        requests=Sum("requests"), input_tokens=Sum("input_tokens"), output_tokens=Sum("output_tokens")
    )
    costs = model.objects.filter(tenant=tenant).values_list("cost_usd", flat=True)
    sums["cost"] = sum((c or Decimal(0) for c in costs), Decimal(0))
    return sums


@pytest.mark.django_db(transaction=True)
def test_the_rollup_follows_every_change_to_the_ledger(tmp_path: Path) -> None:
    # a transactional test may start after another one flushed the migration-seeded catalog
    catalog_seed_apply()
    catalog_library_apply()
    assert ModelPrice.objects.filter(token_type="input").exists()
    tenant = Tenant.objects.create(slug="t", name="T")
    import_cur(tenant=tenant, paths=[FIXTURES / "cur" / "cur2-bedrock-2026-06.csv"], batch_size=50)
    import_invocation_logs(tenant=tenant, paths=[FIXTURES / "invocation_logs"], batch_size=7)
    assert SpendDaily.objects.filter(tenant=tenant).exists()
    assert rollup_check(tenant_id=tenant.pk) == []
    assert _totals(SpendDaily, tenant) == _totals(SpendEvent, tenant)

    # the same files again: nothing changes
    cells = sorted(SpendDaily.objects.filter(tenant=tenant).values_list("dims_key", "events", "cost_usd"))
    import_invocation_logs(tenant=tenant, paths=[FIXTURES / "invocation_logs"])
    assert sorted(SpendDaily.objects.filter(tenant=tenant).values_list("dims_key", "events", "cost_usd")) == cells

    # a restated period replaces its bill lines (delivered under the same period folder)
    restated = tmp_path / "BILLING_PERIOD=2026-06"
    restated.mkdir()
    shutil.copy(FIXTURES / "cur" / "cur2-bedrock-2026-06-restated.csv", restated / "part-0.csv")
    run = import_cur(tenant=tenant, paths=[restated])
    assert run.rows_replaced > 0
    assert rollup_check(tenant_id=tenant.pk) == []

    # re-pricing changes request estimates (here: every input price doubled)
    ModelPrice.objects.filter(token_type="input").update(price_usd=F("price_usd") * 2)
    assert ledger_reprice(tenant=tenant).changed > 0
    assert rollup_check(tenant_id=tenant.pk) == []
    assert _totals(SpendDaily, tenant) == _totals(SpendEvent, tenant)


@pytest.mark.django_db
def test_a_rebuild_from_nothing_equals_the_maintained_rollup() -> None:
    tenant = Tenant.objects.create(slug="t", name="T")
    import_cur(tenant=tenant, paths=[FIXTURES / "cur" / "cur2-bedrock-2026-08-reconcile.csv"])
    import_invocation_logs(tenant=tenant, paths=[FIXTURES / "invocation_logs" / "reconcile-2026-08.jsonl"])
    fields = ("usage_date", "dims_key", "events", "requests", "cost_usd", "allocated_cost_usd", "latency_count")
    maintained = sorted(SpendDaily.objects.filter(tenant=tenant).values_list(*fields))
    assert SpendEvent.objects.filter(tenant=tenant, allocated_cost_usd__gt=0).exists()
    SpendDaily.objects.filter(tenant=tenant).delete()
    rollup_rebuild(tenant_id=tenant.pk)
    assert sorted(SpendDaily.objects.filter(tenant=tenant).values_list(*fields)) == maintained
    assert rollup_check(tenant_id=tenant.pk) == []


@pytest.mark.django_db
def test_the_check_sees_a_rollup_that_drifted() -> None:
    tenant = Tenant.objects.create(slug="t", name="T")
    import_invocation_logs(tenant=tenant, paths=[FIXTURES / "invocation_logs" / "invocations.jsonl"])
    assert rollup_check(tenant_id=tenant.pk) == []
    first, second = SpendDaily.objects.filter(tenant=tenant, events=1)[:2]
    first.requests += 1
    first.save()
    assert [p for p in rollup_check(tenant_id=tenant.pk) if "requests" in p]
    # the raw row behind the second cell goes: that cell is now in the rollup only
    event = SpendEvent.objects.filter(tenant=tenant, usage_date=second.usage_date)
    gone = next(e for e in event if dims_key({**e.__dict__}) == second.dims_key)
    gone.delete()
    problems = rollup_check(tenant_id=tenant.pk)
    assert len(problems) == 2 and any("not in the ledger" in p for p in problems)


def _row(**overrides: object) -> dict[str, object]:
    from finops.ledger.rollups import DIMENSIONS

    row: dict[str, object] = {d: "" for d in DIMENSIONS}
    row.update(billing_period=__import__("datetime").date(2026, 6, 1), unpriced=False)
    row.update(overrides)
    return row


def test_the_cell_key_cannot_be_confused_by_values_that_hold_separators() -> None:
    assert dims_key(_row(team="a:b", application="c")) != dims_key(_row(team="a", application=":bc"))
    assert dims_key(_row(team="1:a", application="")) != dims_key(_row(team="", application="1:a"))
    assert dims_key(_row(unpriced=True)) != dims_key(_row(unpriced=False))
    assert dims_key(_row(team="x")) == dims_key(_row(team="x"))


def test_latency_buckets_cover_every_value() -> None:
    assert latency_bucket(0) == "latency_b00"
    assert latency_bucket(LATENCY_EDGES_MS[0] - 1) == "latency_b00"
    assert latency_bucket(LATENCY_EDGES_MS[0]) == "latency_b01"
    assert latency_bucket(10**9) == f"latency_b{len(LATENCY_EDGES_MS):02d}"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="work_mem is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
@override_settings(FINOPS_ROLLUP_WORK_MEM="48MB")
def test_a_rebuild_groups_by_hashing_in_the_memory_its_setting_gives(tenant: Tenant) -> None:
    import_cur(tenant=tenant, paths=[FIXTURES / "cur" / "cur2-bedrock-2026-06.csv"])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SHOW work_mem")
        (before,) = cursor.fetchone()
        with CaptureQueriesContext(connection) as queries:
            rollup_rebuild(tenant_id=tenant.pk)
        cursor.execute("SHOW work_mem")
        assert cursor.fetchone() == ("48MB",)
        # Sorting was off for the statement that grouped the rows (a hash in memory), and is on again after it.
        cursor.execute("SHOW enable_sort")
        assert cursor.fetchone() == ("on",)
        sql = [query["sql"] for query in queries]
        (grouping,) = [i for i, text in enumerate(sql) if text.startswith("INSERT INTO ai_spend_daily ")]
        assert "set_config('enable_sort', 'off', true)" in sql[grouping - 1]
        assert sql[grouping + 1].startswith("SELECT set_config('enable_sort',")
    with connection.cursor() as cursor:  # SET LOCAL: the transaction's own, gone with it
        cursor.execute("SHOW work_mem")
        assert cursor.fetchone() == (before,) != ("48MB",)
    assert rollup_check(tenant_id=tenant.pk) == []
