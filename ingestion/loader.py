"""Rows in, ledger out: COPY into a staging table on PostgreSQL, bulk inserts on SQLite. Both skip
rows whose (tenant, dedupe_key) is already there, so loading the same data twice changes nothing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from operator import itemgetter
from typing import Any

from django.db import connection, transaction

from finops.ledger.models import SpendEvent
from finops.ledger.rollups import (
    max_event_id,
    pg_returning_columns,
    pg_rollup_insert_sql,
    rollup_add_inserted,
    rollup_rebuild,
)

STAGE_TABLE = "spend_events_stage"


@lru_cache(maxsize=1)
def _columns() -> list[tuple[str, str]]:
    """(attribute name, column name) of every stored field except the primary key."""
    return [(f.attname, f.column) for f in SpendEvent._meta.concrete_fields if not f.primary_key]


def _defaults() -> dict[str, Any]:
    return {f.attname: f.get_default() for f in SpendEvent._meta.concrete_fields if not f.primary_key}


@lru_cache(maxsize=1)
def _json_attnames() -> frozenset[str]:
    return frozenset(f.attname for f in SpendEvent._meta.concrete_fields if f.get_internal_type() == "JSONField")


def _with_defaults(
    row: dict[str, Any], *, defaults: dict[str, Any], tenant_id: int, import_run_id: int | None
) -> dict[str, Any]:
    return {**defaults, **row, "tenant_id": tenant_id, "import_run_id": import_run_id}


def _copy_rows(prepared: list[dict[str, Any]]) -> Iterator[list[Any]]:
    """Each row's values in column order, JSON columns as text: the per-value type test was 11% of a CUR import."""
    names = [attname for attname, _ in _columns()]
    json_names = _json_attnames()
    json_indexes = [index for index, attname in enumerate(names) if attname in json_names]
    encode = json.JSONEncoder(separators=(",", ":")).encode
    in_order = itemgetter(*names)
    for row in prepared:
        values = list(in_order(row))
        for index in json_indexes:
            if isinstance(values[index], dict | list):
                values[index] = encode(values[index])
        yield values


@dataclass(frozen=True)
class Packed:
    """A batch's ledger rows made ready for PostgreSQL's COPY where they were normalised (the process that
    parses a large file): the rows of distinct dedupe keys as COPY text in the ledger's column order, for
    one tenant and run. Handing these bytes over costs next to nothing, where pickling the rows' dicts,
    unpickling them and putting their values in order cost the loading process ~25 us a row."""

    data: bytes
    rows: int  # distinct dedupe keys in the batch, in `data`
    duplicates: int  # rows of the batch whose dedupe key an earlier row of it had
    billing_periods: frozenset[date]


def pack_events(rows: list[dict[str, Any]], *, tenant_id: int, import_run_id: int | None) -> Packed:
    """The rows as `insert_events` would COPY them (PostgreSQL): the first row of each dedupe key, defaults
    filled in, values formatted by psycopg's own COPY text formatter and the adapters a cursor has."""
    from psycopg import adapt
    from psycopg._copy_base import format_row_text  # what Copy.write_row formats a row with

    unique: dict[str, dict[str, Any]] = {}
    for row in rows:
        unique.setdefault(row["dedupe_key"], row)
    defaults = _defaults()
    prepared = [
        _with_defaults(r, defaults=defaults, tenant_id=tenant_id, import_run_id=import_run_id) for r in unique.values()
    ]
    transformer = adapt.Transformer()
    out = bytearray()
    for values in _copy_rows(prepared):
        format_row_text(values, transformer, out)
    periods = frozenset(row["billing_period"] for row in prepared)
    return Packed(data=bytes(out), rows=len(prepared), duplicates=len(rows) - len(prepared), billing_periods=periods)


@dataclass
class Loaded:
    inserted: int = 0
    unchanged: int = 0  # already in the ledger from an earlier delivery, identical: kept, now this run's
    duplicates: int = 0  # twice in this run, or (requests) already loaded


