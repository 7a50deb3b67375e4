"""Several groupings of the same rollup cells at once: one scan on PostgreSQL (GROUPING SETS), one pass in
Python on SQLite. The overview needs five groupings of one date range; five scans were most of its time."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet

from finops.explorer.sums import _CELL_FIELDS, SOURCE, Sums, _cell_sums, _pg_aggregates, _pg_sums, _plain


def aggregate_sets(qs: QuerySet, sets: dict[str, tuple[str, ...]], *, detail: bool = False) -> dict[str, dict]:
    """For each named set of plain column names, the Sums per group, as `aggregate` would return them:
    {set name: {(value, ...): Sums}}. Column names only (no expressions), at least one per set."""
    if not sets or any(not cols for cols in sets.values()):
        raise ValueError("every grouping set needs at least one column")
    out: dict[str, dict[tuple[Any, ...], Sums]] = {name: {} for name in sets}
    if connection.vendor != "postgresql":
        fields = list(dict.fromkeys(c for cols in sets.values() for c in (*cols, *_CELL_FIELDS)))
        for cell in qs.values(*fields).iterator(chunk_size=5000):
            for name, cols in sets.items():
                _add(out[name], tuple(_plain(cell[c]) for c in cols), _cell_sums(cell))
        return out

    # Each set is grouped by platform too (Sums.tokens chooses tokens per platform); its rows per platform are
    # added up below. Two sets that differ only by the platform share one grouping set.
    wide = {name: tuple(dict.fromkeys((*cols, SOURCE))) for name, cols in sets.items()}
    columns = list(dict.fromkeys(c for cols in wide.values() for c in cols))
    grouped = qs.values(*columns).annotate(**_pg_aggregates(detail)).order_by()
    try:
        sql, params = grouped.query.sql_with_params()
    except EmptyResultSet:
        return out
    head, found, tail = sql.rpartition(" GROUP BY ")
    if not found or any(word in tail for word in (" HAVING ", " ORDER BY ", " LIMIT ")):
        raise RuntimeError(f"unexpected aggregate SQL shape: {sql[:200]}")
    table = connection.ops.quote_name(qs.model._meta.db_table)
    ref = {c: f"{table}.{connection.ops.quote_name(qs.model._meta.get_field(c).column)}" for c in columns}
    unique = list(dict.fromkeys(wide.values()))
    grouping_sets = ", ".join("(" + ", ".join(ref[c] for c in cols) + ")" for cols in unique)
    marker = f'GROUPING({", ".join(ref[c] for c in columns)}) AS "_grouping"'
    if not head.startswith("SELECT "):
        raise RuntimeError(f"unexpected aggregate SQL shape: {sql[:200]}")
    sql = f"SELECT {marker}, {head[len('SELECT ') :]} GROUP BY GROUPING SETS ({grouping_sets})"
    # GROUPING() sets a bit, most significant first, for each column a row is NOT grouped by.
    width = len(columns)
    masks: dict[int, list[str]] = {}
    for name, cols in wide.items():
        masks.setdefault(sum(1 << (width - 1 - i) for i, c in enumerate(columns) if c not in cols), []).append(name)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [d[0] for d in cursor.description]
        for values in cursor.fetchall():
            row = dict(zip(names, values, strict=True))
            for name in masks[row["_grouping"]]:
                _add(out[name], tuple(_plain(row[c]) for c in sets[name]), _pg_sums(row))
    return out


def _add(grouped: dict[tuple[Any, ...], Sums], key: tuple[Any, ...], sums: Sums) -> None:
    found = grouped.get(key)
    if found is None:
        grouped[key] = sums
    else:
        found.add(sums)
