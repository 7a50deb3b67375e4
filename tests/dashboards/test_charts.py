"""Figures are tested on their data and layout, not on HTML."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from html import unescape

import plotly.graph_objects as go

from finops.dashboards import charts


def test_daily_trend_has_billed_and_estimated_as_separate_traces_in_date_order():
    rows = [
        {"usage_date": date(2025, 3, 2), "billed_cost_usd": Decimal("1234.56"), "estimated_cost_usd": Decimal("0")},
        {"usage_date": date(2025, 3, 1), "billed_cost_usd": Decimal("10.00"), "estimated_cost_usd": Decimal("2.50")},
    ]

    fig = charts.daily_trend(rows)

    assert isinstance(fig, go.Figure)
    assert [trace.name for trace in fig.data] == ["Billed", "Estimated"]
    billed, estimated = fig.data
    assert list(billed.x) == ["2025-03-01", "2025-03-02"]
    assert list(billed.y) == [10.0, 1234.56]
    assert list(estimated.x) == ["2025-03-01", "2025-03-02"]
    assert list(estimated.y) == [2.5, 0.0]
    assert fig.layout.xaxis.type == "date"
    assert fig.layout.yaxis.tickprefix == "$"


def test_daily_trend_of_no_rows_is_an_empty_figure():
    fig = charts.daily_trend([])

    assert [trace.name for trace in fig.data] == ["Billed", "Estimated"]
    assert list(fig.data[0].x) == []


def test_top_models_bar_groups_billed_and_estimated_per_model():
    rows = [
        {"label": "amazon.nova-pro", "billed_cost_usd": Decimal("30"), "estimated_cost_usd": Decimal("7.25")},
        {"model_ref": "acme.mystery", "billed_cost_usd": Decimal("0"), "estimated_cost_usd": Decimal("1.5")},
    ]

    fig = charts.top_models_bar(rows)

    assert [trace.name for trace in fig.data] == ["Billed", "Estimated"]
    assert all(trace.type == "bar" and trace.orientation == "h" for trace in fig.data)
    assert list(fig.data[0].y) == ["amazon.nova-pro", "acme.mystery"]
    assert list(fig.data[0].x) == [30.0, 0.0]
    assert list(fig.data[1].x) == [7.25, 1.5]
    assert fig.layout.barmode == "group"
    assert fig.layout.xaxis.tickprefix == "$"
    assert fig.layout.yaxis.autorange == "reversed"  # largest first, at the top


def test_figure_div_is_a_div_without_the_plotly_bundle():
    html = charts.figure_div(charts.daily_trend([]))

    assert html.startswith("<div")
    assert "<html" not in html
    assert len(html) < 20_000  # plotly.min.js is served from static/vendor, not inlined


def test_top_models_bar_shortens_long_refs_on_the_axis_but_keeps_them_for_hover():
    arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123"
    fig = charts.top_models_bar([{"label": arn, "billed_cost_usd": Decimal("0"), "estimated_cost_usd": Decimal("0")}])

    (tick,) = fig.data[0].y
    assert tick.endswith("application-inference-profile/abc123")
    assert len(tick) <= 40
    assert list(fig.data[0].customdata) == [arn]


def test_figure_div_carries_the_figure_as_json_for_the_static_script_and_runs_nothing():
    fig = charts.top_models_bar([{"label": "a<b>&c", "billed_cost_usd": Decimal("2.5"), "estimated_cost_usd": None}])

    html = charts.figure_div(fig)

    assert "<script" not in html
    match = re.fullmatch(r'<div class="plotly-figure" data-figure="([^"]*)"></div>', html)
    assert match is not None
    figure = json.loads(unescape(match.group(1)))
    assert figure["data"][0]["name"] == "Billed" and figure["data"][0]["x"] == [2.5]
    assert figure["data"][0]["customdata"] == ["a<b>&c"]
    assert figure["layout"]["title"]["text"] == "Top models"
    assert figure["config"] == {"displaylogo": False, "responsive": True}


def test_a_cards_pattern_chart_shows_its_series_on_a_category_axis() -> None:
    fig = charts.pattern_chart({"x": ["2026-11-16"], "y": [70.84], "label": "Cache-write dollars per day"})

    assert list(fig.data[0].x) == ["2026-11-16"] and list(fig.data[0].y) == [70.84]
    assert fig.layout.xaxis.type == "category"
    assert fig.layout.title.text == "Cache-write dollars per day"
