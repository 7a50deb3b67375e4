"""The coarse rollups (aggregate awareness): on PostgreSQL, triggers keep each equal to the ledger summed over
its dimensions through loads, a restated period, re-pricing and rebuilds; the explorer reads the smallest
one that has a view's dimensions and shows the same numbers as from SpendDaily, for every dimension. On
SQLite they stay empty and every read goes to SpendDaily."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import F

from connections.models import Tenant
from finops.explorer import results
from finops.explorer.benchmark import generate_rows, load_rows
from finops.explorer.cells import aggregate, cells, group_expression, query_rollup
from finops.explorer.query import DIMENSIONS, TIME_DIMENSIONS, DimFilter, ExplorerQuery
from finops.ledger.models import ModelPrice, SpendDaily, SpendEvent
from finops.ledger.rollup_models import COARSE_ROLLUPS, SpendDailyCoarse, SpendDailyPeople
from finops.ledger.rollups import rollup_check, rollup_rebuild
from finops.ledger.services import catalog_library_apply, catalog_seed_apply, ledger_reprice
from ingestion.services import import_cur, import_invocation_logs

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
END = date(2026, 11, 20)
ON_PG = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="SQLite keeps no coarse rollup")


def _ledger(tenant: Tenant) -> None:
    """Generated requests with users and teams, and real CUR and invocation-log files (unpriced rows, several
    line item types, reconciled allocations)."""
    load_rows(generate_rows(tenant_id=tenant.pk, events=1500, days=12, end=END), progress=lambda _: None)
    rollup_rebuild(tenant_id=tenant.pk)
    import_cur(tenant=tenant, paths=[FIXTURES / "cur" / "cur2-bedrock-2026-08-reconcile.csv"])
    import_invocation_logs(tenant=tenant, paths=[FIXTURES / "invocation_logs" / "reconcile-2026-08.jsonl"])
    import_invocation_logs(tenant=tenant, paths=[FIXTURES / "invocation_logs" / "invocations.jsonl"])


def _expected(tenant: Tenant, dimensions: tuple[str, ...]) -> dict[tuple, tuple]:
    """The ledger's rows summed in Python per day and these dimensions: (rows, requests, tokens, dollars)."""
    out: dict[tuple, list] = {}
    for row in SpendEvent.objects.filter(tenant=tenant).values("usage_date", *dimensions, "requests", "input_tokens",
                                                                 "output_tokens", "cost_usd"):  # fmt: skip
        key = (row["usage_date"], *(row[d] or "" if d != "unpriced" else row[d] for d in dimensions))
        sums = out.setdefault(key, [0, 0, 0, Decimal(0)])
        sums[0] += 1
        sums[1] += row["requests"] or 0
        sums[2] += (row["input_tokens"] or 0) + (row["output_tokens"] or 0)
        sums[3] += row["cost_usd"] or Decimal(0)
    return {k: tuple(v) for k, v in out.items()}


def _stored(model: type, tenant: Tenant, dimensions: tuple[str, ...]) -> dict[tuple, tuple]:
    fields = ("usage_date", *dimensions, "events", "requests", "input_tokens", "output_tokens", "cost_usd")
    out = {}
    for row in model.objects.filter(tenant=tenant).values_list(*fields):
        *key, events, requests, inp, outp, cost = row
        out[tuple(key)] = (events, requests, inp + outp, cost)
    return out


