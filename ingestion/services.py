"""Import files into the ledger: find files, parse (pure), normalise (pure), load (bulk), record
an ImportRun and an audit entry. Safe to re-run: request rows are unique by request id, and a CUR
billing period re-delivered replaces that period's billed rows in one transaction (an identical
re-delivery changes nothing). A damaged file loads nothing; a bad row is rejected with its file,
line and reason while the rest of its file loads."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction

from connections.models import Tenant
from finops.ledger.catalog import Catalog
from finops.ledger.coarse import coarse_deferred
from finops.ledger.models import SpendEvent
from finops.ledger.rollups import rollup_rebuild
from finops.ledger.selectors import catalog_load
from finops.ledger.services import ledger_reconcile
from ingestion.loader import (
    Packed,
    delete_billed_period,
    insert_events,
    lock_billing_period,
    pack_events,
    period_billed_total,
    refresh_statistics,
)
from ingestion.models import ImportRun
from ingestion.normalize_cur import normalize_cur_row
from ingestion.normalize_logs import normalize_log_record
from ingestion.parsers.common import Batch, FileUnreadable, Rejected
from ingestion.parsers.cur import CurFile, discover_cur_files, file_billing_periods, iter_cur_file
from ingestion.parsers.invocation_logs import discover_log_files, iter_log_file
from ingestion.pipeline import forked, prefetched
from ingestion.runs import (
    StageClock,
    Tally,
    import_runs_mark_interrupted,
    run_end,
    run_end_after_error,
    run_progress,
    run_start,
)

__all__ = [
    "import_cur",
    "import_invocation_logs",
    "import_reconcile",
    "import_runs_mark_interrupted",
    "iter_rejected",
    "tenant_hash_key",
]

Progress = Callable[[str], None]


def tenant_hash_key(tenant: Tenant) -> bytes:
    """The tenant's key for prompt hashes (its own secret, peppered with the installation's)."""
    return f"{tenant.hash_secret}:{settings.FINOPS_HASH_PEPPER}".encode()


class _GroupFailed(Exception):
    def __init__(self, message: str, *, every_row_rejected: bool = False) -> None:
        super().__init__(message)
        self.every_row_rejected = every_row_rejected


def _normalise_batch(
    batch: Batch,
    normaliser: Callable[..., dict[str, Any]],
    catalog: Catalog,
    mapping: dict[str, list[str]],
    *,
    float_storage: bool,
) -> tuple[list[dict[str, Any]], list[Rejected], list[Rejected]]:
    """(ledger rows, rejected, loaded with a warning). Pure: runs in the prefetch thread."""
    rows: list[dict[str, Any]] = []
    rejected: list[Rejected] = []
    warnings: list[Rejected] = []
    for raw in batch.rows:
        file, line = raw.get("file", "?"), raw.get("line", 0)
        try:
            row = normaliser(raw, catalog=catalog, mapping=mapping, float_storage=float_storage)
        except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
            reason = str(exc) if isinstance(exc, ValueError) else f"cannot normalise: {exc!r}"
            rejected.append(Rejected(file, line, reason))
            continue
        if row.get("data_issue"):
            warnings.append(Rejected(file, line, row["data_issue"]))
        rows.append(row)
    return rows, rejected, warnings


def _beside_loading(path: Path, make: Callable[[], Iterator[Any]], *, clock: StageClock) -> Iterator[Any]:
    """The normalised batches of a file, made while the caller loads the ones before: in a forked child process
    for a file of FINOPS_IMPORT_FORK_MIN_BYTES or more (its parsing and normalising then run on another core,
    beside the loading, instead of taking turns with it for the interpreter lock), else in a thread."""
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    if size >= settings.FINOPS_IMPORT_FORK_MIN_BYTES:
        return forked(lambda: _without_raw_rows(make()), stage_seconds=clock.seconds)
    return prefetched(make())


def _packed(rows: list[dict[str, Any]], tenant_id: int, run_id: int | None) -> list[dict[str, Any]] | Packed:
    """On PostgreSQL, the batch's rows as COPY text, made here beside the loading (see `Packed`)."""
    if connection.vendor != "postgresql":
        return rows
    return pack_events(rows, tenant_id=tenant_id, import_run_id=run_id)


