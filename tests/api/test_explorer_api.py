"""The explorer endpoints against sums of the raw ledger rows, worked out here in plain Python."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from connections.models import Tenant
from finops.ledger.models import SpendEvent
from tests.api.conftest import bearer, token_for

RANGE = "start=2026-05-01&end=2026-08-31"


@pytest.fixture
def token(loaded: Tenant, viewer) -> str:  # noqa: ANN001
    return token_for(viewer)


def _get(client: Client, token: str, url: str) -> Any:
    response = client.get(url, **bearer(token))
    assert response.status_code == 200, response.content
    return response.json()


def _by(tenant: Tenant, field: str, basis: str = "billed") -> dict[str, Decimal]:
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for event in SpendEvent.objects.filter(tenant=tenant, cost_basis=basis):
        sums[getattr(event, field)] += event.cost_usd or Decimal(0)
    return sums


def test_the_query_groups_billed_dollars_by_team_as_the_ledger_adds_them(client: Client, token, loaded) -> None:  # noqa: ANN001
    data = _get(client, token, f"/api/v1/explore/acme/query?{RANGE}&g=team&page_size=1000")

    expected = _by(loaded, "team")
    assert {r["keys"]["team"]: Decimal(r["cost"]) for r in data["rows"]} == expected
    assert Decimal(data["total"]["cost"]) == sum(expected.values()) > 0
    assert data["pagination"] == {"page": 1, "page_size": 1000, "pages": 1, "row_count": len(expected)}
    # Sorted by cost, largest first; shares of the total add up to 100.
    costs = [Decimal(r["cost"]) for r in data["rows"]]
    assert costs == sorted(costs, reverse=True)
    assert abs(sum(Decimal(r["share_pct"]) for r in data["rows"]) - 100) < Decimal("1e-20")


def test_billed_and_estimated_stay_apart_on_every_row(client: Client, token, loaded) -> None:  # noqa: ANN001
    data = _get(client, token, f"/api/v1/explore/acme/query?{RANGE}&g=model&basis=estimated&page_size=1000")

    billed, estimated = defaultdict(Decimal), defaultdict(Decimal)
    requests: dict[str, int] = defaultdict(int)
    for e in SpendEvent.objects.filter(tenant=loaded):
        key = e.model_id or e.model_ref
        (billed if e.cost_basis == "billed" else estimated)[key] += e.cost_usd or Decimal(0)
        requests[key] += e.requests
    rows = {r["keys"]["model"]: r for r in data["rows"]}
    assert set(rows) == set(billed) | set(estimated)
    for model, row in rows.items():
        assert Decimal(row["cost"]) == Decimal(row["estimated_cost_usd"]) == estimated[model]
        assert Decimal(row["billed_cost_usd"]) == billed[model]
        assert row["requests"] == requests[model]


def test_filters_include_and_exclude_like_the_page(client: Client, token, loaded) -> None:  # noqa: ANN001
    expected = _by(loaded, "team")
    team = max((t for t in expected if t), key=lambda t: expected[t])

    kept = _get(client, token, f"/api/v1/explore/acme/query?{RANGE}&g=team&f.team={team}")
    left = _get(client, token, f"/api/v1/explore/acme/query?{RANGE}&g=team&x.team={team}")

    assert [r["keys"]["team"] for r in kept["rows"]] == [team]
    assert Decimal(kept["total"]["cost"]) == expected[team]
    assert team not in {r["keys"]["team"] for r in left["rows"]}
    assert Decimal(left["total"]["cost"]) == sum(expected.values()) - expected[team]
    assert kept["query"]["filters"] == [{"dimension": "team", "values": [team], "exclude": False}]
    assert kept["query"]["filters_text"] == [f"Team is {team}"]


def test_pages_walk_the_table_and_the_querystring_round_trips(client: Client, token, loaded) -> None:  # noqa: ANN001
    everything = _get(client, token, f"/api/v1/explore/acme/query?{RANGE}&g=team&page_size=1000")["rows"]
    seen = []
    for page in range(1, len(everything) + 1):
        data = _get(client, token, f"/api/v1/explore/acme/query?{RANGE}&g=team&page_size=1&page={page}")
        assert data["pagination"]["pages"] == len(everything)
        seen += data["rows"]
    assert seen == everything

    again = _get(client, token, f"/api/v1/explore/acme/query?{data['query']['querystring']}")
    assert again["rows"] == data["rows"] and again["query"] == data["query"]


def test_the_series_adds_up_to_the_total_per_day(client: Client, token, loaded) -> None:  # noqa: ANN001
    data = _get(client, token, f"/api/v1/explore/acme/query?{RANGE}&g=model")
    series = data["series"]

    per_day: dict[str, Decimal] = defaultdict(Decimal)
    for e in SpendEvent.objects.filter(tenant=loaded, cost_basis="billed"):
        per_day[e.usage_date.isoformat()] += e.cost_usd
    assert series["dimension"] == "model"
    assert series["periods"][0] == "2026-05-01" and series["periods"][-1] == "2026-08-31"
    for index, day in enumerate(series["periods"]):
        assert sum(Decimal(g["values"][index]) for g in series["groups"]) == per_day.get(day, Decimal(0))


def test_the_data_dates_are_the_ledgers(client: Client, token, loaded) -> None:  # noqa: ANN001
    dates = _get(client, token, f"/api/v1/explore/acme/query?{RANGE}")["dates"]
    events = SpendEvent.objects.filter(tenant=loaded)

    assert dates["latest"] == max(e.usage_date for e in events).isoformat()
    assert dates["billed_through"] == max(e.usage_date for e in events if e.cost_basis == "billed").isoformat()


def test_no_range_means_the_last_30_days_of_data(client: Client, token, loaded) -> None:  # noqa: ANN001
    query = _get(client, token, "/api/v1/explore/acme/query")["query"]
    latest = max(SpendEvent.objects.filter(tenant=loaded).values_list("usage_date", flat=True))

    assert (query["preset"], query["end"]) == ("30d", latest.isoformat())


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ("g=colour", "Unknown group-by colour"),
        ("start=2026-13-01", "start='2026-13-01' is not a date"),
        ("preset=7d&start=2026-05-01", "either preset or start/end"),
        ("preset=fortnight", "Unknown preset"),
        ("f.colour=red", "Unknown filter f.colour"),
        ("f.date=2026-05-01", "filter dates with start and end"),
        ("basis=cheapest", "basis='cheapest'"),
        ("page_size=5000", "page_size=5000 is out of range"),
        ("start=2026-06-02&end=2026-06-01", "is after end"),
        ("g=team&g=model&g=region", "at most 2"),
    ],
)
def test_bad_parameters_are_400s_that_say_what_to_send(client: Client, token, params: str, words: str) -> None:  # noqa: ANN001
    for path in ("query", "query.csv", "unit-economics"):
        response = client.get(f"/api/v1/explore/acme/{path}?{params}", **bearer(token))
        if path == "unit-economics" and params.startswith("g="):
            continue  # `by` replaces g there
        assert response.status_code == 400, (path, params)
        assert words in response.json()["detail"], (path, response.json())


def test_the_csv_is_the_whole_table_with_its_total(client: Client, token, loaded) -> None:  # noqa: ANN001
    response = client.get(f"/api/v1/explore/acme/query.csv?{RANGE}&g=team&page_size=1", **bearer(token))

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="explore-acme-2026-05-01-2026-08-31-team.csv"'
    lines = list(csv.DictReader(io.StringIO(response.content.decode())))
    total, rows = lines[-1], lines[:-1]
    expected = _by(loaded, "team")
    assert total["Team"] == "Total"
    assert {r["Team (value)"]: Decimal(r["Cost billed (USD)"]) for r in rows} == expected  # every page
    assert Decimal(total["Cost billed (USD)"]) == sum(expected.values())


def test_unit_economics_per_model_from_the_raw_rows(client: Client, token, loaded) -> None:  # noqa: ANN001
    data = _get(client, token, f"/api/v1/explore/acme/unit-economics?{RANGE}&by=model&basis=estimated")

    assert data["by"] == "model" and data["query"]["group_by"] == ["model"]
    requests = SpendEvent.objects.filter(tenant=loaded, record_kind="request")
    models = {e.model_id or e.model_ref for e in requests}  # an unresolved model is grouped by its reference
    groups = {g["keys"]["model"]: g for g in data["groups"]}
    assert models <= set(groups)
    for model in models:
        rows = [e for e in requests if (e.model_id or e.model_ref) == model]
        cost = sum((e.cost_usd or Decimal(0) for e in rows), Decimal(0))
        count = sum(e.requests for e in rows)
        inputs = sum(e.input_tokens for e in rows)
        reads = sum(e.cache_read_tokens for e in rows)
        unit = groups[model]["unit"]
        assert Decimal(groups[model]["cost"]) == cost
        assert groups[model]["requests"] == count
        assert Decimal(unit["cost_per_request"]) == cost / count
        if inputs + reads:
            assert Decimal(unit["cache_hit_rate"]) == Decimal(reads) / Decimal(inputs + reads)


def test_unit_economics_takes_only_the_groups_it_knows(client: Client, token) -> None:  # noqa: ANN001
    response = client.get("/api/v1/explore/acme/unit-economics?by=region", **bearer(token))

    assert response.status_code == 400
    assert response.json()["detail"] == "by='region': use one of model, application, team, agent, principal."
