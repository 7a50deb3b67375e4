"""Several groupings of the same rollup cells at once: one scan on PostgreSQL (GROUPING SETS), one pass in
Python on SQLite. The overview needs five groupings of one date range; five scans were most of its time."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet

from finops.explorer.sums import _CELL_FIELDS, Sums, _cell_sums, _pg_aggregates, _pg_sums, _plain


def aggregate_sets(qs: QuerySet, sets: dict[str, tuple[str, ...]], *, detail: bool = False) -> dict[str, dict]:
    """For each named set of plain column names, the Sums per group, as `aggregate` would return them:
    {set name: {(value, ...): Sums}}. Column names only (no expressions), at least one per set."""
    columns = list(dict.fromkeys(c for cols in sets.values() for c in cols))
    if not columns or any(not cols for cols in sets.values()):
        raise ValueError("every grouping set needs at least one column")
    out: dict[str, dict[tuple[Any, ...], Sums]] = {name: {} for name in sets}
    if connection.vendor != "postgresql":
        for cell in qs.values(*columns, *_CELL_FIELDS).iterator(chunk_size=5000):
            for name, cols in sets.items():
                key = tuple(_plain(cell[c]) for c in cols)
                found = out[name].get(key)
                if found is None:
                    out[name][key] = _cell_sums(cell)
                else:
                    found.add(_cell_sums(cell))
        return out

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
    grouping_sets = ", ".join("(" + ", ".join(ref[c] for c in cols) + ")" for cols in sets.values())
    marker = f'GROUPING({", ".join(ref[c] for c in columns)}) AS "_grouping"'
    if not head.startswith("SELECT "):
        raise RuntimeError(f"unexpected aggregate SQL shape: {sql[:200]}")
    sql = f"SELECT {marker}, {head[len('SELECT ') :]} GROUP BY GROUPING SETS ({grouping_sets})"
    # GROUPING() sets a bit, most significant first, for each column a row is NOT grouped by.
    width = len(columns)
    masks = {
        sum(1 << (width - 1 - i) for i, c in enumerate(columns) if c not in cols): name for name, cols in sets.items()
    }
    if len(masks) != len(sets):
        raise ValueError("two grouping sets have the same columns")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [d[0] for d in cursor.description]
        for values in cursor.fetchall():
            row = dict(zip(names, values, strict=True))
            name = masks[row["_grouping"]]
            out[name][tuple(_plain(row[c]) for c in sets[name])] = _pg_sums(row)
    return out