def _without_raw_rows(items: Iterator[Any]) -> Iterator[Any]:
    """The items with their batch's parsed rows left behind (the loader needs only the normalised ones)."""
    for item in items:
        item[0].rows = []
        yield item


# --- CUR ----------------------------------------------------------------------------------------


def _delivery_period(item: CurFile) -> date:
    """The billing period a file delivers: from its manifest or BILLING_PERIOD= path, else the one
    most of its rows name. Never from a single row's value."""
    if item.billing_period is not None:
        return item.billing_period
    periods = file_billing_periods(item.path)
    if not periods:
        raise FileUnreadable(f"{item.path}: no row names a billing period, so the file cannot replace one")
    ranked = periods.most_common(2)
    if len(ranked) == 2 and ranked[0][1] == ranked[1][1]:
        raise FileUnreadable(
            f"{item.path}: as many rows name billing period {ranked[0][0]:%Y-%m} as {ranked[1][0]:%Y-%m}; put the "
            "file under a BILLING_PERIOD=YYYY-MM folder (or import it through its manifest) so the period it "
            "replaces is known"
        )
    return ranked[0][0]


def _cur_groups(files: list[CurFile], tally: Tally, say: Progress) -> list[tuple[date, list[CurFile]]]:
    """One group per billing period, replaced together; a file whose period cannot be told is reported."""
    groups: dict[date, list[CurFile]] = {}
    for item in files:
        try:
            period = _delivery_period(item)
        except FileUnreadable as exc:
            say(f"    ERROR: {exc}")
            tally.files.append({"path": str(item.path), "billing_period": "?", "error": str(exc)})
            continue
        groups.setdefault(period, []).append(item)
    return sorted(groups.items())


NormalisedBatch = tuple[Batch, list[Rejected], list[dict[str, Any]] | Packed, list[Rejected], list[Rejected]]


def _cur_batches(item: CurFile, *, period: date, context: dict[str, Any]) -> Iterator[NormalisedBatch]:
    """(batch, rows outside the period, ledger rows, rejected, warnings) per batch. No database: this runs
    in the prefetch thread."""
    label = f"{period:%Y-%m}"
    clock: StageClock = context["clock"]
    for batch in clock.timed("parse", iter_cur_file(item.path, batch_size=context["batch_size"])):
        started = time.perf_counter()
        in_period: list[dict[str, Any]] = []
        outside: list[Rejected] = []
        for raw in batch.rows:
            if raw["billing_period"] == period:
                in_period.append(raw)
            else:
                outside.append(
                    Rejected(
                        raw["file"],
                        raw["line"],
                        f"the row is in billing period {raw['billing_period']:%Y-%m} but the file delivers "
                        f"{label}; a delivery replaces only its own period, so the row is not loaded",
                    )
                )
        batch.rows = in_period
        rows, bad, warnings = _normalise_batch(
            batch, normalize_cur_row, context["catalog"], context["mapping"], float_storage=context["float_storage"]
        )
        clock.add("normalise", started)
        yield batch, outside, _packed(rows, context["tenant_id"], context["run_id"]), bad, warnings


def _load_cur_file(
    item: CurFile,
    *,
    period: date,
    tally: Tally,
    context: dict[str, Any],
    say: Progress,
) -> None:
    clock: StageClock = context["clock"]
    batches = _beside_loading(
        item.path, lambda: _cur_batches(item, period=period, context=context), clock=context["clock"]
    )
    for batch, outside, rows, bad, warnings in batches:
        tally.read += batch.read
        tally.skipped.update(batch.skipped)
        tally.add_rejected(batch.rejected)
        tally.add_rejected(outside)
        tally.add_rejected(bad)
        tally.add_warnings(warnings)
        started = time.perf_counter()
        # The period's daily cells are rebuilt once before it commits (_import_cur): a CUR line is nearly a cell
        # of its own, and adding each batch to cells the next batches add to again cost more than the rows.
        loaded = insert_events(
            rows, tenant_id=context["tenant_id"], import_run_id=context["run_id"], claim=True, rollup=False
        )
        clock.add("load", started)
        tally.loaded += loaded.inserted
        tally.unchanged += loaded.unchanged
        if loaded.duplicates:
            tally.skipped["duplicate row"] += loaded.duplicates
        say(f"    {tally.read:,} rows read, {tally.loaded:,} loaded, {tally.unchanged:,} unchanged")