@ON_PG
@pytest.mark.django_db(transaction=True)
def test_the_coarse_rollups_follow_every_change_to_the_ledger(tmp_path: Path) -> None:
    catalog_seed_apply()
    catalog_library_apply()
    tenant = Tenant.objects.create(slug="t", name="T")
    other = Tenant.objects.create(slug="o", name="O")
    _ledger(tenant)
    import_cur(tenant=other, paths=[FIXTURES / "cur" / "cur2-bedrock-2026-06.csv"])

    def agree() -> None:
        for model, dimensions in COARSE_ROLLUPS:
            assert _stored(model, tenant, dimensions) == _expected(tenant, dimensions), model.__name__
        assert rollup_check(tenant_id=tenant.pk) == []

    agree()
    assert 0 < SpendDailyCoarse.objects.filter(tenant=tenant).count() < SpendDaily.objects.filter(tenant=tenant).count()
    assert SpendDailyPeople.objects.filter(tenant=tenant).exclude(user_id="").exists()

    # a restated period replaces its bill lines
    restated = tmp_path / "BILLING_PERIOD=2026-06"
    restated.mkdir()
    import_cur(tenant=tenant, paths=[FIXTURES / "cur" / "cur2-bedrock-2026-06.csv"])
    agree()
    shutil.copy(FIXTURES / "cur" / "cur2-bedrock-2026-06-restated.csv", restated / "part-0.csv")
    assert import_cur(tenant=tenant, paths=[restated]).rows_replaced > 0
    agree()

    # re-pricing updates request cells; a rebuild of one billing period, then of everything
    ModelPrice.objects.filter(token_type="input").update(price_usd=F("price_usd") * 2)
    assert ledger_reprice(tenant=tenant).changed > 0
    agree()
    rollup_rebuild(tenant_id=tenant.pk, billing_periods=[date(2026, 6, 1)])
    agree()
    rollup_rebuild(tenant_id=tenant.pk)
    agree()
    assert _stored(SpendDailyCoarse, other, COARSE_ROLLUPS[0][1]) == _expected(other, COARSE_ROLLUPS[0][1])


@ON_PG
@pytest.mark.django_db
def test_a_drifted_coarse_rollup_is_reported_and_a_rebuild_mends_it() -> None:
    tenant = Tenant.objects.create(slug="t", name="T")
    import_invocation_logs(tenant=tenant, paths=[FIXTURES / "invocation_logs" / "invocations.jsonl"])
    assert rollup_check(tenant_id=tenant.pk) == []
    SpendDailyPeople.objects.filter(pk=SpendDailyPeople.objects.filter(tenant=tenant).first().pk).update(
        cost_usd=F("cost_usd") + 1
    )
    assert any("ai_spend_daily_people" in p for p in rollup_check(tenant_id=tenant.pk))
    out = StringIO()
    with pytest.raises(Exception, match="differs"):
        call_command("rebuild_rollup", "--tenant", "t", "--check", stdout=out)
    call_command("rebuild_rollup", "--tenant", "t", stdout=StringIO())
    assert rollup_check(tenant_id=tenant.pk) == []


@pytest.mark.django_db
def test_the_explorer_picks_the_smallest_rollup_with_the_views_dimensions() -> None:
    query = ExplorerQuery(start=END, end=END)
    pick = {
        ("model",): SpendDailyCoarse,
        ("team", "model"): SpendDailyCoarse,
        ("user",): SpendDailyPeople,
        ("user", "model"): SpendDaily,
    }
    for group_by, expected in pick.items():
        chosen = query_rollup(replace(query, group_by=group_by))
        assert chosen is (expected if connection.vendor == "postgresql" else SpendDaily), group_by
    # a filter counts like a group-by
    by_model_for_a_user = replace(query, group_by=("model",), filters=(DimFilter("user", ("u",)),))
    assert query_rollup(by_model_for_a_user) is SpendDaily


