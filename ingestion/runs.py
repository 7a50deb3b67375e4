"""The life of an import run: started, progress saved after every committed file or billing period,
finished (or stopped by an error) and audited; runs whose process died are found and marked
interrupted, with what they had loaded."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import DatabaseError, transaction
from django.utils import timezone

from connections.models import Tenant
from connections.services import audit_log_record
from ingestion.models import ImportRun
from ingestion.parsers.common import Rejected

logger = logging.getLogger(__name__)
MAX_SAMPLES = 200
T = TypeVar("T")


class StageClock:
    """Seconds spent per stage of an import (parse, normalise, load, reconcile), kept on the run so a
    slow import says where its time went."""

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()

    def timed(self, stage: str, items: Iterator[T]) -> Iterator[T]:
        """The items of `items`, with the time spent producing each one counted to `stage`."""
        while True:
            started = time.perf_counter()
            try:
                item = next(items)
            except StopIteration:
                self.seconds[stage] += time.perf_counter() - started
                return
            self.seconds[stage] += time.perf_counter() - started
            yield item

    def add(self, stage: str, started: float) -> None:
        """Count the time since `started` (a time.perf_counter() reading) to `stage`."""
        self.seconds[stage] += time.perf_counter() - started

    def as_dict(self) -> dict[str, float]:
        return {stage: round(seconds, 3) for stage, seconds in self.seconds.items()}


@dataclass
class Tally:
    read: int = 0
    loaded: int = 0
    rejected: int = 0
    replaced: int = 0
    unchanged: int = 0
    flagged: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    samples: list[Rejected] = field(default_factory=list)
    warnings: list[Rejected] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)

    def add_rejected(self, items: list[Rejected]) -> None:
        self.rejected += len(items)
        room = MAX_SAMPLES - len(self.samples)
        if room > 0:
            self.samples.extend(items[:room])

    def add_warnings(self, items: list[Rejected]) -> None:
        self.flagged += len(items)
        room = MAX_SAMPLES - len(self.warnings)
        if room > 0:
            self.warnings.extend(items[:room])

    def merged(self, other: Tally) -> Tally:
        """A new tally: this one plus `other` (this one unchanged)."""
        result = Tally(
            skipped=Counter(self.skipped),
            samples=list(self.samples),
            warnings=list(self.warnings),
            files=list(self.files),
        )
        for name in ("read", "loaded", "rejected", "replaced", "unchanged", "flagged"):
            setattr(result, name, getattr(self, name))
        result.merge(other)
        return result

    def merge(self, other: Tally) -> None:
        """Add a committed file's or billing period's counts."""
        self.read += other.read
        self.loaded += other.loaded
        self.rejected += other.rejected
        self.replaced += other.replaced
        self.unchanged += other.unchanged
        self.skipped.update(other.skipped)
        self.samples.extend(other.samples[: max(0, MAX_SAMPLES - len(self.samples))])
        self.flagged += other.flagged
        self.warnings.extend(other.warnings[: max(0, MAX_SAMPLES - len(self.warnings))])
        self.files.extend(other.files)


# --- the process running an import -----------------------------------------------------------------


def _process_start(pid: int) -> str:
    """When the process started (clock ticks since boot, from /proc), so a reused pid is not mistaken
    for the process that started the run. Blank where /proc is not available."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[19]


def process_token() -> str:
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_process_start(pid)}"


def process_alive(token: str) -> bool | None:
    """Whether the process named by a token still runs; None when it ran on another host."""
    host, _, rest = token.partition(":")
    pid_text, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    pid = int(pid_text)
    if start:
        return _process_start(pid) == start
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- start, progress, end ----------------------------------------------------------------------------


def run_start(tenant: Tenant, source: str, actor: AbstractBaseUser | None) -> ImportRun:
    import_runs_mark_interrupted()
    return ImportRun.objects.create(
        tenant=tenant,
        source=source,
        actor_label=actor.get_username() if actor else "system",
        process=process_token(),
        heartbeat_at=timezone.now(),
    )


def _counters(tally: Tally) -> dict[str, Any]:
    return {
        "rows_read": tally.read,
        "rows_loaded": tally.loaded,
        "rows_rejected": tally.rejected,
        "rows_replaced": tally.replaced,
        "rows_unchanged": tally.unchanged,
        "rows_flagged": tally.flagged,
        "rows_skipped": sum(tally.skipped.values()),
        "skipped_reasons": dict(tally.skipped),
        "rejected_samples": [r.as_dict() for r in tally.samples],
        "warnings": [r.as_dict() for r in tally.warnings],
        "files": tally.files,
    }


