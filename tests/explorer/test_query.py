"""Parsing an explorer view from its query string and back (pure)."""

from __future__ import annotations

from datetime import date

import pytest
from django.http import QueryDict

from finops.explorer.query import DimFilter, ExplorerQuery, QueryError, parse_query

LATEST = date(2026, 11, 20)


def test_defaults_are_the_last_30_days_by_model_billed() -> None:
    q = parse_query({}, latest=LATEST)
    assert (q.start, q.end) == (date(2026, 10, 22), LATEST)
    assert q.group_by == ("model",) and q.basis == "billed" and q.granularity == "day" and q.page == 1


@pytest.mark.parametrize(
    ("preset", "start", "end"),
    [
        ("7d", date(2026, 11, 14), LATEST),
        ("90d", date(2026, 8, 23), LATEST),
        ("mtd", date(2026, 11, 1), LATEST),
        ("last_month", date(2026, 10, 1), date(2026, 10, 31)),
    ],
)
def test_presets_count_back_from_the_latest_data(preset: str, start: date, end: date) -> None:
    q = parse_query({"preset": preset}, latest=LATEST)
    assert (q.start, q.end, q.preset) == (start, end, preset)


def test_every_state_round_trips_through_the_query_string() -> None:
    raw = (
        "start=2026-10-01&end=2026-10-31&g=team&g=model&f.team=search&f.team=&x.model=m1&gran=week"
        "&basis=allocated&sort=requests&page=2&page_size=10"
    )
    q = parse_query(QueryDict(raw), latest=LATEST)
    assert q.filters == (DimFilter("team", ("search", "")), DimFilter("model", ("m1",), exclude=True))
    again = parse_query(QueryDict(q.querystring()), latest=LATEST)
    assert again == q


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "2026-13-01"}, "not a date"),
        ({"start": "2026-11-02", "end": "2026-11-01"}, "after end"),
        ({"preset": "7d", "start": "2026-11-01"}, "either preset"),
        ({"preset": "yesterday"}, "Unknown preset"),
        ({"g": ["team", "model", "region"]}, "at most 2"),
        ({"g": "colour"}, "Unknown group-by colour"),
        ({"g": ["date", "week"]}, "one of date, week and month"),
        ({"f.colour": "red"}, "Unknown filter f.colour"),
        ({"f.date": "2026-11-01"}, "start and end"),
        ({"basis": "list"}, "basis='list'"),
        ({"gran": "hour"}, "gran='hour'"),
        ({"page": "0"}, "out of range"),
        ({"page_size": "abc"}, "not a whole number"),
        ({"start": "2020-01-01", "end": "2026-01-01"}, "at most 800"),
    ],
)
def test_bad_parameters_say_what_to_send(params: dict, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        parse_query(params, latest=LATEST)


def test_drilling_down_filters_on_the_row_and_moves_the_group_on() -> None:
    q = ExplorerQuery(start=date(2026, 11, 1), end=LATEST, group_by=("team", "model"))
    d = q.drill({"team": "search"})
    assert d.group_by == ("model",) and d.filters == (DimFilter("team", ("search",)),)
    # a single group moves to the next useful dimension
    d2 = d.drill({"model": "m1"})
    assert d2.group_by == ("application",)
    assert d2.filter_values("model") == (("m1",), ())
    # a date bar narrows the range
    by_day = ExplorerQuery(start=date(2026, 11, 1), end=LATEST, group_by=("date",))
    d3 = by_day.drill({"date": "2026-11-05"})
    assert (d3.start, d3.end) == (date(2026, 11, 5), date(2026, 11, 5))
    by_month = ExplorerQuery(start=date(2026, 9, 15), end=LATEST, group_by=("month",))
    d4 = by_month.drill({"month": "2026-10-01"})
    assert (d4.start, d4.end) == (date(2026, 10, 1), date(2026, 10, 31))


def test_filters_can_be_added_and_removed() -> None:
    q = ExplorerQuery(start=date(2026, 11, 1), end=LATEST).with_filter("team", "a").with_filter("team", "b")
    assert q.filter_values("team") == (("a", "b"), ())
    assert q.without_filter("team", "a").filter_values("team") == (("b",), ())
    assert q.without_filter("team").filters == ()