def import_cur(
    *,
    tenant: Tenant,
    paths: list[Path],
    actor: AbstractBaseUser | None = None,
    progress: Progress | None = None,
    batch_size: int = 5000,
) -> ImportRun:
    say = progress or (lambda _msg: None)
    started = time.monotonic()
    run = run_start(tenant, ImportRun.Source.CUR, actor)
    tally = Tally()
    try:
        return _import_cur(run, tally, started, tenant=tenant, paths=paths, actor=actor, say=say, batch_size=batch_size)
    except BaseException as exc:
        run_end_after_error(run, tally, started, actor, exc)
        raise


def _import_cur(
    run: ImportRun,
    tally: Tally,
    started: float,
    *,
    tenant: Tenant,
    paths: list[Path],
    actor: AbstractBaseUser | None,
    say: Progress,
    batch_size: int,
) -> ImportRun:
    try:
        files = discover_cur_files(paths)
    except (FileNotFoundError, FileUnreadable) as exc:
        return run_end(run, tally, started, actor, fatal=str(exc))
    if not files:
        return run_end(run, tally, started, actor, fatal="no CUR data files (.csv, .csv.gz, .parquet) found")
    context = {
        "catalog": catalog_load(),
        "mapping": tenant.tag_mapping,
        "tenant_id": tenant.pk,
        "run_id": run.pk,
        "batch_size": batch_size,
        "clock": StageClock(),
        "float_storage": connection.vendor == "sqlite",
    }
    total = len(files)
    number = 0
    periods: set[date] = set()
    restatements: list[dict[str, Any]] = []
    for period, group in _cur_groups(files, tally, say):
        label = f"{period:%Y-%m}"
        group_tally = Tally()
        try:
            # The coarse rollups are recomputed once for the period, before it commits (not per batch).
            with transaction.atomic(), coarse_deferred(tenant_id=tenant.pk, billing_period=period):
                lock_billing_period(tenant_id=tenant.pk, billing_period=period)
                before_usd = period_billed_total(tenant_id=tenant.pk, billing_period=period)
                for item in group:
                    number += 1
                    say(f"[{number}/{total}] {item.path} (billing period {label})")
                    info: dict[str, Any] = {"path": str(item.path), "billing_period": label}
                    group_tally.files.append(info)
                    file_tally = Tally()
                    try:
                        _load_cur_file(item, period=period, tally=file_tally, context=context, say=say)
                    except FileUnreadable as exc:
                        info["error"] = f"{exc} (billing period {label} not replaced; its earlier data is kept)"
                        raise _GroupFailed(
                            f"billing period {label} was not replaced because {exc}; its earlier data is kept"
                        ) from exc
                    info.update(read=file_tally.read, loaded=file_tally.loaded, rejected=file_tally.rejected)
                    group_tally.merge(file_tally)
                if group_tally.rejected and not group_tally.loaded and not group_tally.unchanged:
                    # Every row refused: a broken delivery, not a period that became empty.
                    raise _GroupFailed(
                        f"billing period {label} was not replaced because every one of its "
                        f"{group_tally.rejected:,} rows was rejected; its earlier data is kept",
                        every_row_rejected=True,
                    )
                # Rows of the period that this delivery no longer has (a restatement): gone.
                group_tally.replaced += delete_billed_period(
                    tenant_id=tenant.pk, billing_period=period, keep_import_run_id=run.pk, rebuild=False
                )
                if group_tally.loaded or group_tally.replaced:
                    # The rows went in without their daily cells: the period's bill-line cells, once.
                    rebuilt = time.perf_counter()
                    rollup_rebuild(
                        tenant_id=tenant.pk, billing_periods=[period], record_kind=SpendEvent.RecordKind.BILLED_LINE
                    )
                    context["clock"].add("rollup", rebuilt)
                if before_usd is not None and (group_tally.replaced or group_tally.loaded):
                    # A restatement: AWS changed a period it had delivered. Said on the run and, later, on a card.
                    restatements.append(
                        {
                            "billing_period": label,
                            "before_usd": str(before_usd),
                            "after_usd": str(period_billed_total(tenant_id=tenant.pk, billing_period=period)),
                            "rows_removed": group_tally.replaced,
                            "rows_added": group_tally.loaded,
                        }
                    )
                    run.restatements = restatements
                # In the same transaction as the rows, so a run killed at any moment says what it loaded.
                run_progress(run, tally.merged(group_tally))
        except _GroupFailed as exc:
            say(f"    ERROR: {exc}")
            for info in group_tally.files:
                info.setdefault("error", str(exc) if len(group_tally.files) == 1 else f"not loaded: {exc}")
            tally.files.extend(group_tally.files)
            if exc.every_row_rejected:
                # The rows were read and refused: say which and why, even though nothing was loaded.
                tally.read += group_tally.read
                tally.rejected += group_tally.rejected
                tally.skipped.update(group_tally.skipped)
                tally.samples.extend(group_tally.samples[: max(0, 200 - len(tally.samples))])
            run_progress(run, tally)
            continue
        if group_tally.unchanged and not group_tally.loaded and not group_tally.replaced:
            say(f"    billing period {label}: identical to the delivery already loaded; nothing changed")
        tally.merge(group_tally)
        periods.add(period)
    import_reconcile(tenant, periods, say, context["clock"], rows_loaded=tally.loaded)
    run.stage_seconds = context["clock"].as_dict()
    return run_end(run, tally, started, actor)


