"""Keeping the coarser rollups (finops.ledger.rollup_models) equal to SpendDaily, on PostgreSQL.

Statement triggers on SpendDaily add each statement's changed cells to them: the new values of inserted and
updated cells, minus the old values of updated and deleted ones, summed per coarse cell (numeric: exact),
and a coarse cell whose events reach 0 is deleted. Every path that changes SpendDaily (the loader's
INSERT ... ON CONFLICT, re-pricing's updates, rebuilds, purges, a tenant's deletion) therefore keeps them
right in its own transaction, with no code of its own. `coarse_check` compares them with SpendDaily
(rollup_check calls it) and `coarse_rebuild` recomputes a tenant's from SpendDaily (rollup_rebuild of a
whole tenant calls it). SQLite has no exact decimal sum in SQL: there the explorer reads SpendDaily alone.

The weekly rollups (WEEKLY_ROLLUPS) are kept the same way, one step further down: statement triggers on their
daily rollup add its changed cells to the ISO week (Monday) they fall in. A change to SpendDaily therefore
reaches the weekly cells in the same statement, through the daily rollup's own trigger.

A CUR delivery writes one new SpendDaily cell for nearly every line (a line is already one usage type, day and
principal), so the triggers on SpendDaily cost more than the ledger rows themselves (40 µs a line against 17).
A billing period's replacement therefore defers them (`coarse_deferred`: a transaction-local setting the
SpendDaily triggers read) and, before its transaction commits, recomputes that tenant's coarse cells of the
period from SpendDaily in two statements; the weekly ones follow through their triggers as always."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from django.db import connection

from finops.ledger.models import SpendDaily
from finops.ledger.rollup_models import COARSE_MEASURES, COARSE_ROLLUPS, WEEKLY_ROLLUPS
from finops.ledger.rollups import _pg_key_sql

FINE = SpendDaily._meta.db_table
# Set (transaction-local) while a billing period is replaced: the SpendDaily triggers then do nothing, and
# `coarse_deferred` recomputes the period's coarse cells before the transaction ends.
DEFERRED_SETTING = "finops.coarse_deferred"
DAY = "usage_date"
# The Monday of a row's ISO week (immutable: no time zone involved, unlike date_trunc on a date).
WEEK = "(usage_date - (EXTRACT(ISODOW FROM usage_date)::int - 1))"


def _sum_sql(table: str, dimensions: tuple[str, ...], rows: str) -> str:
    """INSERT the rows of `rows` (a subquery with SpendDaily's columns, measures signed) summed into `table`'s
    cells, adding to the cells that exist."""
    dims = ", ".join(f'd."{d}"' for d in dimensions)
    sums = ", ".join(f'SUM(d."{m}")' for m in COARSE_MEASURES)
    columns = ", ".join(["tenant_id", "usage_date", "dims_key", *(f'"{c}"' for c in (*dimensions, *COARSE_MEASURES))])
    updates = ", ".join(f'"{m}" = {table}."{m}" + EXCLUDED."{m}"' for m in COARSE_MEASURES)
    return (
        f"INSERT INTO {table} ({columns}) "
        f"SELECT d.tenant_id, d.usage_date, {_pg_key_sql('d.', dimensions)}, {dims}, {sums} FROM ({rows}) d "
        f"GROUP BY d.tenant_id, d.usage_date, {dims} "
        f"ON CONFLICT (tenant_id, usage_date, dims_key) DO UPDATE SET {updates}"
    )


def _rows_sql(source: str, dimensions: tuple[str, ...], *, sign: int = 1, where: str = "", day: str = DAY) -> str:
    """`source`'s rows with their cell's date (`day`: the row's own, or its week's Monday), measures signed."""
    measures = ", ".join(f'{"-" if sign < 0 else ""}"{m}" AS "{m}"' for m in COARSE_MEASURES)
    dims = ", ".join(f'"{d}"' for d in dimensions)
    return (
        f"SELECT tenant_id, {day} AS usage_date, {dims}, {measures} FROM {source}{f' WHERE {where}' if where else ''}"
    )


def _function_name(table: str) -> str:
    return f"{table}_apply"


def pg_install_sql(table: str, dimensions: tuple[str, ...], *, source: str = FINE, day: str = DAY) -> list[str]:
    """The trigger function and the three statement triggers that keep `table` equal to `source` (SpendDaily,
    or a weekly rollup's daily one) summed over `dimensions` and, for a weekly one, the days of each week."""
    new, old = _rows_sql("new_rows", dimensions, day=day), _rows_sql("old_rows", dimensions, sign=-1, day=day)
    empty = f"DELETE FROM {table} t USING (SELECT DISTINCT tenant_id, {day} AS usage_date FROM old_rows) o WHERE t.tenant_id = o.tenant_id AND t.usage_date = o.usage_date AND t.events <= 0"  # noqa: E501
    function = _function_name(table)
    deferrable = (
        f"  IF current_setting('{DEFERRED_SETTING}', true) = 'on' THEN RETURN NULL; END IF;\n" if source == FINE else ""
    )
    body = (
        "BEGIN\n"
        f"{deferrable}"
        f"  IF TG_OP = 'INSERT' THEN {_sum_sql(table, dimensions, new)};\n"
        f"  ELSIF TG_OP = 'UPDATE' THEN {_sum_sql(table, dimensions, f'{new} UNION ALL {old}')}; {empty};\n"
        f"  ELSE {_sum_sql(table, dimensions, old)}; {empty};\n"
        "  END IF;\n  RETURN NULL;\nEND"
    )
    statements = [f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $body$\n{body}\n$body$"]
    for op, referencing in (
        ("INSERT", "NEW TABLE AS new_rows"),
        ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        ("DELETE", "OLD TABLE AS old_rows"),
    ):
        statements.append(
            f"CREATE TRIGGER {table}_{op.lower()} AFTER {op} ON {source} REFERENCING {referencing} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )
    return statements


def pg_uninstall_sql(table: str, *, source: str = FINE) -> list[str]:
    return [
        *(f"DROP TRIGGER IF EXISTS {table}_{op} ON {source}" for op in ("insert", "update", "delete")),
        f"DROP FUNCTION IF EXISTS {_function_name(table)}()",
    ]


def coarse_install(schema_editor: Any = None) -> None:
    """Create the triggers and fill the coarse rollups from SpendDaily (the migration; PostgreSQL only)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model, dimensions in COARSE_ROLLUPS:
            table = model._meta.db_table
            for sql in pg_install_sql(table, dimensions):
                cursor.execute(sql)
            cursor.execute(f"DELETE FROM {table}")
            cursor.execute(_sum_sql(table, dimensions, _rows_sql(FINE, dimensions)))


def coarse_uninstall(schema_editor: Any = None) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model, _ in COARSE_ROLLUPS:
            for sql in pg_uninstall_sql(model._meta.db_table):
                cursor.execute(sql)


def _derived() -> list[tuple[str, tuple[str, ...], str, str]]:
    """Every rollup kept from another: (table, dimensions, the table it sums, its cell's date), in the order
    they are filled (a weekly one after its daily one)."""
    out = [(model._meta.db_table, dimensions, FINE, DAY) for model, dimensions in COARSE_ROLLUPS]
    out += [(m._meta.db_table, dims, daily._meta.db_table, WEEK) for m, dims, daily, _ in WEEKLY_ROLLUPS]
    return out


def _span_view_sql(view: str, weekly: str, daily: str, dimensions: tuple[str, ...]) -> str:
    """The weekly and the daily cells in one relation, told apart by `grain`: a query's condition on grain is
    a constant in each branch, so PostgreSQL reads only the branch (and index range) it can match."""
    columns = ", ".join(["id", "tenant_id", "usage_date", *(f'"{c}"' for c in (*dimensions, *COARSE_MEASURES))])
    return (
        f"CREATE OR REPLACE VIEW {view} AS "
        f"SELECT 'week'::varchar(4) AS grain, {columns} FROM {weekly} "
        f"UNION ALL SELECT 'day'::varchar(4) AS grain, {columns} FROM {daily}"
    )


def weekly_install(schema_editor: Any = None) -> None:
    """Create the weekly rollups' triggers on their daily ones, fill them, and create the views of both (the
    migration; PostgreSQL only)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model, dimensions, daily, span in WEEKLY_ROLLUPS:
            table, source = model._meta.db_table, daily._meta.db_table
            for sql in pg_install_sql(table, dimensions, source=source, day=WEEK):
                cursor.execute(sql)
            cursor.execute(f"DELETE FROM {table}")
            cursor.execute(_sum_sql(table, dimensions, _rows_sql(source, dimensions, day=WEEK)))
            cursor.execute(_span_view_sql(span._meta.db_table, table, source, dimensions))


def weekly_uninstall(schema_editor: Any = None) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model, _, daily, span in WEEKLY_ROLLUPS:
            cursor.execute(f"DROP VIEW IF EXISTS {span._meta.db_table}")
            for sql in pg_uninstall_sql(model._meta.db_table, source=daily._meta.db_table):
                cursor.execute(sql)


def coarse_rebuild(*, tenant_id: int) -> None:
    """Recompute a tenant's coarse and weekly rollups from its SpendDaily cells (PostgreSQL; call inside a
    transaction)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table, dimensions, source, day in _derived():
            cursor.execute(f"DELETE FROM {table} WHERE tenant_id = %s", [tenant_id])
            rows = _rows_sql(source, dimensions, where="tenant_id = %s", day=day)
            cursor.execute(_sum_sql(table, dimensions, rows), [tenant_id])


def coarse_functions_install(schema_editor: Any = None) -> None:
    """(Re)create the coarse rollups' trigger functions, e.g. once their body changed (a migration)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model, dimensions in COARSE_ROLLUPS:
            cursor.execute(pg_install_sql(model._meta.db_table, dimensions)[0])


@contextmanager
def coarse_deferred(*, tenant_id: int, billing_period: date) -> Iterator[None]:
    """Inside a transaction that changes only `billing_period`'s SpendDaily cells of one tenant (a CUR period's
    replacement): the coarse triggers wait, and on leaving, that period's coarse cells are recomputed from
    SpendDaily. On an exception nothing is recomputed: the transaction (or savepoint) rolling back undoes the
    setting and every change. No-op on SQLite, which has no coarse rollups."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, 'on', true)", [DEFERRED_SETTING])
    yield
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, 'off', true)", [DEFERRED_SETTING])
        for model, dimensions in COARSE_ROLLUPS:
            table = model._meta.db_table
            where = "tenant_id = %s AND billing_period = %s"
            cursor.execute(f"DELETE FROM {table} WHERE {where}", [tenant_id, billing_period])
            cursor.execute(
                _sum_sql(table, dimensions, _rows_sql(FINE, dimensions, where=where)), [tenant_id, billing_period]
            )


def coarse_check(*, tenant_id: int) -> list[str]:
    """Differences between each coarse or weekly rollup and SpendDaily summed over the same dimensions (and,
    for a weekly one, the days of each week) (PostgreSQL)."""
    if connection.vendor != "postgresql":
        return []
    problems: list[str] = []
    with connection.cursor() as cursor:
        for table, dimensions, _, day in _derived():
            dims = ", ".join(f'"{d}"' for d in dimensions)
            measures = ", ".join(f'"{m}"' for m in COARSE_MEASURES)
            sums = ", ".join(f'SUM("{m}")' for m in COARSE_MEASURES)
            # Cells in one and not (or not equal) in the other, both ways.
            cursor.execute(
                f"WITH want AS (SELECT {day} AS usage_date, {dims}, {sums} FROM {FINE} WHERE tenant_id = %s "
                f"GROUP BY 1, {dims}), have AS (SELECT usage_date, {dims}, {measures} FROM {table} "
                "WHERE tenant_id = %s) "
                "(SELECT 'rollup', * FROM want EXCEPT SELECT 'rollup', * FROM have) UNION ALL "
                f"(SELECT '{table}', * FROM have EXCEPT SELECT '{table}', * FROM want) LIMIT 1000",
                [tenant_id, tenant_id],
            )
            for row in cursor.fetchall():
                problems.append(f"{row[1]} {table}: a cell only in {row[0]} (or differing): {row[2:]}")
    return problems
