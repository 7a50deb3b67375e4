"""The daily rollup (SpendDaily): the ledger summed per tenant, day and dimension combination, kept
equal to the raw rows in the same transactions that change them.

* the loader adds the rows it has just inserted (`rollup_add_inserted`);
* a re-delivered billing period, a reconciliation and a data-lifecycle purge rebuild the cells they touch
  from the raw rows (`rollup_rebuild`);
* a re-pricing applies each changed row's old and new values (`rollup_apply`).

On PostgreSQL the adds and rebuilds are single INSERT ... SELECT ... GROUP BY statements; on SQLite
(whose SUM of decimals is a float) the rows are summed in Python as Decimal. Both compute the same
`dims_key`, an md5 of the dimension values each prefixed by its length (unambiguous whatever the
values hold), so a cell written one way is found by the other. `rollup_check` compares the rollup with
the raw rows (tests, the rebuild command)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet

from finops.ledger.bulk import bulk_set, sqlite_value
from finops.ledger.models import LATENCY_BUCKETS, LATENCY_EDGES_MS, SpendDaily, SpendEvent

# The dimensions of a cell, in key order (usage_date is a column of its own).
DIMENSIONS = (
    "billing_period",
    "record_kind",
    "cost_basis",
    "source",
    "account_id",
    "region",
    "inference_region",
    "route",
    "model_id",
    "model_ref",
    "model_family",
    "model_tier",
    "model_provider",
    "operation",
    "usage_type",
    "token_type",
    "line_item_type",
    "service_tier",
    "context",
    "usage_category",
    "inference_profile_arn",
    "iam_principal",
    "principal_type",
    "principal_name",
    "role_name",
    "application",
    "team",
    "environment",
    "cost_center",
    "user_id",
    "agent_id",
    "workflow_id",
    "unpriced",
)
COUNTS = (
    "events",
    "requests",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "error_requests",
    "throttled_requests",
    "latency_count",
    "latency_sum_ms",
    *LATENCY_BUCKETS,
)
MONEY = ("cost_usd", "list_cost_usd", "allocated_cost_usd", "catalog_cost_usd", "catalog_billed_usd")
MEASURES = (*COUNTS, *MONEY)
# What a raw row needs for its cell.
RAW_FIELDS = (
    "usage_date",
    *DIMENSIONS,
    "requests",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "error_code",
    "latency_ms",
    "cost_usd",
    "list_cost_usd",
    "allocated_cost_usd",
    "catalog_cost_usd",
)
THROTTLE_MARKERS = ("throttl", "toomanyrequests")
ZERO = Decimal(0)


def _key_text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


def dims_key(row: dict[str, Any]) -> str:
    """md5 of the dimension values, each as `<length>:<text>` (the SQL below computes the same)."""
    text = "".join(f"{len(v)}:{v}" for v in (_key_text(row[d]) for d in DIMENSIONS))
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def latency_bucket(latency_ms: int) -> str:
    for index, edge in enumerate(LATENCY_EDGES_MS):
        if latency_ms < edge:
            return LATENCY_BUCKETS[index]
    return LATENCY_BUCKETS[-1]


def is_throttle(error_code: str) -> bool:
    code = error_code.lower()
    return any(marker in code for marker in THROTTLE_MARKERS)


def row_measures(row: dict[str, Any]) -> dict[str, Any]:
    """One raw row's contribution to its cell."""
    is_request = row["record_kind"] == SpendEvent.RecordKind.REQUEST
    error = row.get("error_code") or ""
    latency = row.get("latency_ms")
    out: dict[str, Any] = {
        "events": 1,
        "requests": row["requests"] or 0,
        "input_tokens": row["input_tokens"] or 0,
        "output_tokens": row["output_tokens"] or 0,
        "cache_read_tokens": row["cache_read_tokens"] or 0,
        "cache_write_tokens": row["cache_write_tokens"] or 0,
        "cache_write_1h_tokens": row["cache_write_1h_tokens"] or 0,
        "error_requests": (row["requests"] or 0) if error else 0,
        "throttled_requests": (row["requests"] or 0) if error and is_throttle(error) else 0,
        "latency_count": 0,
        "latency_sum_ms": 0,
        "cost_usd": row["cost_usd"] or ZERO,
        "list_cost_usd": row["list_cost_usd"] or ZERO,
        "allocated_cost_usd": row["allocated_cost_usd"] or ZERO,
        "catalog_cost_usd": row["catalog_cost_usd"] or ZERO,
        "catalog_billed_usd": (row["cost_usd"] or ZERO) if row["catalog_cost_usd"] is not None else ZERO,
    }
    if is_request and latency is not None and not error:
        out["latency_count"] = 1
        out["latency_sum_ms"] = latency
        out[latency_bucket(latency)] = 1
    return out


