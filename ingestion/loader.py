"""Rows in, ledger out: COPY into a staging table on PostgreSQL, bulk inserts on SQLite. Both skip
rows whose (tenant, dedupe_key) is already there, so loading the same data twice changes nothing."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.db import connection, transaction

from finops.ledger.models import SpendEvent

STAGE_TABLE = "spend_events_stage"


def _columns() -> list[tuple[str, str]]:
    """(attribute name, column name) of every stored field except the primary key."""
    return [(f.attname, f.column) for f in SpendEvent._meta.concrete_fields if not f.primary_key]


def _defaults() -> dict[str, Any]:
    return {f.attname: f.get_default() for f in SpendEvent._meta.concrete_fields if not f.primary_key}


def _with_defaults(
    row: dict[str, Any], *, defaults: dict[str, Any], tenant_id: int, import_run_id: int | None
) -> dict[str, Any]:
    values = dict(defaults)
    values.update(row)
    values["tenant_id"] = tenant_id
    values["import_run_id"] = import_run_id
    return values


def insert_events(rows: list[dict[str, Any]], *, tenant_id: int, import_run_id: int | None) -> tuple[int, int]:
    """Insert rows; return (inserted, duplicates). Call inside a transaction."""
    unique: dict[str, dict[str, Any]] = {}
    for row in rows:
        unique.setdefault(row["dedupe_key"], row)
    in_batch_duplicates = len(rows) - len(unique)
    defaults = _defaults()
    prepared = [
        _with_defaults(r, defaults=defaults, tenant_id=tenant_id, import_run_id=import_run_id) for r in unique.values()
    ]
    if not prepared:
        return 0, in_batch_duplicates
    with transaction.atomic():
        if connection.vendor == "postgresql":
            inserted = _copy_insert(prepared)
        else:
            inserted = _bulk_insert(prepared, tenant_id=tenant_id)  # SQLite
    return inserted, in_batch_duplicates + len(prepared) - inserted


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


def _bulk_insert(prepared: list[dict[str, Any]], *, tenant_id: int) -> int:
    """INSERT OR IGNORE: rows whose (tenant, dedupe_key) exists are skipped by the unique constraint."""
    columns = _columns()
    converters = _sqlite_converters()
    names = ", ".join(f'"{column}"' for _, column in columns)
    marks = ", ".join("?" for _ in columns)
    values = [
        [conv(row[attname]) if conv else row[attname] for (attname, _), conv in zip(columns, converters, strict=True)]
        for row in prepared
    ]
    with connection.cursor() as cursor:
        before = connection.connection.total_changes
        cursor.executemany(f"INSERT OR IGNORE INTO {SpendEvent._meta.db_table} ({names}) VALUES ({marks})", values)
        return connection.connection.total_changes - before


def _copy_value(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return value


def _copy_insert(prepared: list[dict[str, Any]]) -> int:
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
            for row in prepared:
                copy.write_row([_copy_value(row[attname]) for attname, _ in columns])
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT {names} FROM {STAGE_TABLE} "
            f'ON CONFLICT ("tenant_id", "dedupe_key") DO NOTHING'
        )
        inserted = cursor.rowcount
        cursor.execute(f"TRUNCATE {STAGE_TABLE}")
    return inserted


def delete_billed_period(*, tenant_id: int, billing_period: date, keep_import_run_id: int | None) -> int:
    """Remove a period's billed rows before its re-delivery is loaded (rows of the current run stay)."""
    queryset = SpendEvent.objects.filter(
        tenant_id=tenant_id, record_kind=SpendEvent.RecordKind.BILLED_LINE, billing_period=billing_period
    )
    if keep_import_run_id is not None:
        queryset = queryset.exclude(import_run_id=keep_import_run_id)
    deleted, _ = queryset.delete()
    return deleted