def import_reconcile(tenant: Tenant, periods: set[date], say: Progress, clock: StageClock, *, rows_loaded: int) -> None:
    """Allocate the periods' billed usage to their requests again (their bills or requests changed), and
    queue the recommenders and the budgets' evaluation for the tenant (the worker runs them; Q_CLUSTER["sync"]
    runs them here)."""
    started = time.perf_counter()
    if periods:
        refresh_statistics(rows_loaded=rows_loaded)
    for result in ledger_reconcile(tenant=tenant, periods=periods):
        coverage = f"{result.coverage}%" if result.coverage is not None else "no billed token usage"
        say(f"    reconciled {result.period:%Y-%m}: requests explain {coverage} of the billed token usage")
    clock.add("reconcile", started)
    if periods and getattr(settings, "RECOMMEND_AFTER_IMPORT", True):
        from django_q.tasks import async_task

        sync = bool(getattr(settings, "Q_CLUSTER", {}).get("sync", False))
        tenant_id = tenant.pk
        transaction.on_commit(
            lambda: async_task(
                "recommendations.tasks.recommend_tenant", tenant_id, task_name=f"recommend-{tenant_id}", sync=sync
            )
        )
    if periods and getattr(settings, "BUDGETS_AFTER_IMPORT", True):
        from django_q.tasks import async_task

        sync = bool(getattr(settings, "Q_CLUSTER", {}).get("sync", False))
        tenant_id = tenant.pk
        # New data moves actuals and forecasts: budgets alert now, not at tomorrow's daily run.
        transaction.on_commit(
            lambda: async_task("budgets.tasks.evaluate_tenant", tenant_id, task_name=f"budgets-{tenant_id}", sync=sync)
        )


# --- invocation logs --------------------------------------------------------------------------


def import_invocation_logs(
    *,
    tenant: Tenant,
    paths: list[Path],
    actor: AbstractBaseUser | None = None,
    progress: Progress | None = None,
    batch_size: int = 5000,
) -> ImportRun:
    say = progress or (lambda _msg: None)
    started = time.monotonic()
    run = run_start(tenant, ImportRun.Source.INVOCATION_LOGS, actor)
    tally = Tally()
    try:
        return _import_logs(
            run, tally, started, tenant=tenant, paths=paths, actor=actor, say=say, batch_size=batch_size
        )
    except BaseException as exc:
        run_end_after_error(run, tally, started, actor, exc)
        raise