@dataclass
class _Cell:
    usage_date: date
    dims: dict[str, Any]
    measures: dict[str, Any]


def _accumulate(rows: Iterable[dict[str, Any]], cells: dict[tuple[date, str], _Cell], sign: int = 1) -> None:
    for row in rows:
        key = (row["usage_date"], dims_key(row))
        cell = cells.get(key)
        if cell is None:
            cell = cells[key] = _Cell(row["usage_date"], {d: row[d] for d in DIMENSIONS}, {})
        for name, value in row_measures(row).items():
            if value:
                cell.measures[name] = cell.measures.get(name, 0) + (value if sign > 0 else -value)


def _new_cell(tenant_id: int, cell: _Cell, key: str) -> SpendDaily:
    values = {name: cell.measures.get(name, ZERO if name in MONEY else 0) for name in MEASURES}
    return SpendDaily(tenant_id=tenant_id, usage_date=cell.usage_date, dims_key=key, **cell.dims, **values)


# --- adding and applying changes -------------------------------------------------------------------


def rollup_apply(
    *, tenant_id: int, removed: Iterable[dict[str, Any]] = (), added: Iterable[dict[str, Any]] = ()
) -> None:
    """Take rows' old values out of their cells and put their new values in (rows as dicts of
    RAW_FIELDS). Call inside the transaction that changes the raw rows."""
    deltas: dict[tuple[date, str], _Cell] = {}
    _accumulate(removed, deltas, sign=-1)
    _accumulate(added, deltas, sign=1)
    if not deltas:
        return
    existing: dict[tuple[date, str], SpendDaily] = {}
    by_date: dict[date, list[str]] = {}
    for day, key in deltas:
        by_date.setdefault(day, []).append(key)
    for day, keys in by_date.items():
        for offset in range(0, len(keys), 500):
            for cell in SpendDaily.objects.filter(
                tenant_id=tenant_id, usage_date=day, dims_key__in=keys[offset : offset + 500]
            ):
                existing[(day, cell.dims_key)] = cell
    create: list[SpendDaily] = []
    update: list[SpendDaily] = []
    delete: list[int] = []
    for (day, key), delta in deltas.items():
        cell = existing.get((day, key))
        if cell is None:
            if delta.measures.get("events", 0) > 0:
                create.append(_new_cell(tenant_id, delta, key))
            continue
        for name, value in delta.measures.items():
            setattr(cell, name, getattr(cell, name) + value)
        if cell.events <= 0:
            delete.append(cell.pk)
        else:
            update.append(cell)
    if delete:
        SpendDaily.objects.filter(pk__in=delete).delete()
    bulk_set(update, list(MEASURES))
    if connection.vendor != "postgresql":
        # SQLite: plain executemany; bulk_create prepares every value in Python.
        _sqlite_insert(create)
    elif create:
        SpendDaily.objects.bulk_create(create, batch_size=1000)


def _sqlite_insert(cells: list[SpendDaily]) -> None:
    if not cells:
        return
    fields = [f for f in SpendDaily._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(f'"{f.column}"' for f in fields)
    marks = ", ".join("%s" for _ in fields)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {SpendDaily._meta.db_table} ({columns}) VALUES ({marks})",
            [[sqlite_value(f, getattr(cell, f.attname)) for f in fields] for cell in cells],
        )


def rollup_add_inserted(*, tenant_id: int, import_run_id: int | None, after_id: int) -> None:
    """Add the rows a load has just inserted: this run's rows with an id above `after_id` (rows taken
    over from an earlier delivery keep their ids and are already counted)."""
    raw = SpendEvent.objects.filter(tenant_id=tenant_id, import_run_id=import_run_id, id__gt=after_id)
    if connection.vendor == "postgresql":
        _pg_insert_select(raw, additive=True)
    else:
        rollup_apply(tenant_id=tenant_id, added=_rows(raw))
    # (The PostgreSQL loader does not call this: its INSERT feeds the rollup in the same statement.)


def max_event_id() -> int:
    """The highest ledger id so far (rows inserted after this call have higher ones)."""
    last = SpendEvent.objects.order_by("-id").values_list("id", flat=True).first()
    return last or 0


# --- rebuilding -----------------------------------------------------------------------------------


