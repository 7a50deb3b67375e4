"""What the explorer page shows, built from a query and its results: links (drill-down, entity pages, sort,
pages, filter chips), table cells and the submitted forms turned back into a canonical query string. Pure:
no database, no request; URLs are relative query strings ("?...") or built on a base path given in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from finops.explorer.formatting import shorten
from finops.explorer.query import DIMENSIONS, TIME_DIMENSIONS, ExplorerQuery, QueryError, _Params, parse_query
from finops.explorer.selectors import OTHER, Explored, Row, Series
from finops.explorer.table import Cell, Column, row_cells

GRANULARITY_DIMENSION = {"day": "date", "week": "week", "month": "month"}
PAGE_SIZES = (25, 50, 100, 250, 1000)
FORM_BAR, FORM_FILTER = "bar", "filter"
LABEL_MAX = (28, 22)  # characters of a group label in the table (one group, two); the whole value is in its tooltip
RANGE_KEYS = ("preset", "start", "end", "basis")
FILTER_FORM_FIELDS = {"form", "add_dim", "add_mode", "add_val", "add_text", "add_for", "show"}


def link(query: ExplorerQuery, **changes: Any) -> str:
    return "?" + query.querystring(**changes)


def drill_link(query: ExplorerQuery, keys: Mapping[str, str]) -> str:
    """The view one level down from a row or bar ("" when there is nowhere left to go)."""
    try:
        return link(query.drill(keys))
    except StopIteration:
        return ""


def range_params(query: ExplorerQuery) -> list[tuple[str, str]]:
    """The range and basis of a view, which an entity page keeps."""
    return [(k, v) for k, v in query.params() if k in RANGE_KEYS]


def entity_link(entity_url: str, value: str, query: ExplorerQuery) -> str:
    """An entity's page (`entity_url`: the page of its dimension); the value rides in the query string because
    ARNs hold slashes."""
    return f"{entity_url}?{urlencode([('value', value), *range_params(query)])}"


@dataclass(frozen=True)
class GroupCell:
    dimension: str
    value: str
    text: str
    drill: str
    entity: str


@dataclass(frozen=True)
class TableRow:
    groups: list[GroupCell]
    cells: list[Cell]


def table_rows(
    rows: list[Row], query: ExplorerQuery, cols: list[Column], *, entity_urls: Mapping[str, str]
) -> list[TableRow]:
    """The page's rows; `entity_urls` maps each dimension with an entity page to that page's URL."""
    out = []
    limit = LABEL_MAX[len(query.group_by) > 1]
    for row in rows:
        drill = drill_link(query, row.keys)
        groups = [
            GroupCell(
                dimension=g,
                value=row.keys[g],
                text=shorten(row.labels[g], limit),
                drill=drill,
                entity=entity_link(entity_urls[g], row.keys[g], query) if g in entity_urls else "",
            )
            for g in query.group_by
        ]
        out.append(TableRow(groups=groups, cells=row_cells(row, cols)))
    return out


def chart_drill_urls(query: ExplorerQuery, series: Series) -> dict[str, str | list[str]]:
    """Where a click on the chart goes: a stacked group drills into that group; with no stack (a time-only
    view) a bar drills into its period. "Other" goes nowhere."""
    if series.dimension:
        return {
            str(g["key"]): drill_link(query, {series.dimension: str(g["key"])})
            for g in series.groups
            if g["key"] != OTHER
        }
    period_dimension = GRANULARITY_DIMENSION[query.granularity]
    return {
        str(g["key"]): [drill_link(query, {period_dimension: period}) for period in series.periods]
        for g in series.groups
    }


@dataclass(frozen=True)
class Chip:
    text: str
    remove: str


def chips(query: ExplorerQuery, names: Mapping[str, str], labeller: Any) -> list[Chip]:
    """Each filter value as a removable chip ("Team is not search ×")."""
    out = []
    for f in query.filters:
        verb = "is not" if f.exclude else "is"
        for value in f.values:
            text = f"{DIMENSIONS[f.dimension].label} {verb} {labeller(f.dimension, value, names=names)}"
            out.append(Chip(text=text, remove=link(query.without_filter(f.dimension, value, exclude=f.exclude))))
    return out


@dataclass(frozen=True)
class Pagination:
    page: int
    pages: int
    first_row: int
    last_row: int
    count: int
    previous: str
    next: str
    past_the_end: bool


def pagination(explored: Explored) -> Pagination:
    query = explored.query
    first = (query.page - 1) * query.page_size + 1
    last = min(explored.row_count, query.page * query.page_size)
    return Pagination(
        page=query.page,
        pages=explored.pages,
        first_row=first if explored.rows else 0,
        last_row=last if explored.rows else 0,
        count=explored.row_count,
        previous=link(query, page=min(query.page - 1, explored.pages)) if query.page > 1 else "",
        next=link(query, page=query.page + 1) if query.page < explored.pages else "",
        past_the_end=query.page > explored.pages and explored.row_count > 0,
    )


@dataclass(frozen=True)
class Header:
    column: Column
    sort_link: str  # "" when the column does not sort
    sorted: bool


def headers(cols: list[Column], query: ExplorerQuery) -> list[Header]:
    return [
        Header(column=c, sort_link=link(query, sort=c.sort, page=1) if c.sort else "", sorted=c.sort == query.sort)
        for c in cols
    ]


def label_sort_link(query: ExplorerQuery) -> str:
    return link(query, sort="label", page=1)


def describe_range(query: ExplorerQuery, preset_label: str = "") -> str:
    days = f"{query.days} day{'s' if query.days != 1 else ''}"
    span = f"{query.start:%-d %b %Y} – {query.end:%-d %b %Y}"
    return f"{span} ({preset_label}, {days})" if preset_label else f"{span} ({days})"


def describe_grouping(query: ExplorerQuery) -> str:
    if not query.group_by:
        return "not grouped (the total)"
    return "grouped by " + ", then ".join(DIMENSIONS[g].label for g in query.group_by)


# --- form submissions -----------------------------------------------------------------------------


def filterable_dimensions() -> list[tuple[str, str]]:
    return [(d.name, d.label) for d in DIMENSIONS.values() if not d.group_only]


def picker_dimension(params: Any, query: ExplorerQuery) -> str:
    """The dimension whose values the filter picker lists: the one asked for, else the first group-by."""
    asked = _Params(params).get("add_dim")
    if asked in DIMENSIONS and not DIMENSIONS[asked].group_only:
        return asked
    return next((g for g in query.group_by if g not in TIME_DIMENSIONS), "team")


def _bar_pairs(p: _Params) -> list[tuple[str, str]]:
    """The filter bar's fields as query parameters: a preset wins over the dates beside it (the form always
    sends both; "Custom dates" sends no preset), blanks dropped, back to the first page."""
    pairs = [(k, v) for k, v in p.pairs if k not in {"form", "page"}]
    if p.get("preset"):
        pairs = [(k, v) for k, v in pairs if k not in {"start", "end"}]
    return [(k, v) for k, v in pairs if not (k in {"preset", "start", "end"} and not v.strip())]


def entity_submitted(params: Any, *, latest: Any) -> str | None:
    """The entity page's range form as a canonical query string (the entity's value first), or None."""
    p = _Params(params)
    if p.get("form") != FORM_BAR:
        return None
    pairs = _bar_pairs(p)
    value = ("value", p.getlist("value")[-1] if p.has("value") else "")
    try:
        return urlencode([value, *range_params(parse_query(pairs, latest=latest))])
    except QueryError:
        return urlencode([value, *((k, v) for k, v in pairs if k in RANGE_KEYS)])


def submitted(params: Any, *, latest: Any) -> str | None:
    """The canonical query string (without "?") a submitted form stands for, to redirect to; None when the
    request is not a complete submission (a plain view, or the filter form with a dimension but no value yet,
    which shows that dimension's values). A submission that does not parse keeps its parameters, so the
    page says what is wrong."""
    p = _Params(params)
    form = p.get("form")
    if form == FORM_BAR:
        pairs = _bar_pairs(p)
        try:
            return parse_query(pairs, latest=latest).querystring()
        except QueryError:
            return urlencode(pairs)
    if form == FORM_FILTER:
        dimension = p.get("add_dim")
        if p.get("show"):
            return None  # "List values": show the chosen dimension's values
        # The value list belongs to the dimension it was drawn for; after choosing another dimension without
        # JavaScript it still lists the old one's values, which must not be filed under the new one.
        values = p.getlist("add_val") if p.get("add_for") == dimension else []
        text = p.get("add_text")
        if text:
            values.append(text)
        if not values:
            return None
        state = [(k, v) for k, v in p.pairs if k not in FILTER_FORM_FIELDS]
        try:
            query = parse_query(state, latest=latest)
        except QueryError:
            return urlencode(state)
        spec = DIMENSIONS.get(dimension)
        if spec is None or spec.group_only:
            return urlencode([*state, ("f." + dimension, values[0])])  # parse_query says what is wrong
        exclude = p.get("add_mode") == "exclude"
        for value in values:
            query = query.with_filter(dimension, value, exclude=exclude)
        return query.querystring()
    return None


def saved_querystring(query: ExplorerQuery) -> str:
    """What a saved view keeps: the view from its first page."""
    return replace(query, page=1).querystring()