def insert_events(
    rows: list[dict[str, Any]] | Packed,
    *,
    tenant_id: int,
    import_run_id: int | None,
    claim: bool = False,
    rollup: bool = True,
) -> Loaded:
    """Insert rows, skipping those whose (tenant, dedupe_key) exists. Call inside a transaction.

    `rows` may come `Packed` (PostgreSQL only), made by `pack_events` for the same tenant and run.

    With `claim`, an identical row from an earlier run is taken over by this run instead of being
    skipped, so that a re-delivered billing period can then drop exactly the rows it no longer has.
    With `rollup=False` the daily rollup is left to the caller, who must rebuild the cells of what it
    loaded before its transaction commits (a billing period's replacement does, once for the period)."""
    if isinstance(rows, Packed):
        if connection.vendor != "postgresql":
            raise ValueError("packed rows are COPY text: PostgreSQL only")
        if not rows.rows:
            return Loaded(duplicates=rows.duplicates)
        with transaction.atomic():
            result = _copy_insert(rows, claim=claim, rollup=rollup)
        result.duplicates += rows.duplicates + rows.rows - result.inserted - result.unchanged
        return result
    unique: dict[str, dict[str, Any]] = {}
    for row in rows:
        unique.setdefault(row["dedupe_key"], row)
    in_batch_duplicates = len(rows) - len(unique)
    defaults = _defaults()
    prepared = [
        _with_defaults(r, defaults=defaults, tenant_id=tenant_id, import_run_id=import_run_id) for r in unique.values()
    ]
    if not prepared:
        return Loaded(duplicates=in_batch_duplicates)
    # The daily rollup moves with the rows, in their transaction: on PostgreSQL in the INSERT statement
    # itself, on SQLite from the rows inserted (ids above the highest before).
    with transaction.atomic():
        if connection.vendor == "postgresql":
            result = _copy_insert(prepared, claim=claim, rollup=rollup)
        else:
            after_id = max_event_id() if rollup else 0
            result = _bulk_insert(prepared, tenant_id=tenant_id, import_run_id=import_run_id, claim=claim)  # SQLite
            if rollup and result.inserted:
                rollup_add_inserted(tenant_id=tenant_id, import_run_id=import_run_id, after_id=after_id)
    result.duplicates += in_batch_duplicates + len(prepared) - result.inserted - result.unchanged
    return result


def _sqlite_converters() -> list[Any]:
    """One adapter per column, looked up once: Django's per-value preparation is the slow part."""
    ops = connection.ops
    converters: list[Any] = []
    for f in SpendEvent._meta.concrete_fields:
        if f.primary_key:
            continue
        kind = f.get_internal_type()
        if kind == "DateTimeField":
            converters.append(ops.adapt_datetimefield_value)
        elif kind == "DateField":
            converters.append(ops.adapt_datefield_value)
        elif kind == "DecimalField":
            converters.append(lambda v: None if v is None else str(v))
        elif kind == "JSONField":
            converters.append(lambda v: json.dumps(v, separators=(",", ":")))
        else:
            converters.append(None)
    return converters


def _existing_runs(keys: list[str], *, tenant_id: int) -> dict[str, int | None]:
    found: dict[str, int | None] = {}
    table = SpendEvent._meta.db_table
    with connection.cursor() as cursor:
        for offset in range(0, len(keys), 500):
            chunk = keys[offset : offset + 500]
            marks = ", ".join("%s" for _ in chunk)
            cursor.execute(
                f'SELECT "dedupe_key", "import_run_id" FROM {table} '
                f'WHERE "tenant_id" = %s AND "dedupe_key" IN ({marks})',
                [tenant_id, *chunk],
            )
            found.update(cursor.fetchall())
    return found


def _bulk_insert(prepared: list[dict[str, Any]], *, tenant_id: int, import_run_id: int | None, claim: bool) -> Loaded:
    """INSERT OR IGNORE: rows whose (tenant, dedupe_key) exists are skipped by the unique constraint."""
    columns = _columns()
    converters = _sqlite_converters()
    names = ", ".join(f'"{column}"' for _, column in columns)
    marks = ", ".join("?" for _ in columns)
    table = SpendEvent._meta.db_table
    claimed: list[str] = []
    if claim:
        existing = _existing_runs([row["dedupe_key"] for row in prepared], tenant_id=tenant_id)
        claimed = [key for key, run in existing.items() if run != import_run_id]
        prepared = [row for row in prepared if row["dedupe_key"] not in existing]
    values = [
        [conv(row[attname]) if conv else row[attname] for (attname, _), conv in zip(columns, converters, strict=True)]
        for row in prepared
    ]
    with connection.cursor() as cursor:
        for offset in range(0, len(claimed), 500):
            chunk = claimed[offset : offset + 500]
            cursor.execute(
                f'UPDATE {table} SET "import_run_id" = %s WHERE "tenant_id" = %s AND "dedupe_key" IN '
                f"({', '.join('%s' for _ in chunk)})",
                [import_run_id, tenant_id, *chunk],
            )
        before = connection.connection.total_changes
        cursor.executemany(f"INSERT OR IGNORE INTO {table} ({names}) VALUES ({marks})", values)
        return Loaded(inserted=connection.connection.total_changes - before, unchanged=len(claimed))


def _rolled_sql(where: str, rollup: bool) -> str:
    """The CTE that adds the inserted rows (`ins`) to the daily rollup, or nothing when the caller rebuilds it."""
    if not rollup:
        return ""
    return f", rolled AS ({pg_rollup_insert_sql('ins e', q='e.', where=where, additive=True)})"