def rollup_rebuild(
    *,
    tenant_id: int,
    billing_periods: Iterable[date] | None = None,
    record_kind: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> None:
    """Recompute the cells of a slice of the ledger from its raw rows: a tenant's whole ledger, or its
    billing periods, record kind and/or usage dates. Each filter is a cell dimension, so exactly the
    cells of the slice are replaced."""
    cells = SpendDaily.objects.filter(tenant_id=tenant_id)
    raw = SpendEvent.objects.filter(tenant_id=tenant_id)
    condition = Q()
    if billing_periods is not None:
        condition &= Q(billing_period__in=list(billing_periods))
    if record_kind is not None:
        condition &= Q(record_kind=record_kind)
    if start is not None:
        condition &= Q(usage_date__gte=start)
    if end is not None:
        condition &= Q(usage_date__lte=end)
    with transaction.atomic():
        cells.filter(condition).delete()
        if connection.vendor == "postgresql":
            with pg_hashed_grouping():
                _pg_insert_select(raw.filter(condition), additive=False)
        else:
            created: dict[tuple[date, str], _Cell] = {}
            _accumulate(_rows(raw.filter(condition)), created)
            _sqlite_insert([_new_cell(tenant_id, cell, key) for (_, key), cell in created.items()])
        if not condition:
            # A whole tenant: its coarse rollups too, from the cells just written (the triggers kept them
            # in step already; this also mends any that drifted, which rollup_check reports).
            from finops.ledger.coarse import coarse_rebuild

            coarse_rebuild(tenant_id=tenant_id)


def _rows(queryset: QuerySet[SpendEvent]) -> Iterator[dict[str, Any]]:
    return queryset.values(*RAW_FIELDS).iterator(chunk_size=5000)


# --- PostgreSQL: set-based ------------------------------------------------------------------------


@contextmanager
def pg_hashed_grouping() -> Iterator[None]:
    """Group the rows of the statements inside by hashing them, in memory: work_mem for the rest of the
    transaction (settings.FINOPS_ROLLUP_WORK_MEM, as SET LOCAL does) and sorting off for these statements.
    Rows loaded in the same transaction have no statistics yet, so the planner expects a handful and sorts
    them; for a billing period's 100k CUR lines the sort made the rebuild 1.5-1.7 s against 1.0-1.2 s hashed
    (and with the default 4 MB, once statistics exist, a sort on disk: 2.2-2.6 s against 1.4 s)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('enable_sort'), set_config('work_mem', %s, true), "
            "set_config('enable_sort', 'off', true)",
            [settings.FINOPS_ROLLUP_WORK_MEM],
        )
        (sort, _, _) = cursor.fetchone()
    yield  # (an error inside rolls the block back, and these settings with it: nothing to restore then)
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('enable_sort', %s, true)", [sort])


def _pg_key_sql(q: str, dimensions: tuple[str, ...] = DIMENSIONS) -> str:
    """The dims_key of the row whose columns are qualified by `q` (e.g. `e.`), over `dimensions`."""
    parts = []
    for name in dimensions:
        if name == "unpriced":
            text = f"(CASE WHEN {q}unpriced THEN '1' ELSE '0' END)"
        elif name == "billing_period":
            text = f"to_char({q}billing_period, 'YYYY-MM-DD')"
        else:
            text = f"COALESCE({q}\"{name}\", '')"
        parts.append(f"length({text})::text || ':' || {text}")
    return "md5(" + " || ".join(parts) + ")"


def _pg_measures_sql(q: str) -> list[tuple[str, str]]:
    is_request = f"{q}record_kind = '{SpendEvent.RecordKind.REQUEST}'"
    ok_latency = f"{is_request} AND {q}latency_ms IS NOT NULL AND {q}error_code = ''"
    throttled = " OR ".join(f"lower({q}error_code) LIKE '%%{m}%%'" for m in THROTTLE_MARKERS)
    measures = [
        ("events", "COUNT(*)"),
        ("requests", f"COALESCE(SUM({q}requests), 0)"),
        *((c, f"COALESCE(SUM({q}{c}), 0)") for c in COUNTS[2:7]),
        ("error_requests", f"COALESCE(SUM({q}requests) FILTER (WHERE {q}error_code <> ''), 0)"),
        (
            "throttled_requests",
            f"COALESCE(SUM({q}requests) FILTER (WHERE {q}error_code <> '' AND ({throttled})), 0)",
        ),
        ("latency_count", f"COUNT(*) FILTER (WHERE {ok_latency})"),
        ("latency_sum_ms", f"COALESCE(SUM({q}latency_ms) FILTER (WHERE {ok_latency}), 0)"),
    ]
    lower = None
    for index, name in enumerate(LATENCY_BUCKETS):
        bounds = []
        if lower is not None:
            bounds.append(f"{q}latency_ms >= {lower}")
        if index < len(LATENCY_EDGES_MS):
            bounds.append(f"{q}latency_ms < {LATENCY_EDGES_MS[index]}")
            lower = LATENCY_EDGES_MS[index]
        measures.append((name, f"COUNT(*) FILTER (WHERE {' AND '.join([ok_latency, *bounds])})"))
    measures += [
        ("cost_usd", f"COALESCE(SUM({q}cost_usd), 0)"),
        ("list_cost_usd", f"COALESCE(SUM({q}list_cost_usd), 0)"),
        ("allocated_cost_usd", f"COALESCE(SUM({q}allocated_cost_usd), 0)"),
        ("catalog_cost_usd", f"COALESCE(SUM({q}catalog_cost_usd), 0)"),
        ("catalog_billed_usd", f"COALESCE(SUM({q}cost_usd) FILTER (WHERE {q}catalog_cost_usd IS NOT NULL), 0)"),
    ]
    return measures


def pg_rollup_insert_sql(source: str, *, q: str, where: str = "", additive: bool) -> str:
    """INSERT INTO the rollup the rows of `source` (a table or a CTE; columns qualified by `q`), grouped
    into cells; with `additive`, an existing cell gets the sums added. One scan of `source`, no join, so
    the plan does not depend on the planner's row estimates (a freshly loaded table has none)."""
    dims = ", ".join(f'{q}"{d}"' for d in DIMENSIONS)
    measures = _pg_measures_sql(q)
    columns = ["tenant_id", "usage_date", "dims_key", *DIMENSIONS, *(name for name, _ in measures)]
    select = ", ".join([f"{q}tenant_id", f"{q}usage_date", "k.dims_key", dims])
    aggregates = ", ".join(expr for _, expr in measures)
    table = SpendDaily._meta.db_table
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) "
        f"SELECT {select}, {aggregates} "
        f"FROM {source} CROSS JOIN LATERAL (SELECT {_pg_key_sql(q)} AS dims_key) k "
        f"{f'WHERE {where} ' if where else ''}"
        f"GROUP BY {q}tenant_id, {q}usage_date, k.dims_key, {dims}"
    )
    if additive:
        updates = ", ".join(f"{name} = {table}.{name} + EXCLUDED.{name}" for name, _ in measures)
        sql += f" ON CONFLICT (tenant_id, usage_date, dims_key) DO UPDATE SET {updates}"
    return sql


