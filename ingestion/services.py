"""Import files into the ledger: find files, parse (pure), normalise (pure), load (bulk), record
an ImportRun and an audit entry. Safe to re-run: request rows are unique by request id, and a CUR
billing period re-delivered replaces that period's billed rows in one transaction."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from connections.models import Tenant
from connections.services import audit_log_record
from finops.ledger.catalog import Catalog
from finops.ledger.selectors import catalog_load
from ingestion.loader import delete_billed_period, insert_events
from ingestion.models import ImportRun
from ingestion.normalize import normalize_cur_row, normalize_log_record
from ingestion.parsers.common import Batch, FileUnreadable, Rejected
from ingestion.parsers.cur import CurFile, discover_cur_files, iter_cur_file
from ingestion.parsers.invocation_logs import discover_log_files, iter_log_file

Progress = Callable[[str], None]
MAX_REJECTED_SAMPLES = 200


def tenant_hash_key(tenant: Tenant) -> bytes:
    """The tenant's key for prompt hashes (its own secret, peppered with the installation's)."""
    return f"{tenant.hash_secret}:{settings.FINOPS_HASH_PEPPER}".encode()


@dataclass
class _Tally:
    read: int = 0
    loaded: int = 0
    rejected: int = 0
    replaced: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    samples: list[Rejected] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)

    def add_rejected(self, items: list[Rejected]) -> None:
        self.rejected += len(items)
        room = MAX_REJECTED_SAMPLES - len(self.samples)
        if room > 0:
            self.samples.extend(items[:room])


class _GroupFailed(Exception):
    pass


def _start_run(tenant: Tenant, source: str, actor: AbstractBaseUser | None) -> ImportRun:
    return ImportRun.objects.create(
        tenant=tenant, source=source, actor_label=actor.get_username() if actor else "system"
    )


def _finish_run(run: ImportRun, tally: _Tally, started: float, *, fatal: str = "") -> ImportRun:
    run.rows_read = tally.read
    run.rows_loaded = tally.loaded
    run.rows_rejected = tally.rejected
    run.rows_replaced = tally.replaced
    run.rows_skipped = sum(tally.skipped.values())
    run.skipped_reasons = dict(tally.skipped)
    run.rejected_samples = [r.as_dict() for r in tally.samples]
    run.files = tally.files
    failed_files = [f for f in tally.files if f.get("error")]
    parsed = tally.read - tally.rejected
    if fatal or (tally.files and len(failed_files) == len(tally.files)) or (tally.read and parsed == 0):
        run.status = ImportRun.Status.FAILED
    elif tally.rejected or failed_files:
        run.status = ImportRun.Status.PARTIAL
    else:
        run.status = ImportRun.Status.SUCCEEDED
    run.message = fatal or "; ".join(f["error"] for f in failed_files)[:2000]
    run.finished_at = timezone.now()
    run.duration_seconds = round(time.monotonic() - started, 3)
    run.save()
    return run


def _end_run(
    run: ImportRun, tally: _Tally, started: float, actor: AbstractBaseUser | None, *, fatal: str = ""
) -> ImportRun:
    """Record the outcome and audit it (`import.cur` / `import.invocation_logs`): every data pull is audited."""
    run = _finish_run(run, tally, started, fatal=fatal)
    audit_log_record(
        tenant=run.tenant,
        actor=actor,
        action=f"import.{run.source}",
        target=f"import run {run.pk}",
        details={
            "status": run.status,
            "files": len(run.files),
            "read": run.rows_read,
            "loaded": run.rows_loaded,
            "skipped": run.rows_skipped,
            "rejected": run.rows_rejected,
            "replaced": run.rows_replaced,
        },
    )
    return run


def _normalise_batch(
    batch: Batch, normaliser: Callable[..., dict[str, Any]], catalog: Catalog, mapping: dict[str, list[str]]
) -> tuple[list[dict[str, Any]], list[Rejected]]:
    rows: list[dict[str, Any]] = []
    rejected: list[Rejected] = []
    for raw in batch.rows:
        try:
            rows.append(normaliser(raw, catalog=catalog, mapping=mapping))
        except (ValueError, KeyError, TypeError) as exc:
            rejected.append(Rejected(raw.get("file", "?"), raw.get("line", 0), f"cannot normalise: {exc}"))
    return rows, rejected


# --- CUR ----------------------------------------------------------------------------------------


def _group_cur_files(files: list[CurFile]) -> list[tuple[date | None, list[CurFile]]]:
    """One group per billing period named in the path (replaced together); loose files alone."""
    groups: dict[Any, list[CurFile]] = {}
    for item in files:
        key = item.billing_period if item.billing_period is not None else ("file", str(item.path))
        groups.setdefault(key, []).append(item)
    return [(k if isinstance(k, date) else None, v) for k, v in groups.items()]


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
    run = _start_run(tenant, ImportRun.Source.CUR, actor)
    tally = _Tally()
    try:
        files = discover_cur_files(paths)
    except (FileNotFoundError, FileUnreadable) as exc:
        return _end_run(run, tally, started, actor, fatal=str(exc))
    if not files:
        return _end_run(run, tally, started, actor, fatal="no CUR data files (.csv, .csv.gz, .parquet) found")
    catalog = catalog_load()
    mapping = tenant.tag_mapping
    total = len(files)
    number = 0
    for period, group in _group_cur_files(files):
        label = period.strftime("%Y-%m") if period else "?"
        group_tally = _Tally()
        try:
            with transaction.atomic():
                replaced_periods: set[date] = set()
                for item in group:
                    number += 1
                    say(f"[{number}/{total}] {item.path} (billing period {label})")
                    file_info: dict[str, Any] = {"path": str(item.path), "billing_period": label}
                    group_tally.files.append(file_info)
                    before = (group_tally.read, group_tally.loaded, group_tally.rejected)
                    try:
                        for batch in iter_cur_file(item.path, batch_size=batch_size):
                            group_tally.read += batch.read
                            group_tally.skipped.update(batch.skipped)
                            group_tally.add_rejected(batch.rejected)
                            rows, bad = _normalise_batch(batch, normalize_cur_row, catalog, mapping)
                            group_tally.add_rejected(bad)
                            for row in rows:
                                if row["billing_period"] not in replaced_periods:
                                    replaced_periods.add(row["billing_period"])
                                    group_tally.replaced += delete_billed_period(
                                        tenant_id=tenant.pk,
                                        billing_period=row["billing_period"],
                                        keep_import_run_id=run.pk,
                                    )
                            inserted, duplicates = insert_events(rows, tenant_id=tenant.pk, import_run_id=run.pk)
                            group_tally.loaded += inserted
                            if duplicates:
                                group_tally.skipped["duplicate row"] += duplicates
                            say(f"    {group_tally.read:,} rows read, {group_tally.loaded:,} loaded")
                    except FileUnreadable as exc:
                        file_info["error"] = f"{exc} (billing period {label} not replaced; its earlier data is kept)"
                        raise _GroupFailed(
                            f"billing period {label} was not replaced because {exc}; its earlier data is kept"
                        ) from exc
                    file_info.update(
                        read=group_tally.read - before[0],
                        loaded=group_tally.loaded - before[1],
                        rejected=group_tally.rejected - before[2],
                    )
        except _GroupFailed as exc:
            say(f"    ERROR: {exc}")
            for info in group_tally.files:
                info.setdefault("error", "not loaded: another file of its billing period could not be read")
            tally.files.extend(group_tally.files)
            tally.read += group_tally.read
            continue
        tally.read += group_tally.read
        tally.loaded += group_tally.loaded
        tally.replaced += group_tally.replaced
        tally.rejected += group_tally.rejected
        tally.skipped.update(group_tally.skipped)
        tally.samples.extend(group_tally.samples[: max(0, MAX_REJECTED_SAMPLES - len(tally.samples))])
        tally.files.extend(group_tally.files)
    return _end_run(run, tally, started, actor)


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
    run = _start_run(tenant, ImportRun.Source.INVOCATION_LOGS, actor)
    tally = _Tally()
    try:
        files, skipped_objects = discover_log_files(paths)
    except FileNotFoundError as exc:
        return _end_run(run, tally, started, actor, fatal=str(exc))
    for reason, count in skipped_objects.items():
        tally.skipped[f"{reason} (file)"] += count
    if not files:
        return _end_run(run, tally, started, actor, fatal="no invocation log files (.json, .jsonl, .json.gz) found")
    catalog = catalog_load()
    mapping = tenant.tag_mapping
    hash_key = tenant_hash_key(tenant)
    total = len(files)
    every = max(1, total // 50)
    for number, path in enumerate(files, start=1):
        file_info: dict[str, Any] = {"path": str(path)}
        before = (tally.read, tally.loaded, tally.rejected)
        try:
            with transaction.atomic():
                for batch in iter_log_file(path, hash_key=hash_key, batch_size=batch_size):
                    tally.read += batch.read
                    tally.add_rejected(batch.rejected)
                    rows, bad = _normalise_batch(batch, normalize_log_record, catalog, mapping)
                    tally.add_rejected(bad)
                    inserted, duplicates = insert_events(rows, tenant_id=tenant.pk, import_run_id=run.pk)
                    tally.loaded += inserted
                    if duplicates:
                        tally.skipped["already loaded (same requestId)"] += duplicates
                    if batch.read >= batch_size:  # a long file: say how far it has got
                        say(f"    {path.name}: {tally.read - before[0]:,} records read")
        except FileUnreadable as exc:
            file_info["error"] = str(exc)
            say(f"    ERROR: {exc}")
        file_info.update(
            read=tally.read - before[0], loaded=tally.loaded - before[1], rejected=tally.rejected - before[2]
        )
        tally.files.append(file_info)
        if number % every == 0 or number == total:
            say(f"[{number}/{total}] files: {tally.read:,} records read, {tally.loaded:,} loaded")
    return _end_run(run, tally, started, actor)


def iter_rejected(run: ImportRun) -> Iterator[str]:
    for sample in run.rejected_samples:
        yield f"{sample['file']}:{sample['line']}: {sample['reason']}"
