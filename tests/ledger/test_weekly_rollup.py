"""The weekly people rollup: on PostgreSQL, triggers on the daily people rollup keep it equal to the ledger summed
per ISO week (Monday) and people dimensions through loads, a restated period, re-pricing and rebuilds; rollup_check
and rebuild_rollup --check report one that drifted. The explorer reads a range's whole weeks from it and the edge
days from the daily one, and shows the ledger's own numbers whatever weekday the range starts and ends on (both
databases: SQLite reads SpendDaily)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date, timedelta
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
from finops.explorer.cells import aggregate, cells, group_expression, range_cells, week_split
from finops.explorer.query import ExplorerQuery
from finops.explorer.selectors import dimension_values, totals
from finops.ledger.models import ModelPrice, SpendEvent
from finops.ledger.rollup_models import PEOPLE_DIMENSIONS, SpendDailyPeople, SpendPeopleSpan, SpendWeeklyPeople
from finops.ledger.rollups import rollup_check, rollup_rebuild
from finops.ledger.services import catalog_library_apply, catalog_seed_apply, ledger_reprice
from ingestion.services import import_cur, import_invocation_logs

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
END = date(2026, 11, 20)  # a Friday
ZERO = Decimal(0)
ON_PG = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="SQLite keeps no weekly rollup")


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _ledger(tenant: Tenant) -> None:
    """Three weeks of generated requests with users and teams, and real CUR and invocation-log files."""
    load_rows(generate_rows(tenant_id=tenant.pk, events=1500, days=19, end=END), progress=lambda _: None)
    rollup_rebuild(tenant_id=tenant.pk)
    import_cur(tenant=tenant, paths=[FIXTURES / "cur" / "cur2-bedrock-2026-08-reconcile.csv"])
    import_invocation_logs(tenant=tenant, paths=[FIXTURES / "invocation_logs" / "reconcile-2026-08.jsonl"])
    import_invocation_logs(tenant=tenant, paths=[FIXTURES / "invocation_logs" / "invocations.jsonl"])


def _expected_weeks(tenant: Tenant) -> dict[tuple, tuple]:
    """The ledger's rows summed in Python per ISO week and people dimension: (rows, requests, tokens, dollars,
    allocated dollars)."""
    out: dict[tuple, list] = {}
    fields = ("usage_date", *PEOPLE_DIMENSIONS, "requests", "input_tokens", "output_tokens", "cost_usd",
              "allocated_cost_usd")  # fmt: skip
    for row in SpendEvent.objects.filter(tenant=tenant).values(*fields):
        key = (_monday(row["usage_date"]), *(row[d] for d in PEOPLE_DIMENSIONS))
        sums = out.setdefault(key, [0, 0, 0, ZERO, ZERO])
        sums[0] += 1
        sums[1] += row["requests"] or 0
        sums[2] += (row["input_tokens"] or 0) + (row["output_tokens"] or 0)
        sums[3] += row["cost_usd"] or ZERO
        sums[4] += row["allocated_cost_usd"] or ZERO
    return {k: tuple(v) for k, v in out.items()}


def _stored_weeks(tenant: Tenant) -> dict[tuple, tuple]:
    fields = ("usage_date", *PEOPLE_DIMENSIONS, "events", "requests", "input_tokens", "output_tokens", "cost_usd",
              "allocated_cost_usd")  # fmt: skip
    out = {}
    for row in SpendWeeklyPeople.objects.filter(tenant=tenant).values_list(*fields):
        *key, events, requests, inp, outp, cost, allocated = row
        assert key[0].weekday() == 0, "a weekly cell is dated by its Monday"
        out[tuple(key)] = (events, requests, inp + outp, cost, allocated)
    return out


@ON_PG
@pytest.mark.django_db(transaction=True)
def test_the_weekly_rollup_follows_every_change_to_the_ledger(tmp_path: Path) -> None:
    catalog_seed_apply()
    catalog_library_apply()
    tenant = Tenant.objects.create(slug="t", name="T")
    other = Tenant.objects.create(slug="o", name="O")
    _ledger(tenant)
    import_cur(tenant=other, paths=[FIXTURES / "cur" / "cur2-bedrock-2026-06.csv"])

    def agree() -> None:
        assert _stored_weeks(tenant) == _expected_weeks(tenant)
        assert rollup_check(tenant_id=tenant.pk) == []

    agree()
    weekly = SpendWeeklyPeople.objects.filter(tenant=tenant).count()
    assert 0 < weekly < SpendDailyPeople.objects.filter(tenant=tenant).count()

    # a restated period replaces its bill lines (June 2026 starts on a Monday, ends on a Tuesday: its last
    # week is shared with July's first days)
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
    rollup_rebuild(tenant_id=tenant.pk, start=date(2026, 11, 11), end=date(2026, 11, 13))  # mid-week days
    agree()
    rollup_rebuild(tenant_id=tenant.pk)
    agree()
    assert _stored_weeks(other) == _expected_weeks(other)

    # a tenant's rows all gone: no weekly cell is left behind
    SpendEvent.objects.filter(tenant=tenant).delete()
    rollup_rebuild(tenant_id=tenant.pk)
    assert not SpendWeeklyPeople.objects.filter(tenant=tenant).exists()


@ON_PG
@pytest.mark.django_db
def test_a_drifted_weekly_rollup_is_reported_and_a_rebuild_mends_it() -> None:
    tenant = Tenant.objects.create(slug="t", name="T")
    import_invocation_logs(tenant=tenant, paths=[FIXTURES / "invocation_logs" / "invocations.jsonl"])
    assert rollup_check(tenant_id=tenant.pk) == []
    cell = SpendWeeklyPeople.objects.filter(tenant=tenant).first()
    SpendWeeklyPeople.objects.filter(pk=cell.pk).update(allocated_cost_usd=F("allocated_cost_usd") + 1)
    assert any("ai_spend_weekly_people" in p for p in rollup_check(tenant_id=tenant.pk))
    with pytest.raises(Exception, match="differs"):
        call_command("rebuild_rollup", "--tenant", "t", "--check", stdout=StringIO())
    call_command("rebuild_rollup", "--tenant", "t", stdout=StringIO())
    assert rollup_check(tenant_id=tenant.pk) == []


def test_a_range_splits_into_whole_iso_weeks_and_edge_days() -> None:
    wednesday, friday = date(2026, 11, 4), END
    assert week_split(wednesday, friday) == (date(2026, 11, 9), date(2026, 11, 15))
    assert week_split(date(2026, 11, 9), date(2026, 11, 22)) == (date(2026, 11, 9), date(2026, 11, 22))
    assert week_split(date(2026, 11, 10), date(2026, 11, 19)) is None  # Tuesday to next Thursday: no whole week
    assert week_split(date(2026, 11, 8), date(2026, 11, 16)) == (date(2026, 11, 9), date(2026, 11, 15))


def _cost(row: dict, basis: str) -> Decimal:
    if basis == "allocated":
        if row["record_kind"] == "request":
            return row["allocated_cost_usd"] or ZERO
        if row["record_kind"] == "billed_line":
            return (row["cost_usd"] or ZERO) - (row["allocated_cost_usd"] or ZERO)
        return ZERO
    return (row["cost_usd"] or ZERO) if row["cost_basis"] == basis else ZERO


RANGES = (
    (date(2026, 11, 4), END),  # Wednesday to Friday: edge days on both sides of two whole weeks
    (date(2026, 11, 9), date(2026, 11, 15)),  # one whole week, no edge
    (date(2026, 11, 10), date(2026, 11, 19)),  # no whole week
    (date(2026, 1, 1), END),  # the fixtures' months too
)


@pytest.mark.django_db
@pytest.mark.parametrize("basis", ["allocated", "billed"])
def test_a_long_range_by_person_shows_the_ledgers_numbers_whatever_its_weekdays(basis: str) -> None:
    tenant = Tenant.objects.create(slug="t", name="T")
    _ledger(tenant)
    rows = list(SpendEvent.objects.filter(tenant=tenant).exclude(record_kind="metric").values())
    for start, end in RANGES:
        inside = [r for r in rows if start <= r["usage_date"] <= end]
        for dimension, column in (("user", "user_id"), ("team", "team"), ("agent", "agent_id")):
            view = ExplorerQuery(start=start, end=end, basis=basis, group_by=(dimension,))
            table, total = results.table(tenant, view)
            expected: dict[str, Decimal] = {}
            requests: dict[str, int] = {}
            for r in inside:
                expected[r[column]] = expected.get(r[column], ZERO) + _cost(r, basis)
                requests[r[column]] = requests.get(r[column], 0) + (r["requests"] or 0)
            assert {row.keys[dimension]: row.cost for row in table} == expected, (start, end, dimension)
            assert {row.keys[dimension]: row.sums.requests for row in table} == requests, (start, end, dimension)
            assert total.cost == sum(expected.values(), ZERO)
            assert totals(tenant, view).cost(basis) == total.cost
            picker = dimension_values(tenant, view, dimension, limit=10_000)
            assert sorted(picker) == sorted(expected)
            assert [expected[v] for v in picker] == sorted(expected.values(), reverse=True)
            # every other figure (tokens, latency, errors, per-type sums) as from SpendDaily's own cells
            fine = aggregate(cells(tenant, view), {"k": group_expression(dimension)})
            assert {row.keys[dimension]: row.sums for row in table} == {str(k[0]): s for k, s in fine.items()}

        # the chart, by day and by week, stacked by user with the rest as "Other"
        for granularity, period in (("day", lambda d: d), ("week", _monday)):
            view = ExplorerQuery(start=start, end=end, basis=basis, group_by=("user",), granularity=granularity)
            chart = results.series(tenant, view, top=2)
            shown = [g["key"] for g in chart.groups if g["key"] != results.OTHER]
            want: dict[tuple[str, str], Decimal] = {}
            for r in inside:
                key = (r["user_id"] if r["user_id"] in shown else results.OTHER, period(r["usage_date"]).isoformat())
                want[key] = want.get(key, ZERO) + _cost(r, basis)
            got = {(g["key"], p): v for g in chart.groups for p, v in zip(chart.periods, g["values"], strict=True)}
            assert {k: v for k, v in got.items() if v} == {k: v for k, v in want.items() if v}, (start, end)
            users = {r["user_id"] for r in inside}
            assert (results.OTHER in {g["key"] for g in chart.groups}) == (len(users) > 3)


@ON_PG
@pytest.mark.django_db
def test_a_long_range_by_person_reads_the_weekly_cells() -> None:
    tenant = Tenant.objects.create(slug="t", name="T")
    load_rows(generate_rows(tenant_id=tenant.pk, events=300, days=19, end=END), progress=lambda _: None)
    rollup_rebuild(tenant_id=tenant.pk)
    view = ExplorerQuery(start=date(2026, 11, 4), end=END, group_by=("user",))
    assert range_cells(tenant, view, rollup=SpendDailyPeople).model is SpendPeopleSpan
    # a day-resolution group, or a range without a whole week, reads the daily cells
    assert range_cells(tenant, view, rollup=SpendDailyPeople, weeks=False).model is SpendDailyPeople
    short = replace(view, start=date(2026, 11, 10), end=date(2026, 11, 19))
    assert range_cells(tenant, short, rollup=SpendDailyPeople).model is SpendDailyPeople
    # a weekly cell altered is seen by the view (proof that it is read), and only there
    assert connection.vendor == "postgresql"
    SpendWeeklyPeople.objects.filter(tenant=tenant, usage_date=date(2026, 11, 9)).update(requests=F("requests") + 1)
    bumped = {r.keys["user"]: r.sums.requests for r in results.table(tenant, view)[0]}
    by_day, _ = results.table(tenant, replace(view, group_by=("user", "date")))
    altered = SpendWeeklyPeople.objects.filter(tenant=tenant, usage_date=date(2026, 11, 9)).count()
    assert sum(bumped.values()) == sum(r.sums.requests for r in by_day) + altered