@pytest.mark.django_db
def test_every_dimension_shows_the_same_numbers_as_from_the_fine_rollup() -> None:
    tenant = Tenant.objects.create(slug="t", name="T")
    _ledger(tenant)
    for basis in ("billed", "allocated"):
        query = ExplorerQuery(start=date(2026, 1, 1), end=END, basis=basis)
        for dimension in DIMENSIONS:
            if dimension in TIME_DIMENSIONS:
                continue
            view = replace(query, group_by=(dimension,))
            rows, total = results.table(tenant, view)
            fine = aggregate(cells(tenant, view), {"k": group_expression(dimension)})
            assert {r.keys[dimension]: r.sums for r in rows} == {str(k[0]): s for k, s in fine.items()}, dimension
            assert total.cost == sum((s.cost(basis) for s in fine.values()), Decimal(0))
            # the chart's days add up to the table's total
            chart = results.series(tenant, view)
            assert sum((sum(g["values"], Decimal(0)) for g in chart.groups), Decimal(0)) == total.cost, dimension
    # and the billed dollars per team equal the ledger's own rows
    rows, _ = results.table(tenant, replace(query, basis="billed", group_by=("team",)))
    expected: dict[str, Decimal] = {}
    for team, cost in SpendEvent.objects.filter(tenant=tenant, cost_basis="billed").values_list("team", "cost_usd"):
        expected[team] = expected.get(team, Decimal(0)) + cost
    assert {r.keys["team"]: r.sums.billed for r in rows if r.sums.billed} == {k: v for k, v in expected.items() if v}


@ON_PG
@pytest.mark.django_db(transaction=True)
def test_a_cur_period_defers_the_coarse_triggers_and_recomputes_its_cells_before_commit() -> None:
    """Inside `coarse_deferred` SpendDaily changes leave the coarse cells alone (the write path's saving); on
    leaving, the period's coarse cells equal SpendDaily again, weekly ones included; an error rolls back both."""
    from django.db import transaction

    from finops.ledger.coarse import coarse_deferred

    tenant = Tenant.objects.create(slug="t", name="T")
    import_cur(tenant=tenant, paths=[FIXTURES / "cur" / "cur2-bedrock-2026-06.csv"])
    assert rollup_check(tenant_id=tenant.pk) == []
    period = date(2026, 6, 1)
    coarse_before = _stored(SpendDailyCoarse, tenant, COARSE_ROLLUPS[0][1])
    with transaction.atomic(), coarse_deferred(tenant_id=tenant.pk, billing_period=period):
        SpendEvent.objects.filter(tenant=tenant, billing_period=period).update(cost_usd=F("cost_usd") * 3)
        rollup_rebuild(tenant_id=tenant.pk, billing_periods=[period])
        # the triggers waited: the coarse cells still hold the old dollars
        assert _stored(SpendDailyCoarse, tenant, COARSE_ROLLUPS[0][1]) == coarse_before
    assert _stored(SpendDailyCoarse, tenant, COARSE_ROLLUPS[0][1]) == _expected(tenant, COARSE_ROLLUPS[0][1])
    assert _stored(SpendDailyCoarse, tenant, COARSE_ROLLUPS[0][1]) != coarse_before
    assert rollup_check(tenant_id=tenant.pk) == []
    # after the block the triggers work again
    SpendEvent.objects.filter(tenant=tenant, billing_period=period).update(cost_usd=F("cost_usd") * 2)
    rollup_rebuild(tenant_id=tenant.pk, billing_periods=[period])
    assert rollup_check(tenant_id=tenant.pk) == []

    with pytest.raises(RuntimeError), transaction.atomic(), coarse_deferred(tenant_id=tenant.pk, billing_period=period):
        SpendEvent.objects.filter(tenant=tenant, billing_period=period).delete()
        rollup_rebuild(tenant_id=tenant.pk, billing_periods=[period])
        raise RuntimeError("killed mid-period")
    assert SpendEvent.objects.filter(tenant=tenant, billing_period=period).exists()
    assert rollup_check(tenant_id=tenant.pk) == []


def test_every_coarse_and_weekly_rollup_keeps_the_dimensions_sums_depend_on() -> None:
    from finops.ledger.rollup_models import SUM_DIMENSIONS, WEEKLY_ROLLUPS

    assert "source" in SUM_DIMENSIONS  # tokens are counted per platform (requests' when it has any, else bills')
    for model, dimensions in COARSE_ROLLUPS:
        assert set(SUM_DIMENSIONS) <= set(dimensions), model.__name__
    for model, dimensions, _, _ in WEEKLY_ROLLUPS:
        assert set(SUM_DIMENSIONS) <= set(dimensions), model.__name__
