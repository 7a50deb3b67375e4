"""Plotly figures for the dashboards: pure functions, rows in, `go.Figure` out.

Rows are plain dicts as the selectors return them; money arrives as Decimal and becomes a float
only here, for drawing. Nothing computed from a figure is ever summed back into a total."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import plotly.graph_objects as go
from django.utils.html import format_html
from django.utils.safestring import SafeString
from plotly.io.json import to_json_plotly

BILLED_COLOUR = "#1f6feb"
ESTIMATED_COLOUR = "#d29922"
LABEL_MAX = 40
FIGURE_CONFIG = {"displaylogo": False, "responsive": True}
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"


def _money(value: Decimal | float | int | None) -> float:
    return float(value or 0)


def _layout(fig: go.Figure, *, title: str, height: int, money_axis: str = "y") -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "y": 0.98, "yanchor": "top", "font": {"size": 15}},
        height=height,
        margin={"l": 60, "r": 20, "t": 80, "b": 40},
        font={"family": FONT, "size": 12, "color": "#1f2328"},
        paper_bgcolor="white",
        plot_bgcolor="white",
        # Top left, clear of the mode bar on the right.
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "left", "x": 0},
        hovermode=f"{'x' if money_axis == 'y' else 'y'} unified",
    )
    money = {"tickprefix": "$", "separatethousands": True, "gridcolor": "#eaeef2", "zerolinecolor": "#d0d7de"}
    other = {"showgrid": False, "linecolor": "#d0d7de"}
    fig.update_yaxes(**(money if money_axis == "y" else other))
    fig.update_xaxes(**(money if money_axis == "x" else other))
    return fig


def daily_trend(rows: Iterable[Mapping[str, Any]]) -> go.Figure:
    """Billed and estimated dollars per usage date, as two separate lines (never stacked or added)."""
    rows = sorted(rows, key=lambda r: r["usage_date"])
    dates = [r["usage_date"].isoformat() for r in rows]
    fig = go.Figure()
    for name, key, colour in (
        ("Billed", "billed_cost_usd", BILLED_COLOUR),
        ("Estimated", "estimated_cost_usd", ESTIMATED_COLOUR),
    ):
        fig.add_trace(
            go.Scatter(
                name=name,
                x=dates,
                y=[_money(r.get(key)) for r in rows],
                mode="lines+markers",
                line={"color": colour, "width": 2},
                marker={"size": 5},
                hovertemplate="$%{y:,.2f}<extra>" + name + "</extra>",
            )
        )
    fig.update_xaxes(type="date")
    return _layout(fig, title="Daily spend", height=370)


def top_models_bar(rows: Iterable[Mapping[str, Any]]) -> go.Figure:
    """Billed and estimated dollars per model, grouped horizontal bars, largest at the top."""
    rows = list(rows)
    labels = [str(r.get("label") or r.get("model_id") or r.get("model_ref") or "(unknown model)") for r in rows]
    # Long refs (inference-profile ARNs) would squeeze the bars; the hover shows the full name.
    ticks = [label if len(label) <= LABEL_MAX else "…" + label[-(LABEL_MAX - 1) :] for label in labels]
    fig = go.Figure()
    for name, key, colour in (
        ("Billed", "billed_cost_usd", BILLED_COLOUR),
        ("Estimated", "estimated_cost_usd", ESTIMATED_COLOUR),
    ):
        fig.add_trace(
            go.Bar(
                name=name,
                x=[_money(r.get(key)) for r in rows],
                y=ticks,
                customdata=labels,
                orientation="h",
                marker={"color": colour},
                hovertemplate="%{customdata}: $%{x:,.2f}<extra>" + name + "</extra>",
            )
        )
    fig.update_layout(barmode="group")
    fig.update_yaxes(autorange="reversed", automargin=True)
    return _layout(fig, title="Top models", height=max(280, 90 + 44 * len(rows)), money_axis="x")


def pattern_chart(chart: Mapping[str, Any]) -> go.Figure:
    """A card's small chart of the pattern: the series it stores ({"x": [...], "y": [...], "label": ...})."""
    fig = go.Figure(
        go.Bar(
            x=list(chart.get("x", [])),
            y=[float(v or 0) for v in chart.get("y", [])],
            marker={"color": BILLED_COLOUR},
            hovertemplate="%{x}: %{y:,.2f}<extra></extra>",
        )
    )
    fig = _layout(fig, title=str(chart.get("label", "")), height=220)
    fig.update_layout(margin={"l": 50, "r": 10, "t": 40, "b": 30}, showlegend=False)
    # Days and hours as they are labelled: a single day must not become a time axis.
    fig.update_xaxes(type="category")
    return fig


def figure_div(fig: go.Figure) -> SafeString:
    """The figure as an empty div carrying its JSON, which static/js/charts.js draws with plotly.min.js (both
    loaded by the base template): no inline script, so the Content-Security-Policy needs no exception."""
    figure = fig.to_plotly_json()
    payload = to_json_plotly({"data": figure["data"], "layout": figure["layout"], "config": FIGURE_CONFIG})
    return format_html('<div class="plotly-figure" data-figure="{}"></div>', payload)


OTHER_COLOUR = "#8c959f"
PERIOD_TICKS = {"day": None, "week": None, "month": "%b %Y"}


def _short(label: str) -> str:
    return label if len(label) <= LABEL_MAX else "…" + label[-(LABEL_MAX - 1) :]


def stacked_periods(
    periods: list[str],
    groups: Iterable[Mapping[str, Any]],
    *,
    drill_urls: Mapping[str, str],
    title: str,
    granularity: str = "day",
) -> go.Figure:
    """The explorer's chart: cost per period, one stacked bar trace per group ({"key", "label", "values"}).
    Each point carries [drill URL, full label] as customdata: static/js/explorer.js follows the URL on a
    click (an empty URL, as for "Other", goes nowhere)."""
    fig = go.Figure()
    for group in groups:
        label = str(group["label"])
        url = drill_urls.get(str(group["key"]), "")
        fig.add_trace(
            go.Bar(
                name=_short(label),
                x=periods,
                y=[_money(v) for v in group["values"]],
                customdata=[[url, label]] * len(periods),
                marker={"color": OTHER_COLOUR} if group["key"] == "__other__" else {},
                hovertemplate="%{customdata[1]}: $%{y:,.2f}<extra></extra>",
            )
        )
    # Legend in rank order (biggest first), not Plotly's reversed order for stacks.
    fig.update_layout(barmode="stack", showlegend=len(fig.data) > 1, legend_traceorder="normal")
    fig.update_xaxes(type="date", tickformat=PERIOD_TICKS.get(granularity))
    if granularity == "month":
        fig.update_xaxes(dtick="M1")
    return _layout(fig, title=title, height=400)
