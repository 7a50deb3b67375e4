"""Token totals across platforms: a group's (and the total's) tokens are, for each platform in it, that
platform's request tokens when it has requests, else its bill lines' tokens. Bedrock and OpenAI have both
(requests estimated, bill lines billed: the same tokens twice), Azure OpenAI and Vertex AI only bill lines.
Expected numbers are computed here from the SpendEvent rows, never read off the code under test."""

from __future__ import annotations

import csv
import io
import itertools
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from connections.models import Tenant
from finops.dashboards.selectors import overview
from finops.explorer.query import parse_query
from finops.explorer.selectors import explore
from finops.ledger.models import SpendEvent
from finops.ledger.selectors import spend_report
from tests.api.conftest import bearer, token_for
from tests.factories import ledger_row

DAYS = (date(2026, 6, 3), date(2026, 6, 4))
TYPES = ("input", "output", "cache_read", "cache_write")
_keys = itertools.count()


def _row(tenant: Tenant, source: str, kind: str, day: date, model: str, team: str, cost: str, **tokens: int) -> None:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    request = kind == "request"
    ledger_row(
        tenant=tenant,
        source=source,
        record_kind=kind,
        cost_basis="estimated" if request else "billed",
        dedupe_key=f"tokens:{next(_keys)}",
        usage_start=start,
        usage_end=start,
        usage_date=day,
        billing_period=day.replace(day=1),
        model_id=model,
        team=team,
        requests=1 if request else 0,
        usage_category="" if request else "tokens",
        line_item_type="" if request else "Usage",
        cost_usd=Decimal(cost),
        **{f"{t}_tokens": n for t, n in tokens.items()},
    )


@pytest.fixture
def five(tenant: Tenant) -> Tenant:
    """Each day: Bedrock requests and the CUR lines billing them; OpenAI usage rows and a cost line (no tokens);
    Azure OpenAI and Vertex AI bill lines with tokens. Teams mix platforms."""
    for n, day in enumerate(DAYS):
        k = n + 1
        sonnet = "anthropic.claude-sonnet-4-5"
        _row(tenant, "bedrock", "request", day, sonnet, "search", "0.30", input=1000 * k, output=200 * k)
        _row(tenant, "bedrock", "request", day, sonnet, "support", "0.90", input=3000 * k, output=400 * k)
        _row(tenant, "bedrock", "billed_line", day, sonnet, "search", "1.10", input=4100 * k)
        _row(tenant, "bedrock", "billed_line", day, sonnet, "support", "0.20", output=610 * k)
        _row(tenant, "openai", "request", day, "openai/gpt-4o", "search", "0.05", input=500 * k, output=50 * k,
             cache_read=100 * k)  # fmt: skip
        _row(tenant, "openai", "billed_line", day, "openai/gpt-4o", "search", "0.06")
        _row(tenant, "azure_openai", "billed_line", day, "azure_openai/gpt-4o", "search", "0.70", input=7000 * k)
        _row(tenant, "azure_openai", "billed_line", day, "azure_openai/gpt-4o", "support", "0.40", output=900 * k)
        _row(tenant, "vertex", "billed_line", day, "vertex/gemini-2.5-flash", "support", "0.33", input=11000 * k,
             output=1300 * k, cache_read=2000 * k)  # fmt: skip
    return tenant


def _expected_tokens(tenant: Tenant, **where: object) -> dict[str, int]:
    """Per platform among the rows `where` selects: its requests' tokens if it has any, else its bill lines'."""
    rows = SpendEvent.objects.filter(tenant=tenant, **where).exclude(record_kind="metric")
    per: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: {"request": defaultdict(int),
                                                                     "bill": defaultdict(int)})  # fmt: skip
    has_requests: set[str] = set()
    for event in rows:
        side = "request" if event.record_kind == "request" else "bill"
        if side == "request":
            has_requests.add(event.source)
        for t in TYPES:
            per[event.source][side][t] += getattr(event, f"{t}_tokens")
    out = dict.fromkeys(TYPES, 0)
    for source, sides in per.items():
        chosen = sides["request"] if source in has_requests else sides["bill"]
        for t in TYPES:
            out[t] += chosen[t]
    return out


def _billed(tenant: Tenant, **where: object) -> Decimal:
    rows = SpendEvent.objects.filter(tenant=tenant, cost_basis="billed", **where)
    return sum((e.cost_usd for e in rows), Decimal(0))


def _query(**params: object):  # noqa: ANN202
    return parse_query({"start": "2026-06-01", "end": "2026-06-30", "page_size": 100, **params}, latest=None)


