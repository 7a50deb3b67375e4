"""The explorer's pure parts: number formatting, table columns, CSV names, the chart figure and the page's links
and form handling. No database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from finops.dashboards.charts import stacked_periods
from finops.explorer import formatting
from finops.explorer.csv import chart_csv, filename
from finops.explorer.page import chart_drill_urls, entity_link, submitted
from finops.explorer.query import DimFilter, ExplorerQuery, parse_query
from finops.explorer.selectors import OTHER, Series
from finops.explorer.table import columns, flat
from finops.ledger.models import LATENCY_EDGES_MS
from tests.explorer.pages import params_of

LATEST = date(2026, 11, 20)
Q = ExplorerQuery(start=date(2026, 10, 22), end=date(2026, 11, 20), group_by=("team",), preset="30d")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("1234.567"), "$1,234.57"),
        (Decimal("0.005"), "$0.0050"),
        (Decimal("0.0000094"), "$0.0000094"),
        (Decimal(0), "$0.00"),
        (Decimal("-12.5"), "−$12.50"),
        (None, "—"),
    ],
)
def test_money_keeps_cents_and_never_shows_a_small_amount_as_zero(value, text):
    assert formatting.money(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0"), (9_999, "9,999"), (12_345, "12.3K"), (999_999, "1.00M"), (4_560_000, "4.56M"), (7_800_000_000, "7.80B")],
)
def test_compact_token_counts(value, text):
    assert formatting.compact(value) == text


def test_csv_numbers_keep_every_digit_and_at_least_the_cents():
    assert formatting.plain_money(Decimal("12.3456789000")) == "12.3456789"
    assert formatting.plain_money(Decimal("10")) == "10.00"
    assert formatting.plain_money(Decimal("-0.00000")) == "0.00"
    assert formatting.plain_money(Decimal("1E+3")) == "1000.00"
    assert formatting.plain(7) == "7" and formatting.plain(None) == ""


def test_latency_is_approximate_and_the_open_bucket_only_a_lower_bound():
    assert formatting.approx_ms(Decimal("1234.4")) == "≈1,234 ms"
    assert formatting.LATENCY_OPEN_MS == LATENCY_EDGES_MS[-1]
    assert formatting.approx_ms(Decimal(LATENCY_EDGES_MS[-1])) == "≥300,000 ms"


def test_long_labels_are_cut_in_the_middle():
    arn = "arn:aws:bedrock:us-east-1:111111111111:provisioned-model/n2l1te7pt0a1"
    short = formatting.shorten(arn, 28)
    assert len(short) == 28 and short.startswith("arn:aws:") and short.endswith("n2l1te7pt0a1")
    assert formatting.shorten("search", 28) == "search"


def test_the_cost_column_follows_the_basis_and_the_others_sit_beside_it():
    billed = [c.key for c in columns(Q)]
    assert billed[:3] == ["cost", "estimated", "share"]
    allocated = [c.key for c in columns(ExplorerQuery(start=Q.start, end=Q.end, basis="allocated"))]
    assert allocated[:4] == ["cost", "billed", "estimated", "share"]


def test_the_csv_has_each_page_column_and_the_figure_shown_under_it():
    cols = columns(Q)
    csv_keys = [c.key for c in flat(cols)]
    assert csv_keys[csv_keys.index("input_tokens") + 1] == "cost_per_1k_input"
    assert len(csv_keys) == len(cols) + sum(1 for c in cols if c.sub)


def test_download_names_say_what_the_file_holds():
    assert filename("acme", Q) == "explore-acme-2026-10-22-2026-11-20-team.csv"
    filtered = ExplorerQuery(
        start=Q.start, end=Q.end, group_by=("team", "model"), basis="estimated",
        filters=(DimFilter("region", ("us-east-1",), exclude=True),),
    )  # fmt: skip
    assert filename("acme", filtered, "chart") == (
        "explore-acme-2026-10-22-2026-11-20-team-model-not-region-us-east-1-estimated-chart.csv"
    )


def test_the_chart_csv_names_groups_with_the_same_label_by_value():
    series = Series(
        periods=["2026-11-01", "2026-11-02"],
        groups=[
            {"key": "arn:a/alice", "label": "alice", "values": [Decimal("1.5"), Decimal(0)]},
            {"key": "arn:b/alice", "label": "alice", "values": [Decimal(0), Decimal("2.25")]},
        ],
        dimension="principal",
    )
    assert chart_csv(series).splitlines() == [
        "Period,arn:a/alice,arn:b/alice",
        "2026-11-01,1.50,0.00",
        "2026-11-02,0.00,2.25",
    ]


def test_the_chart_stacks_one_trace_per_group_carrying_its_drill_url():
    fig = stacked_periods(
        ["2026-11-01", "2026-11-02"],
        [
            {"key": "search", "label": "search", "values": [Decimal("1.25"), Decimal(2)]},
            {"key": OTHER, "label": "Other", "values": [Decimal(0), Decimal("0.5")]},
        ],
        drill_urls={"search": "?g=application&f.team=search"},
        title="Cost per day",
    )
    assert fig.layout.barmode == "stack"
    search, other = fig.data
    assert list(search.y) == [1.25, 2.0]
    assert [list(point) for point in search.customdata] == [["?g=application&f.team=search", "search"]] * 2
    assert [point[0] for point in other.customdata] == ["", ""]  # "Other" goes nowhere


def test_clicking_a_stacked_bar_drills_into_its_group_and_keeps_the_second_group():
    query = ExplorerQuery(start=Q.start, end=Q.end, group_by=("team", "model"), preset="30d")
    series = Series(periods=[], groups=[{"key": "search"}, {"key": OTHER}], dimension="team")

    urls = chart_drill_urls(query, series)

    assert set(urls) == {"search"}
    assert params_of(urls["search"]) == {"preset": ["30d"], "g": ["model"], "f.team": ["search"]}


def test_clicking_a_bar_of_a_time_only_view_narrows_to_its_period():
    query = ExplorerQuery(start=Q.start, end=Q.end, group_by=("week",), granularity="week", preset="30d")
    series = Series(periods=["2026-10-19", "2026-10-26"], groups=[{"key": ""}], dimension="")

    first, second = chart_drill_urls(query, series)[""]

    assert params_of(first)["start"] == ["2026-10-22"] and params_of(first)["end"] == ["2026-10-25"]
    assert params_of(second)["start"] == ["2026-10-26"] and params_of(second)["end"] == ["2026-11-01"]


def test_entity_links_carry_the_value_and_the_range():
    link = entity_link("/t/acme/explore/entity/principal/", "arn:aws:iam::1:user/a b", Q)
    assert link.startswith("/t/acme/explore/entity/principal/?value=arn%3Aaws%3Aiam%3A%3A1%3Auser%2Fa+b")
    assert params_of(link) == {"value": ["arn:aws:iam::1:user/a b"], "preset": ["30d"]}


def test_a_plain_view_is_not_a_submission():
    assert submitted({"preset": "7d", "g": "team"}, latest=LATEST) is None


def test_a_bad_submission_keeps_its_parameters_so_the_page_can_say_what_is_wrong():
    target = submitted({"form": "bar", "preset": "", "start": "2026-13-01", "g": "team"}, latest=LATEST)
    assert params_of("?" + target) == {"start": ["2026-13-01"], "g": ["team"]}
    with pytest.raises(Exception, match="not a date"):
        parse_query(params_of("?" + target), latest=LATEST)


def test_the_filter_form_with_typed_text_and_list_values():
    target = submitted(
        {"form": "filter", "g": "team", "add_dim": "team", "add_for": "team", "add_val": ["a"], "add_text": " b "},
        latest=LATEST,
    )
    assert params_of("?" + target)["f.team"] == ["a", "b"]
    assert submitted({"form": "filter", "add_dim": "team", "add_for": "team", "show": "1"}, latest=LATEST) is None
    bad = submitted({"form": "filter", "add_dim": "date", "add_text": "x"}, latest=LATEST)
    assert "f.date" in params_of("?" + bad)  # parse_query then says to filter dates with start and end