def run_progress(run: ImportRun, tally: Tally) -> None:
    """Save what is committed so far, so a run that dies says what it had loaded."""
    values = {**_counters(tally), "heartbeat_at": timezone.now(), "restatements": run.restatements}
    ImportRun.objects.filter(pk=run.pk, status=ImportRun.Status.RUNNING).update(**values)
    for name, value in values.items():
        setattr(run, name, value)


def _status(tally: Tally, fatal: str) -> str:
    failed_files = [f for f in tally.files if f.get("error")]
    parsed = tally.read - tally.rejected
    if fatal or (tally.files and len(failed_files) == len(tally.files)) or (tally.read and parsed == 0):
        return ImportRun.Status.FAILED
    if tally.rejected or failed_files:
        return ImportRun.Status.PARTIAL
    return ImportRun.Status.SUCCEEDED


def run_end(
    run: ImportRun,
    tally: Tally,
    started: float,
    actor: AbstractBaseUser | None,
    *,
    fatal: str = "",
    stopped_by: BaseException | None = None,
) -> ImportRun:
    """Record the outcome and audit it (`import.cur` / `import.invocation_logs`): every data pull is audited.

    `stopped_by`: the error that stopped the run half-way; the run is then *interrupted*, and
    what its committed files and periods loaded is kept and said."""
    for name, value in _counters(tally).items():
        setattr(run, name, value)
    failed_files = [f for f in tally.files if f.get("error")]
    if stopped_by is not None:
        run.status = ImportRun.Status.INTERRUPTED
        run.message = (
            f"Interrupted by an error ({type(stopped_by).__name__}: {stopped_by}) after loading "
            f"{tally.loaded:,} rows from {len(tally.files)} file(s). Run the same import again: rows already "
            "loaded are not loaded twice."
        )[:2000]
    else:
        run.status = _status(tally, fatal)
        run.message = (fatal or "; ".join(f["error"] for f in failed_files))[:2000]
    run.finished_at = timezone.now()
    run.heartbeat_at = run.finished_at
    run.duration_seconds = round(time.monotonic() - started, 3)
    run.save()
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
            "unchanged": run.rows_unchanged,
            "flagged": run.rows_flagged,
        },
    )
    return run


def run_end_after_error(
    run: ImportRun, tally: Tally, started: float, actor: AbstractBaseUser | None, error: BaseException
) -> None:
    """Best effort: the error may have left the database unusable (then the run is found later)."""
    try:
        run_end(run, tally, started, actor, stopped_by=error)
    except DatabaseError:
        logger.exception("could not record that import run %s was interrupted", run.pk)


# --- runs whose process died -----------------------------------------------------------------------


def _stale_after() -> timedelta:
    return timedelta(seconds=getattr(settings, "IMPORT_STALE_AFTER_SECONDS", 6 * 3600))


def import_runs_mark_interrupted(*, tenant: Tenant | None = None) -> list[ImportRun]:
    """Mark running imports whose process is gone as interrupted, and audit it.

    A run of this host is gone when its process no longer exists; a run of another host when it
    has saved no progress for IMPORT_STALE_AFTER_SECONDS (runs save progress after every file)."""
    runs = ImportRun.objects.filter(status=ImportRun.Status.RUNNING).select_related("tenant")
    if tenant is not None:
        runs = runs.filter(tenant=tenant)
    now = timezone.now()
    marked: list[ImportRun] = []
    for run in runs:
        alive = process_alive(run.process) if run.process else None
        last = run.heartbeat_at or run.started_at
        if alive is True or (alive is None and now - last < _stale_after()):
            continue
        loaded_files = [f["path"] for f in run.files if not f.get("error")]
        message = (
            f"Interrupted: the import process stopped (killed, crashed or restarted) without finishing; its "
            f"last progress was saved at {last:%Y-%m-%d %H:%M} UTC. What it loaded before that is kept: "
            f"{run.rows_loaded:,} rows from {len(loaded_files)} file(s). Run the same import again: rows "
            "already loaded are not loaded twice, and billing periods are replaced whole."
        )
        with transaction.atomic():
            changed = ImportRun.objects.filter(pk=run.pk, status=ImportRun.Status.RUNNING).update(
                status=ImportRun.Status.INTERRUPTED, message=message, finished_at=now
            )
            if not changed:
                continue
            audit_log_record(
                tenant=run.tenant,
                action="import.interrupted",
                target=f"import run {run.pk}",
                details={"source": run.source, "loaded": run.rows_loaded, "files": loaded_files[:50]},
            )
        run.status, run.message, run.finished_at = ImportRun.Status.INTERRUPTED, message, now
        marked.append(run)
    return marked
