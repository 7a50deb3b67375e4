"""The explorer table's columns, defined once for the page and its CSV so both show the same thing. Pure.

A column reads one number off a selectors.Row; the page formats it for reading (formatting.py) and the CSV
writes every digit of it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from finops.explorer import formatting
from finops.explorer.query import BASES, DIMENSIONS, ExplorerQuery
from finops.explorer.selectors import TOKEN_TYPES, Row

BASIS_SHORT = {"billed": "billed", "estimated": "estimated", "allocated": "allocated"}
TOKEN_NAMES = {"input": "Input", "output": "Output", "cache_read": "Cache read", "cache_write": "Cache write"}


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # on the page (under its group's header)
    csv_header: str
    kind: str  # money | unit_money | count | tokens | percent | rate | ratio | ms
    group: str  # the header above it on the page
    value: Callable[[Row], Any]
    sort: str = ""  # the query's sort that orders by this column
    help: str = ""
    sub: Column | None = None  # a second figure shown under this one on the page; its own column in the CSV


@dataclass(frozen=True)
class Cell:
    text: str
    title: str = ""
    sub: str = ""  # the sub-column's figure, under the main one


def _bill_rate(token_type: str) -> Callable[[Row], Decimal | None]:
    return lambda row: row.unit.cost_per_1k_by_type[token_type]


def _tokens(token_type: str) -> Callable[[Row], int]:
    return lambda row: row.sums.tokens[token_type]


def _cost(row: Row, basis: str) -> Decimal | None:
    """A row's dollars on a basis; no estimate (—, a blank in the CSV) for a row without requests, such as a
    platform billed only (Azure OpenAI, Vertex AI): not an estimate of $0."""
    if basis == "estimated" and not row.sums.has_estimate:
        return None
    return row.sums.cost(basis)


def columns(query: ExplorerQuery) -> list[Column]:
    """The value columns (after the group columns) for this query's basis."""
    basis = query.basis
    cost_group = "Cost"
    out = [
        Column(
            "cost",
            f"Cost ({BASIS_SHORT[basis]})",
            f"Cost {basis} (USD)",
            "money",
            cost_group,
            lambda r: _cost(r, basis),
            sort="cost",
            help=BASES[basis],
        ),
    ]
    # The other bases beside it for comparison, never added to it.
    for other in ("billed", "estimated"):
        if other != basis:
            out.append(
                Column(
                    other,
                    other.capitalize(),
                    f"{other.capitalize()} (USD)",
                    "money",
                    cost_group,
                    lambda r, o=other: _cost(r, o),
                    help=BASES[other],
                )
            )
    out += [
        Column("share", "Share", "Share of total (%)", "percent", cost_group, lambda r: r.share_pct),
        Column(
            "requests", "Requests", "Requests", "count", "Usage (tokens)", lambda r: r.sums.requests, sort="requests"
        ),
    ]
    # Each token type with, under it, what the bill charged per 1K of it (two figures, one column on the page,
    # two in the CSV).
    out += [
        Column(
            f"{t}_tokens",
            TOKEN_NAMES[t],
            f"{TOKEN_NAMES[t]} tokens",
            "tokens",
            "Tokens (billed $ per 1K)",
            _tokens(t),
            sort="tokens" if t == "input" else "",
            sub=Column(
                f"cost_per_1k_{t}",
                "$/1K",
                f"Billed per 1K {TOKEN_NAMES[t].lower()} tokens (USD)",
                "unit_money",
                "",
                _bill_rate(t),
                help=f"Billed dollars of {TOKEN_NAMES[t].lower()} token lines over their tokens",
            ),
        )
        for t in TOKEN_TYPES
    ]
    out.append(
        Column(
            "cost_per_1k",
            "Per 1K tokens",
            "Cost per 1K tokens (USD)",
            "unit_money",
            "Unit economics",
            lambda r: r.unit.cost_per_1k_tokens,
            help="Cost on this basis over every token",
        )
    )
    out += [
        Column(
            "cost_per_request",
            "Per request",
            "Cost per request (USD)",
            "unit_money",
            "Unit economics",
            lambda r: r.unit.cost_per_request,
        ),
        Column(
            "cache_hit_rate",
            "Cache hit",
            "Cache-hit rate (%)",
            "rate",
            "Unit economics",
            lambda r: r.unit.cache_hit_rate,
            help="Cache read ÷ (input + cache read)",
        ),
        Column(
            "output_input",
            "Out/in",
            "Output/input ratio",
            "ratio",
            "Unit economics",
            lambda r: r.unit.output_input_ratio,
        ),
        Column("error_rate", "Errors", "Error rate (%)", "rate", "Unit economics", lambda r: r.unit.error_rate),
        Column(
            "throttle_rate", "Throttled", "Throttle rate (%)", "rate", "Unit economics", lambda r: r.unit.throttle_rate
        ),
        Column(
            "latency_p50",
            "p50 ms",
            "Latency p50 (ms, approximate)",
            "ms",
            "Latency ≈",
            lambda r: r.unit.latency_p50_ms,
            help="Approximate: read from histogram buckets",
        ),
        Column(
            "latency_p95",
            "p95 ms",
            "Latency p95 (ms, approximate)",
            "ms",
            "Latency ≈",
            lambda r: r.unit.latency_p95_ms,
            help="Approximate: read from histogram buckets",
        ),
    ]
    return out


def header_groups(cols: list[Column]) -> list[tuple[str, int]]:
    """(group header, span) for the row above the column headers."""
    out: list[tuple[str, int]] = []
    for column in cols:
        if out and out[-1][0] == column.group:
            out[-1] = (column.group, out[-1][1] + 1)
        else:
            out.append((column.group, 1))
    return out


def display(kind: str, value: Any) -> Cell:
    """A value as the page shows it (with the exact figure as a tooltip where it is shortened)."""
    if kind == "money":
        return Cell(formatting.money(value))
    if kind == "unit_money":
        return Cell(formatting.unit_money(value))
    if kind == "count":
        return Cell(formatting.count(value))
    if kind == "tokens":
        return Cell(formatting.compact(value), formatting.count(value) if value and value >= 10**4 else "")
    if kind == "percent":
        return Cell(formatting.percent(value))
    if kind == "rate":
        return Cell(formatting.percent(value, fraction=True))
    if kind == "ratio":
        return Cell(formatting.ratio(value))
    if kind == "ms":  # the header says "ms"
        return Cell(formatting.approx_ms(value).removesuffix(" ms"), "approximate: read from histogram buckets")
    raise ValueError(f"unknown column kind {kind!r}")


def csv_value(kind: str, value: Any) -> str:
    """A value for a CSV cell: every digit, percentages as percent (like the page), blanks for n/a."""
    if value is None:
        return ""
    if kind in {"money", "unit_money"}:
        return formatting.plain_money(value)
    if kind == "rate":
        return formatting.plain(Decimal(value) * 100)
    return formatting.plain(value)


def flat(cols: list[Column]) -> list[Column]:
    """The CSV's columns: each page column, then the figure shown under it."""
    return [part for c in cols for part in ((c, c.sub) if c.sub else (c,))]


def row_cells(row: Row, cols: list[Column]) -> list[Cell]:
    out = []
    for c in cols:
        cell = display(c.kind, c.value(row))
        if c.sub is not None:
            cell = replace(cell, sub=display(c.sub.kind, c.sub.value(row)).text)
        out.append(cell)
    return out


def group_headers(query: ExplorerQuery) -> list[str]:
    return [DIMENSIONS[g].label for g in query.group_by]
