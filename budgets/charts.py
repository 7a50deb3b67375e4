"""The budget-vs-actual figure: pure, a BudgetStatus in, a `go.Figure` out (drawn by finops.dashboards.charts'
figure_div). Money becomes a float only here, for drawing."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import plotly.graph_objects as go

from budgets.selectors import BudgetStatus
from finops.dashboards.charts import BILLED_COLOUR, FONT

FORECAST_COLOUR = "#8250df"
BAND_FILL = "rgba(130, 80, 223, 0.15)"
BUDGET_COLOUR = "#cf222e"
THRESHOLD_COLOUR = "#9a6700"
ZERO = Decimal(0)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _line(name: str, x: list[str], y: list[float], colour: str, **line: object) -> go.Scatter:
    return go.Scatter(
        name=name,
        x=x,
        y=y,
        mode="lines",
        line={"color": colour, "width": 2, **line},
        hovertemplate="$%{y:,.2f}<extra>" + name + "</extra>",
    )


def budget_chart(status: BudgetStatus) -> go.Figure:
    """Cumulative actual per day, the forecast to the period's end with its p10-p90 band, the budget line and the
    threshold lines (the 100% ones are the budget line itself)."""
    budget, f = status.budget, status.forecast
    start, end = status.period_start, status.period_end
    period = [d.isoformat() for d in _days(start, end)]
    fig = go.Figure()
    running = ZERO
    actual_x, actual_y = [], []
    if f.cutoff is not None and f.cutoff >= start:
        for d in _days(start, min(f.cutoff, end)):
            running += status.daily.get(d, ZERO)
            actual_x.append(d.isoformat())
            actual_y.append(float(running))
    if f.projected and f.total is not None:
        anchor_x = actual_x[-1:] or [(f.projected[0][0] - timedelta(days=1)).isoformat()]
        anchor = f.actual
        remaining = f.remaining
        cumulative, xs = [float(anchor)], list(anchor_x)
        low_y, high_y = [float(anchor)], [float(anchor)]
        spent = ZERO
        for d, value in f.projected:
            spent += value
            xs.append(d.isoformat())
            cumulative.append(float(anchor + spent))
            share = spent / remaining if remaining else ZERO
            low_y.append(float(anchor + ((f.low or anchor) - anchor) * share))
            high_y.append(float(anchor + ((f.high or anchor) - anchor) * share))
        fig.add_trace(
            go.Scatter(
                name="Forecast p10", x=xs, y=low_y, mode="lines", line={"width": 0}, showlegend=False,
                hovertemplate="$%{y:,.2f}<extra>p10</extra>",
            )
        )  # fmt: skip
        fig.add_trace(
            go.Scatter(
                name="Forecast band (p10-p90)", x=xs, y=high_y, mode="lines", line={"width": 0}, fill="tonexty",
                fillcolor=BAND_FILL, hovertemplate="$%{y:,.2f}<extra>p90</extra>",
            )
        )  # fmt: skip
        fig.add_trace(_line("Forecast", xs, cumulative, FORECAST_COLOUR, dash="dash"))
    if actual_x:
        fig.add_trace(_line("Actual (cumulative)", actual_x, actual_y, BILLED_COLOUR, width=3))
    amount = float(budget.amount_usd)
    fig.add_trace(_line(f"Budget ${amount:,.0f}", [period[0], period[-1]], [amount, amount], BUDGET_COLOUR))
    for pct in sorted({int(t["pct"]) for t in budget.thresholds or [] if int(t["pct"]) != 100}):
        kinds = sorted({t["kind"] for t in budget.thresholds if int(t["pct"]) == pct})
        level = float(budget.amount_usd * pct / 100)
        name = f"{pct}% threshold ({' and '.join(kinds)})"
        fig.add_trace(_line(name, [period[0], period[-1]], [level, level], THRESHOLD_COLOUR, width=1, dash="dot"))
    fig.update_layout(
        title={"text": f"Budget vs actual, {status.period_label}", "x": 0, "xanchor": "left", "font": {"size": 15}},
        height=400,
        margin={"l": 70, "r": 20, "t": 80, "b": 40},
        font={"family": FONT, "size": 12, "color": "#1f2328"},
        paper_bgcolor="white",
        plot_bgcolor="white",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "left", "x": 0},
        hovermode="x unified",
    )
    fig.update_yaxes(
        tickprefix="$", separatethousands=True, gridcolor="#eaeef2", zerolinecolor="#d0d7de", rangemode="tozero"
    )
    fig.update_xaxes(type="date", range=[period[0], period[-1]], showgrid=False, linecolor="#d0d7de")
    return fig