def pg_returning_columns() -> str:
    """What a ledger INSERT ... RETURNING hands to `pg_rollup_insert_sql`."""
    return ", ".join(f'"{name}"' for name in ("tenant_id", *RAW_FIELDS))


def _pg_insert_select(raw: QuerySet[SpendEvent], *, additive: bool) -> None:
    """The raw rows of a filtered queryset into the rollup (its WHERE applied to the ledger table)."""
    query = raw.query
    compiler = query.get_compiler(using=raw.db)
    where, params = compiler.compile(query.where) if query.where else ("", [])
    table = SpendEvent._meta.db_table
    sql = pg_rollup_insert_sql(f'"{table}"', q=f'"{table}".', where=where, additive=additive)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


# --- checking -------------------------------------------------------------------------------------


def rollup_check(*, tenant_id: int) -> list[str]:
    """Differences between the rollup and the raw rows, cell by cell (empty when they agree)."""
    expected: dict[tuple[date, str], _Cell] = {}
    _accumulate(_rows(SpendEvent.objects.filter(tenant_id=tenant_id)), expected)
    problems: list[str] = []
    seen: set[tuple[date, str]] = set()
    for cell in SpendDaily.objects.filter(tenant_id=tenant_id).iterator(chunk_size=5000):
        key = (cell.usage_date, cell.dims_key)
        seen.add(key)
        want = expected.get(key)
        if want is None:
            problems.append(f"{cell.usage_date} {cell.dims_key}: in the rollup, not in the ledger")
            continue
        for name in MEASURES:
            wanted, stored = want.measures.get(name, 0), getattr(cell, name)
            if stored != wanted:
                problems.append(f"{cell.usage_date} {cell.dims_key} {name}: rollup {stored}, ledger {wanted}")
    for key in expected.keys() - seen:
        problems.append(f"{key[0]} {key[1]}: in the ledger, not in the rollup")
    from finops.ledger.coarse import coarse_check  # (it builds on this module)

    return problems + coarse_check(tenant_id=tenant_id)