def test_grouped_by_platform_the_total_tokens_are_the_sum_of_the_rows(five: Tenant) -> None:
    result = explore(five, _query(g="source"))

    for row in result.rows:
        assert row.sums.tokens == _expected_tokens(five, source=row.keys["source"]), row.keys
    everything = _expected_tokens(five)
    # By hand: Bedrock requests 4000+8000 input, 600+1200 output; OpenAI 1500/150/300; Azure 21000/2700;
    # Vertex 33000/3900/6000.
    assert everything == {"input": 12000 + 1500 + 21000 + 33000, "output": 1800 + 150 + 2700 + 3900,
                          "cache_read": 300 + 6000, "cache_write": 0}  # fmt: skip
    assert result.total.sums.tokens == everything
    for t in TYPES:
        assert sum(r.sums.tokens[t] for r in result.rows) == everything[t]
    per_1k = _billed(five) * 1000 / sum(everything.values())
    assert result.total.unit.cost_per_1k_tokens == per_1k


@pytest.mark.parametrize("groups", [["source", "model"], ["team"], ["team", "source"], ["date"], []])
def test_every_grouping_and_the_total_apply_the_rule_per_platform(five: Tenant, groups: list[str]) -> None:
    result = explore(five, _query(g=groups))

    assert result.total.sums.tokens == _expected_tokens(five)
    columns = {"source": "source", "model": "model_id", "team": "team", "date": "usage_date"}
    for row in result.rows:  # no g: the explorer's default grouping
        where = {columns[g]: row.keys[g] for g in result.query.group_by}
        assert row.sums.tokens == _expected_tokens(five, **where), row.keys


def test_a_group_mixing_sources_says_so(five: Tenant) -> None:
    result = explore(five, _query(g="team"))

    assert {r.keys["team"]: r.sums.token_source for r in result.rows} == {"search": "mixed", "support": "mixed"}
    only_bills = explore(five, _query(g="source", **{"f.source": ["azure_openai", "vertex"]}))
    assert only_bills.total.sums.token_source == "billed"
    only_requests = explore(five, _query(g="source", **{"f.source": "bedrock"}))
    assert only_requests.total.sums.token_source == "requests"


def test_the_csv_and_the_api_total_the_tokens_per_platform(
    client: Client,
    five: Tenant,
    viewer,  # noqa: ANN001
    outsider,  # noqa: ANN001
) -> None:
    expected = _expected_tokens(five)
    url = "/api/v1/explore/acme/query?start=2026-06-01&end=2026-06-30&g=source&page_size=100"

    body = client.get(url, **bearer(token_for(viewer))).json()
    assert body["total"]["tokens"] == expected
    assert body["total"]["token_source"] == "mixed"
    assert client.get(url, **bearer(token_for(outsider))).status_code == 404

    client.force_login(viewer)
    page = reverse("explore", kwargs={"tenant_slug": "acme"})
    text = client.get(page + "?start=2026-06-01&end=2026-06-30&g=source&format=csv&what=table").content.decode()
    lines = list(csv.DictReader(io.StringIO(text)))
    total = next(line for line in lines if line["Platform"] == "Total")
    headers = {"input": "Input tokens", "output": "Output tokens", "cache_read": "Cache read tokens"}
    assert {t: int(total[h]) for t, h in headers.items()} == {t: expected[t] for t in headers}
    for t, h in headers.items():
        assert sum(int(line[h]) for line in lines if line["Platform"] != "Total") == expected[t]
    client.force_login(outsider)
    assert client.get(page + "?g=source&format=csv&what=table").status_code == 404


@pytest.mark.parametrize("group_by", [[], ["team"], ["source"]])
def test_spend_report_applies_the_rule_per_platform(five: Tenant, group_by: list[str]) -> None:
    rows = spend_report(tenant=five, group_by=group_by)

    for row in rows:
        where = {g: row[g] for g in group_by}
        expected = _expected_tokens(five, **where)
        assert {t: row[f"{t}_tokens"] for t in TYPES} == expected, where
    assert sum(r["input_tokens"] for r in rows) == _expected_tokens(five)["input"]
    if group_by == ["team"]:
        assert {r["team"]: r["token_source"] for r in rows} == {"search": "mixed", "support": "mixed"}


def test_the_overview_counts_every_platforms_tokens(five: Tenant) -> None:
    o = overview(tenant=five, start=date(2026, 6, 1), end=date(2026, 6, 30))

    assert o.tokens == sum(_expected_tokens(five).values())
    assert {r["key"]: r["tokens"] for r in o.platforms} == {
        s: sum(_expected_tokens(five, source=s).values()) for s in ("bedrock", "openai", "azure_openai", "vertex")
    }


def test_beside_a_platform_column_a_model_does_not_repeat_its_platform(five: Tenant) -> None:
    by_both = explore(five, _query(g=["source", "model"]))
    by_model = explore(five, _query(g="model"))

    azure = "azure_openai/gpt-4o"
    both = next(r for r in by_both.rows if r.keys["model"] == azure)
    alone = next(r for r in by_model.rows if r.keys["model"] == azure)
    assert both.labels["source"] == "Azure OpenAI" and "(Azure OpenAI)" not in both.labels["model"]
    assert alone.labels["model"] == f"{both.labels['model']} (Azure OpenAI)"
