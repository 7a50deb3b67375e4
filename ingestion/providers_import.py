"""Import the other platforms' billing files into the ledger: Azure OpenAI cost exports and Vertex AI
billing exports. Find files, parse (pure), normalise (pure), load through the ledger loader, record an
ImportRun and an audit entry.

Safe to re-run: every bill line has a stable dedupe key (all its delivered values and what they became), so
importing the same files again changes nothing. A billing period delivered again replaces that period's
rows *of this source* in one transaction, like a CUR restatement: lines it no longer has are removed, lines
it still has are kept as they were. A file that cannot be read (wrong schema, a missing column, a row in a
foreign currency without the USD column) loads nothing, and the periods it had started to deliver are not
replaced; a bad row is rejected with file, line and reason while the rest of its file loads."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction

from connections.models import Tenant
from finops.ledger.models import SpendEvent
from finops.ledger.rollups import rollup_rebuild
from finops.ledger.selectors import catalog_load
from ingestion.loader import insert_events, lock_billing_period
from ingestion.models import ImportRun
from ingestion.parsers.azure_costs import AzureFile
from ingestion.parsers.common import FileUnreadable, Rejected
from ingestion.parsers.gcp_billing import GcpFile
from ingestion.parsers.provider_files import discover_files
from ingestion.provider_normalize import normalize_provider_row
from ingestion.runs import StageClock, Tally, run_end, run_end_after_error, run_progress, run_start
from ingestion.services import import_reconcile

Progress = Callable[[str], None]
BATCH = 5000


class ProviderFile(Protocol):
    read: int
    skipped: Counter[str]
    rejected: list[Rejected]

    def rows(self) -> Iterator[dict[str, Any]]: ...


@dataclass
class _Parsed:
    """What the files of one import delivered, per billing period, before anything is loaded."""

    rows: dict[date, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    blocked: dict[date, str] = field(default_factory=dict)  # period -> why it is not replaced


def import_azure_costs(
    *, tenant: Tenant, paths: list[Path], actor: AbstractBaseUser | None = None, progress: Progress | None = None
) -> ImportRun:
    """Azure Cost Management exports (actual cost or FOCUS; CSV, gzip CSV or Parquet): Azure OpenAI lines."""
    return _import(
        tenant=tenant,
        paths=paths,
        actor=actor,
        progress=progress,
        source=ImportRun.Source.AZURE_OPENAI,
        ledger_source="azure_openai",
        opener=AzureFile,
        formats=("csv", "parquet"),
        nothing="no Azure cost export files (.csv, .csv.gz, .parquet) found",
    )


def import_gcp_billing(
    *, tenant: Tenant, paths: list[Path], actor: AbstractBaseUser | None = None, progress: Progress | None = None
) -> ImportRun:
    """Cloud Billing exports (standard usage cost; CSV, JSON lines or Parquet): Vertex AI lines and credits."""
    return _import(
        tenant=tenant,
        paths=paths,
        actor=actor,
        progress=progress,
        source=ImportRun.Source.VERTEX,
        ledger_source="vertex",
        opener=GcpFile,
        formats=("csv", "json", "parquet"),
        nothing="no Cloud Billing export files (.csv, .csv.gz, .json, .jsonl, .json.gz, .parquet) found",
    )


def _import(
    *,
    tenant: Tenant,
    paths: list[Path],
    actor: AbstractBaseUser | None,
    progress: Progress | None,
    source: str,
    ledger_source: str,
    opener: Callable[[Path], ProviderFile],
    formats: tuple[str, ...],
    nothing: str,
) -> ImportRun:
    say = progress or (lambda _msg: None)
    started = time.monotonic()
    run = run_start(tenant, source, actor)
    tally = Tally()
    try:
        try:
            files = discover_files(paths, formats=formats)
        except (FileNotFoundError, FileUnreadable) as exc:
            return run_end(run, tally, started, actor, fatal=str(exc))
        if not files:
            return run_end(run, tally, started, actor, fatal=nothing)
        clock = StageClock()
        parsed = _parse_files(files, opener, tenant=tenant, tally=tally, clock=clock, say=say)
        periods = _load_periods(parsed, run, tally, tenant=tenant, ledger_source=ledger_source, clock=clock, say=say)
        import_reconcile(tenant, periods, say, clock, rows_loaded=tally.loaded)
        run.stage_seconds = clock.as_dict()
        return run_end(run, tally, started, actor)
    except BaseException as exc:
        run_end_after_error(run, tally, started, actor, exc)
        raise


def _parse_files(
    files: list[Path],
    opener: Callable[[Path], ProviderFile],
    *,
    tenant: Tenant,
    tally: Tally,
    clock: StageClock,
    say: Progress,
) -> _Parsed:
    catalog = catalog_load()
    mapping = tenant.tag_mapping
    float_storage = connection.vendor == "sqlite"
    parsed = _Parsed()
    for number, path in enumerate(files, start=1):
        say(f"[{number}/{len(files)}] {path}")
        info: dict[str, Any] = {"path": str(path)}
        tally.files.append(info)
        rows: dict[date, list[dict[str, Any]]] = defaultdict(list)
        rejected: list[Rejected] = []
        warnings: list[Rejected] = []
        reader: ProviderFile | None = None
        started = time.perf_counter()
        try:
            reader = opener(path)
            for raw in reader.rows():
                try:
                    row = normalize_provider_row(raw, catalog=catalog, mapping=mapping, float_storage=float_storage)
                except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
                    reason = str(exc) if isinstance(exc, ValueError) else f"cannot normalise: {exc!r}"
                    rejected.append(Rejected(raw["file"], raw["line"], reason))
                    continue
                if row.get("data_issue"):
                    warnings.append(Rejected(raw["file"], raw["line"], row["data_issue"]))
                rows[row["billing_period"]].append(row)
        except FileUnreadable as exc:
            message = str(exc) if str(exc).startswith(str(path)) else f"{path}: {exc}"
            for period in rows:
                parsed.blocked.setdefault(period, f"{path} could not be read")
            info["error"] = message + (
                f" (billing period(s) {', '.join(f'{p:%Y-%m}' for p in sorted(rows))} not replaced; their earlier "
                "data is kept)"
                if rows
                else ""
            )
            say(f"    ERROR: {info['error']}")
            continue
        finally:
            clock.add("parse", started)
        assert reader is not None
        tally.read += reader.read
        tally.skipped.update(reader.skipped)
        tally.add_rejected(reader.rejected + rejected)
        tally.add_warnings(warnings)
        kept = sum(len(r) for r in rows.values())
        info.update(read=reader.read, kept=kept, rejected=len(reader.rejected) + len(rejected))
        for period, period_rows in rows.items():
            parsed.rows[period].extend(period_rows)
        say(f"    {reader.read:,} rows read, {kept:,} to load, {sum(reader.skipped.values()):,} skipped")
    return parsed


def _source_billed(tenant_id: int, source: str, period: date) -> Any:
    return SpendEvent.objects.filter(
        tenant_id=tenant_id, source=source, record_kind=SpendEvent.RecordKind.BILLED_LINE, billing_period=period
    )


def _total(tenant_id: int, source: str, period: date) -> Decimal | None:
    costs = list(_source_billed(tenant_id, source, period).values_list("cost_usd", flat=True))
    return sum((c or Decimal(0) for c in costs), Decimal(0)) if costs else None


def _load_periods(
    parsed: _Parsed,
    run: ImportRun,
    tally: Tally,
    *,
    tenant: Tenant,
    ledger_source: str,
    clock: StageClock,
    say: Progress,
) -> set[date]:
    """Each delivered period in its own transaction: lines loaded (or kept, when identical), then the lines
    of this source the delivery no longer has removed."""
    loaded_periods: set[date] = set()
    restatements: list[dict[str, Any]] = []
    for period in sorted(parsed.rows):
        rows = parsed.rows[period]
        label = f"{period:%Y-%m}"
        if period in parsed.blocked:
            tally.skipped[f"billing period {label} not replaced: {parsed.blocked[period]}"] += len(rows)
            say(f"    billing period {label}: not replaced ({parsed.blocked[period]}); earlier data kept")
            continue
        started = time.perf_counter()
        with transaction.atomic():
            lock_billing_period(tenant_id=tenant.pk, billing_period=period)
            before = _total(tenant.pk, ledger_source, period)
            inserted = unchanged = 0
            for offset in range(0, len(rows), BATCH):
                result = insert_events(
                    rows[offset : offset + BATCH], tenant_id=tenant.pk, import_run_id=run.pk, claim=True
                )
                inserted += result.inserted
                unchanged += result.unchanged
                if result.duplicates:
                    tally.skipped["duplicate row"] += result.duplicates
            gone, _ = _source_billed(tenant.pk, ledger_source, period).exclude(import_run_id=run.pk).delete()
            if gone:
                rollup_rebuild(
                    tenant_id=tenant.pk, billing_periods=[period], record_kind=SpendEvent.RecordKind.BILLED_LINE
                )
            tally.loaded += inserted
            tally.unchanged += unchanged
            tally.replaced += gone
            if before is not None and (gone or inserted):
                restatements.append(
                    {
                        "billing_period": label,
                        "before_usd": str(before),
                        "after_usd": str(_total(tenant.pk, ledger_source, period)),
                        "rows_removed": gone,
                        "rows_added": inserted,
                    }
                )
                run.restatements = restatements
            run_progress(run, tally)
        clock.add("load", started)
        loaded_periods.add(period)
        if unchanged and not inserted and not gone:
            say(f"    billing period {label}: identical to the delivery already loaded; nothing changed")
        else:
            say(f"    billing period {label}: {inserted:,} loaded, {unchanged:,} unchanged, {gone:,} replaced")
    return loaded_periods