def _import_logs(
    run: ImportRun,
    tally: Tally,
    started: float,
    *,
    tenant: Tenant,
    paths: list[Path],
    actor: AbstractBaseUser | None,
    say: Progress,
    batch_size: int,
) -> ImportRun:
    try:
        files, skipped_objects = discover_log_files(paths)
    except FileNotFoundError as exc:
        return run_end(run, tally, started, actor, fatal=str(exc))
    for reason, count in skipped_objects.items():
        tally.skipped[f"{reason} (file)"] += count
    if not files:
        return run_end(run, tally, started, actor, fatal="no invocation log files (.json, .jsonl, .json.gz) found")
    catalog = catalog_load()
    mapping = tenant.tag_mapping
    hash_key = tenant_hash_key(tenant)
    clock = StageClock()
    total = len(files)
    every = max(1, total // 50)
    periods: set[date] = set()
    for number, path in enumerate(files, start=1):
        info: dict[str, Any] = {"path": str(path)}
        file_tally = Tally(files=[info])
        file_periods: set[date] = set()
        try:
            # One file, one transaction: a file that turns out damaged half-way loads nothing.
            with transaction.atomic():
                batches = _beside_loading(
                    path,
                    partial(
                        _log_batches,
                        path,
                        hash_key=hash_key,
                        batch_size=batch_size,
                        catalog=catalog,
                        mapping=mapping,
                        clock=clock,
                        float_storage=connection.vendor == "sqlite",
                        load_into=(tenant.pk, run.pk),
                    ),
                    clock=clock,
                )
                for batch, rows, bad, warnings in batches:
                    file_tally.read += batch.read
                    file_tally.add_rejected(batch.rejected)
                    file_tally.add_rejected(bad)
                    file_tally.add_warnings(warnings)
                    started_at = time.perf_counter()
                    loaded = insert_events(rows, tenant_id=tenant.pk, import_run_id=run.pk)
                    clock.add("load", started_at)
                    file_periods.update(
                        rows.billing_periods if isinstance(rows, Packed) else (row["billing_period"] for row in rows)
                    )
                    file_tally.loaded += loaded.inserted
                    if loaded.duplicates:
                        file_tally.skipped["already loaded (same requestId)"] += loaded.duplicates
                    if batch.read >= batch_size:  # a long file: say how far it has got
                        say(f"    {path.name}: {file_tally.read:,} records read")
                info.update(read=file_tally.read, loaded=file_tally.loaded, rejected=file_tally.rejected)
                # In the same transaction as the rows, so a run killed at any moment says what it loaded.
                run_progress(run, tally.merged(file_tally))
        except FileUnreadable as exc:
            info.clear()
            info.update(path=str(path), error=str(exc))
            say(f"    ERROR: {exc}")
            tally.files.append(info)
            run_progress(run, tally)
        else:
            tally.merge(file_tally)
            periods.update(file_periods)
        if number % every == 0 or number == total:
            say(f"[{number}/{total}] files: {tally.read:,} records read, {tally.loaded:,} loaded")
    import_reconcile(tenant, periods, say, clock, rows_loaded=tally.loaded)
    run.stage_seconds = clock.as_dict()
    return run_end(run, tally, started, actor)


def _log_batches(
    path: Path,
    *,
    hash_key: bytes,
    batch_size: int,
    catalog: Catalog,
    mapping: dict[str, list[str]],
    clock: StageClock,
    float_storage: bool,
    load_into: tuple[int, int],
) -> Iterator[tuple[Batch, list[dict[str, Any]] | Packed, list[Rejected], list[Rejected]]]:
    """(batch, ledger rows, rejected, warnings) per batch of a log file, the rows packed for the tenant and run
    of `load_into` on PostgreSQL. No database: this runs in the prefetch thread or the forked child process."""
    for batch in clock.timed("parse", iter_log_file(path, hash_key=hash_key, batch_size=batch_size)):
        started = time.perf_counter()
        rows, bad, warnings = _normalise_batch(
            batch, normalize_log_record, catalog, mapping, float_storage=float_storage
        )
        clock.add("normalise", started)
        yield batch, _packed(rows, *load_into), bad, warnings


def iter_rejected(run: ImportRun) -> Iterator[str]:
    for sample in run.rejected_samples:
        yield f"{sample['file']}:{sample['line']}: {sample['reason']}"