def _copy_insert(prepared: list[dict[str, Any]] | Packed, *, claim: bool, rollup: bool = True) -> Loaded:
    columns = _columns()
    names = ", ".join(f'"{column}"' for _, column in columns)
    table = SpendEvent._meta.db_table
    with connection.cursor() as cursor:
        # The staging table has the ledger's columns but none of its constraints; it lives until
        # the end of the transaction.
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {STAGE_TABLE} ON COMMIT DROP AS SELECT {names} FROM {table} WITH NO DATA"
        )
        with cursor.copy(f"COPY {STAGE_TABLE} ({names}) FROM STDIN") as copy:
            if isinstance(prepared, Packed):
                copy.write(prepared.data)
            else:
                for values in _copy_rows(prepared):
                    copy.write_row(values)
        returning = pg_returning_columns()
        if claim:
            # xmax = 0 tells a fresh row from one taken over; rows this run already has are not returned.
            # Only fresh rows go into the rollup: a row taken over is already counted there.
            cursor.execute(
                f"WITH ins AS (INSERT INTO {table} ({names}) SELECT {names} FROM {STAGE_TABLE} "
                f'ON CONFLICT ("tenant_id", "dedupe_key") DO UPDATE SET "import_run_id" = EXCLUDED."import_run_id" '
                f'WHERE {table}."import_run_id" IS DISTINCT FROM EXCLUDED."import_run_id" '
                f"RETURNING (xmax = 0) AS fresh{f', {returning}' if rollup else ''})"
                f"{_rolled_sql('e.fresh', rollup)} "
                "SELECT COUNT(*) FILTER (WHERE fresh), COUNT(*) FROM ins"
            )
            fresh, returned = cursor.fetchone()
            result = Loaded(inserted=fresh, unchanged=returned - fresh)
        else:
            cursor.execute(
                f"WITH ins AS (INSERT INTO {table} ({names}) SELECT {names} FROM {STAGE_TABLE} "
                f'ON CONFLICT ("tenant_id", "dedupe_key") DO NOTHING RETURNING {returning if rollup else "1"})'
                f"{_rolled_sql('', rollup)} "
                "SELECT COUNT(*) FROM ins"
            )
            result = Loaded(inserted=cursor.fetchone()[0])
        cursor.execute(f"TRUNCATE {STAGE_TABLE}")
    return result


def lock_billing_period(*, tenant_id: int, billing_period: date) -> None:
    """Serialise replacements of one (tenant, billing period): a second import of the same period
    waits here until the first commits, then replaces its rows. Held to the end of the transaction.
    SQLite needs nothing: its write transactions are already one at a time (BEGIN IMMEDIATE)."""
    if connection.vendor != "postgresql":
        return
    digest = hashlib.sha256(f"cur-period:{tenant_id}:{billing_period.isoformat()}".encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def delete_billed_period(
    *,
    tenant_id: int,
    billing_period: date,
    keep_import_run_id: int | None,
    source: str = "bedrock",
    rebuild: bool = True,
) -> int:
    """Remove a period's billed rows of one source before its re-delivery is loaded (rows of the current run
    stay). A CUR delivery replaces Bedrock's bill lines only, never another provider's of the same month.
    `rebuild=False`: the caller rebuilds the period's daily cells itself (it loaded them with rollup=False)."""
    queryset = SpendEvent.objects.filter(
        tenant_id=tenant_id,
        source=source,
        record_kind=SpendEvent.RecordKind.BILLED_LINE,
        billing_period=billing_period,
    )
    if keep_import_run_id is not None:
        queryset = queryset.exclude(import_run_id=keep_import_run_id)
    deleted, _ = queryset.delete()
    if deleted and rebuild:
        rollup_rebuild(
            tenant_id=tenant_id, billing_periods=[billing_period], record_kind=SpendEvent.RecordKind.BILLED_LINE
        )
    return deleted


def period_billed_total(*, tenant_id: int, billing_period: date, source: str = "bedrock") -> Decimal | None:
    """A billing period's billed dollars of one source as loaded (None when nothing of it is), summed in Python."""
    costs = list(
        SpendEvent.objects.filter(
            tenant_id=tenant_id,
            source=source,
            record_kind=SpendEvent.RecordKind.BILLED_LINE,
            billing_period=billing_period,
        ).values_list("cost_usd", flat=True)
    )
    return sum((c or Decimal(0) for c in costs), Decimal(0)) if costs else None


# The columns the import's own later statements filter and join on (reconciliation, the rollup rebuild, the
# joins by id). ANALYZE of these alone still refreshes the table's row count, and takes a fifth of the time of
# all ~60 columns (0.97 -> 0.17 s on a 300k-row ledger); autovacuum analyses the rest later, as it always did.
ANALYZE_COLUMNS = ("id", "tenant_id", "source", "record_kind", "billing_period", "usage_date", "line_item_type",
                   "usage_category", "model_id", "import_run_id")  # fmt: skip


def refresh_statistics(*, rows_loaded: int) -> bool:
    """ANALYZE the ledger's filter and join columns when this import grew it by more than a fifth (at least
    10,000 rows).

    Autovacuum analyses a table only some time after a bulk load; until then the planner works from the
    old row count, and a join by id to a few hundred rows became a hash of the whole ledger (250 ms per
    reconciled day instead of a few ms). PostgreSQL only; ANALYZE does not block readers or writers."""
    if connection.vendor != "postgresql" or rows_loaded < 10_000:
        return False
    table = SpendEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
        found = cursor.fetchone()
        estimate = max(float(found[0]) if found else 0.0, 0.0)  # -1: never analysed
        if rows_loaded <= estimate / 5:
            return False
        columns = ", ".join(f'"{name}"' for name in ANALYZE_COLUMNS)
        cursor.execute(f"ANALYZE {table} ({columns})")
    return True
