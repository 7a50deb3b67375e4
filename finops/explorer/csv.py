"""CSV downloads of exactly what the explorer shows: its table (every group, all pages, the page's columns)
and its chart's series (period × group). Pure: rows in, text out.

What the file holds (range, filters, basis, grouping) is in its name, not in header lines, so the file
opens as one clean table in any spreadsheet."""

from __future__ import annotations

import csv
import io
import re

from finops.explorer import formatting
from finops.explorer.query import DIMENSIONS, ExplorerQuery
from finops.explorer.selectors import Row, Series
from finops.explorer.table import Column, columns, csv_value, flat

TOTAL = "Total"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def filename(tenant_slug: str, query: ExplorerQuery, what: str = "table") -> str:
    """explore-acme-2026-10-22-2026-11-20-team.csv; -chart for the chart's series; filters and a basis other
    than billed are named too, so two downloads of different views never share a name."""
    parts = ["explore", _slug(tenant_slug), query.start.isoformat(), query.end.isoformat()]
    parts.append("-".join(query.group_by) or "total")
    for f in query.filters:
        values = "+".join(_slug(v) if v else "none" for v in f.values[:3])
        more = f"+{len(f.values) - 3}more" if len(f.values) > 3 else ""
        parts.append(f"{'not-' if f.exclude else ''}{f.dimension}-{values}{more}")
    if query.basis != "billed":
        parts.append(query.basis)
    if query.granularity != "day" and what == "chart":
        parts.append(query.granularity)
    if what == "chart":
        parts.append("chart")
    name = "-".join(parts)
    return f"{name[:200]}.csv"


def table_header(query: ExplorerQuery, cols: list[Column]) -> list[str]:
    out: list[str] = []
    for g in query.group_by:
        label = DIMENSIONS[g].label
        out += [label, f"{label} (value)"]
    return out + [c.csv_header for c in cols]


def table_line(row: Row, query: ExplorerQuery, cols: list[Column]) -> list[str]:
    out: list[str] = []
    for g in query.group_by:
        out += [row.labels[g], row.keys[g]]
    return out + [csv_value(c.kind, c.value(row)) for c in cols]


def table_csv(rows: list[Row], total: Row, query: ExplorerQuery) -> str:
    """Every row of the query (not one page), then the total row."""
    cols = flat(columns(query))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table_header(query, cols) if query.group_by else ["", *(c.csv_header for c in cols)])
    if query.group_by:  # not grouped: the total line says it all
        for row in rows:
            writer.writerow(table_line(row, query, cols))
    # The total's first column says "Total".
    labels = [TOTAL, *[""] * (2 * len(query.group_by) - 1)] if query.group_by else [TOTAL]
    writer.writerow([*labels, *(csv_value(c.kind, c.value(total)) for c in cols)])
    return buffer.getvalue()


def chart_csv(series: Series) -> str:
    """One line per period, one column per stacked group (as the chart draws them: top groups, then Other)."""
    labels = [str(g["label"]) for g in series.groups]
    # Two groups may share a label (principals with the same name in two accounts): name those by value.
    headers = [
        (str(g["key"]) or label) if labels.count(label) > 1 else label
        for g, label in zip(series.groups, labels, strict=True)
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["Period", *headers])
    for index, period in enumerate(series.periods):
        writer.writerow([period, *(formatting.plain_money(g["values"][index]) for g in series.groups)])
    return buffer.getvalue()
