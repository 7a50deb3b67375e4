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


def _with_defaults(row: dict[str, Any], *, tenant_id: int, import_run_id: int | None) -> dict[str, Any]:
    values = {f.attname: f.get_default() for f in SpendEvent._meta.concrete_fields if not f.primary_key}
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
    prepared = [_with_defaults(r, tenant_id=tenant_id, import_run_id=import_run_id) for r in unique.values()]
    if not prepared:
        return 0, in_batch_duplicates
    with transaction.atomic():
        if connection.vendor == "postgresql":
            inserted = _copy_insert(prepared)
        else:
            inserted = _bulk_insert(prepared, tenant_id=tenant_id)
    return inserted, in_batch_duplicates + len(prepared) - inserted


def _bulk_insert(prepared: list[dict[str, Any]], *, tenant_id: int) -> int:
    keys = [r["dedupe_key"] for r in prepared]
    existing: set[str] = set()
    for start in range(0, len(keys), 900):  # stay under SQLite's bound-parameter limit
        chunk = keys[start : start + 900]
        existing.update(
            SpendEvent.objects.filter(tenant_id=tenant_id, dedupe_key__in=chunk).values_list("dedupe_key", flat=True)
        )
    new = [SpendEvent(**r) for r in prepared if r["dedupe_key"] not in existing]
    SpendEvent.objects.bulk_create(new, batch_size=500)
    return len(new)


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
