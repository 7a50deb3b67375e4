"""Run a sync of one connection: every configured source, for every account (the connection's, and each
member's in Organization mode) and region, each recorded as a SyncRun and degrading on its own. One sync per
connection at a time (lock.py); watermarks saved as batches commit (SyncState), so a killed sync resumes."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import boto3
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.utils import timezone
from django.utils.module_loading import import_string

from connections import aws
from connections.diagnostics import remedy_for
from connections.models import AwsConnection, MemberAccount
from connections.services import audit_log_record
from ingestion.models import SyncRun, SyncSource, SyncState
from ingestion.runs import process_alive, process_token
from ingestion.sync.base import BACKFILL_DAYS, Progress, SourceResult, Target
from ingestion.sync.lock import sync_lock_acquire, sync_lock_holder, sync_lock_release, sync_lock_renew

SOURCES: dict[str, str] = {
    SyncSource.CUR: "ingestion.sync.cur.sync_cur",
    SyncSource.LOGS: "ingestion.sync.logs.sync_logs",
    SyncSource.METRICS: "ingestion.sync.metrics.sync_metrics",
    SyncSource.INVENTORY: "ingestion.sync.inventory.sync_inventory",
}
ORDER = [SyncSource.INVENTORY, SyncSource.CUR, SyncSource.LOGS, SyncSource.METRICS]
# CUR lives in one bucket of the connection's (payer) account; the others are read per account and region.
REGIONAL = {SyncSource.LOGS, SyncSource.METRICS, SyncSource.INVENTORY}


class SyncBusy(Exception):
    """Another sync of this connection is running."""


@dataclass
class SyncReport:
    sync_id: str
    connection: AwsConnection
    runs: list[SyncRun] = field(default_factory=list)

    @property
    def attempted(self) -> list[SyncRun]:
        return [r for r in self.runs if r.status != SyncRun.Status.SKIPPED]

    @property
    def all_failed(self) -> bool:
        """Every source that was tried failed (nothing configured is not a failure)."""
        tried = self.attempted
        return bool(tried) and all(r.status == SyncRun.Status.FAILED for r in tried)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sync_id": self.sync_id,
            "connection": self.connection.name,
            "connection_id": self.connection.pk,
            "runs": [sync_run_dict(r) for r in self.runs],
            "all_failed": self.all_failed,
        }


def sync_run_dict(run: SyncRun) -> dict[str, Any]:
    return {
        "id": run.pk,
        "source": run.source,
        "account_id": run.account_id,
        "region": run.region,
        "status": run.status,
        "items_fetched": run.items_fetched,
        "rows_loaded": run.rows_loaded,
        "rows_rejected": run.rows_rejected,
        "watermark_before": run.watermark_before,
        "watermark_after": run.watermark_after,
        "error": run.error,
        "remedy": run.remedy,
        "duration_seconds": run.duration_seconds,
    }


def _noop(_: str) -> None:
    return None


def connection_regions(connection: AwsConnection) -> list[str]:
    return list(connection.regions or []) or [settings.FINOPS_AWS_REGION]


def sync_runs_mark_interrupted(*, connection: AwsConnection | None = None) -> int:
    """Runs left 'running' by a process that is gone (same host) are interrupted: their watermark is where
    the next sync resumes."""
    stale = SyncRun.objects.filter(status=SyncRun.Status.RUNNING)
    if connection is not None:
        stale = stale.filter(connection=connection)
    marked = 0
    for run in stale:
        alive = process_alive(run.process)
        if alive is False or (alive is None and not sync_lock_holder(run.connection)):
            run.status = SyncRun.Status.INTERRUPTED
            run.error = run.error or "The process running this sync stopped; the next sync resumes from its watermark."
            run.finished_at = timezone.now()
            run.save(update_fields=["status", "error", "finished_at"])
            marked += 1
    return marked


def _assume(connection: AwsConnection, account_id: str, root: boto3.session.Session) -> boto3.session.Session:
    if account_id == connection.account_id:
        return root
    return aws.assume_member_role(connection, account_id, session=root)


def _root_failure(connection: AwsConnection, exc: aws.AwsError) -> tuple[str, str]:
    if not connection.role_arn:
        return "The connection has no role ARN yet.", remedy_for("role_arn_missing", connection)
    code = "external_id_mismatch" if exc.access_denied else "assume_role_failed"
    return exc.summary(), remedy_for(code, connection)


def _member_remedy(connection: AwsConnection, account_id: str, exc: aws.AwsError) -> str:
    role = aws.member_role_arn(connection, account_id)
    return f"Account {account_id}: cannot assume {role} ({exc.code}). " + remedy_for(
        "member_role_missing", connection, member_account_ids=[account_id]
    )


def _targets(connection: AwsConnection, source: str) -> list[tuple[str, str]]:
    if source not in REGIONAL:
        return [(connection.cur_payer_account_id or connection.account_id, "")]
    accounts = [connection.account_id]
    if connection.is_organization:
        accounts += list(MemberAccount.objects.filter(connection=connection).values_list("account_id", flat=True))
    return [(account, region) for account in accounts for region in connection_regions(connection)]


def sync_connection(
    connection: AwsConnection,
    *,
    sources: Iterable[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    trigger: str = "manual",
    actor: AbstractBaseUser | None = None,
    say: Progress = _noop,
    session_factory: Callable[[AwsConnection], boto3.session.Session] | None = None,
) -> SyncReport:
    """Sync the connection's sources (default: all four). Raises SyncBusy when another sync of it runs and
    ValueError for an unknown source or a paused connection; AWS problems become failed SyncRuns."""
    wanted = list(sources) if sources else list(ORDER)
    unknown = [s for s in wanted if s not in SOURCES]
    if unknown:
        raise ValueError(f"Unknown source(s) {', '.join(unknown)}: use {', '.join(ORDER)}.")
    if connection.status == AwsConnection.Status.PAUSED:
        raise ValueError(f"Connection {connection.name!r} is paused: resume it to sync.")
    owner = process_token() + ":" + uuid.uuid4().hex[:8]
    sync_runs_mark_interrupted(connection=connection)
    if not sync_lock_acquire(connection, owner):
        raise SyncBusy(f"A sync of {connection.name!r} is already running ({sync_lock_holder(connection)}).")
    report = SyncReport(sync_id=uuid.uuid4().hex, connection=connection)
    try:
        _sync(connection, report, [s for s in ORDER if s in wanted], since, until, trigger, owner, say,
              session_factory)  # fmt: skip
    finally:
        sync_lock_release(connection, owner)
    audit_log_record(
        tenant=connection.tenant,
        actor=actor,
        action="connection.synced",
        target=connection.name,
        details={
            "connection_id": connection.pk,
            "sync_id": report.sync_id,
            "trigger": trigger,
            "runs": {f"{r.source}:{r.account_id}:{r.region or '-'}": r.status for r in report.runs},
            "rows_loaded": sum(r.rows_loaded for r in report.runs),
        },
    )
    return report


def _sync(
    connection: AwsConnection,
    report: SyncReport,
    sources: list[str],
    since: datetime | None,
    until: datetime | None,
    trigger: str,
    owner: str,
    say: Progress,
    session_factory: Callable[[AwsConnection], boto3.session.Session] | None,
) -> None:
    until = until or timezone.now()
    try:
        root = (session_factory or aws.assume_connection_role)(connection)
        root_error: tuple[str, str] | None = None
    except aws.AwsError as exc:
        root, root_error = None, _root_failure(connection, exc)
    members: dict[str, boto3.session.Session | aws.AwsError] = {}
    for source in sources:
        for account_id, region in _targets(connection, source):
            run = SyncRun.objects.create(
                tenant=connection.tenant, connection=connection, sync_id=report.sync_id, trigger=trigger,
                source=source, account_id=account_id, region=region, process=owner,
            )  # fmt: skip
            report.runs.append(run)
            label = f"{source} {account_id}{' ' + region if region else ''}"
            state, _ = SyncState.objects.get_or_create(
                tenant=connection.tenant, connection=connection, source=source, account_id=account_id, region=region
            )
            run.watermark_before = dict(state.watermark)
            if root is None:
                assert root_error is not None
                _finish(run, SourceResult.failed(root_error[0], root_error[1], state.watermark), say, label)
                continue
            if account_id not in members:
                try:
                    members[account_id] = _assume(connection, account_id, root)
                except aws.AwsError as exc:
                    members[account_id] = exc
            session = members[account_id]
            if isinstance(session, aws.AwsError):
                result = SourceResult.failed(
                    f"Cannot read account {account_id}: {session.summary()}",
                    _member_remedy(connection, account_id, session),
                    state.watermark,
                )
                _finish(run, result, say, label)
                continue
            target = Target(connection=connection, account_id=account_id, region=region, session=session)
            start = since or _default_since(state.watermark, until)

            def checkpoint(watermark: dict[str, Any], _state: SyncState = state, _run: SyncRun = run) -> None:
                _state.watermark = dict(watermark)
                _state.save(update_fields=["watermark", "updated_at"])
                _run.watermark_after = dict(watermark)
                _run.save(update_fields=["watermark_after"])
                sync_lock_renew(connection, owner)

            say(f"{label}: reading from {start:%Y-%m-%d %H:%M} ...")
            try:
                result = import_string(SOURCES[source])(
                    target, watermark=dict(state.watermark), since=start, until=until, checkpoint=checkpoint, say=say
                )
            except aws.AwsError as exc:  # a source should catch its own; this is the safety net
                result = SourceResult.failed(exc.summary(), "", state.watermark)
            except Exception as exc:  # noqa: BLE001 - one source's bug must not stop the others
                error = f"{type(exc).__name__}: {exc}"
                result = SourceResult.failed(error, "This is a bug in the sync: report it.", state.watermark)
            if result.status != "failed" and result.watermark:
                checkpoint(result.watermark)
            _finish(run, result, say, label)
    _check_silent_logs(connection, report, until)


def _default_since(watermark: dict[str, Any], until: datetime) -> datetime:
    """Where a source starts without --since: its own watermark decides (it passes `since` on as the floor);
    a first sync backfills BACKFILL_DAYS."""
    return until - timedelta(days=BACKFILL_DAYS)


def _finish(run: SyncRun, result: SourceResult, say: Progress, label: str) -> None:
    run.status = result.status
    run.items_fetched = result.items_fetched
    run.rows_loaded = result.rows_loaded
    run.rows_rejected = result.rows_rejected
    run.watermark_after = dict(result.watermark or run.watermark_after or run.watermark_before)
    run.error = result.error[:5000]
    run.remedy = result.remedy[:5000]
    run.details = result.details
    run.import_runs = result.import_runs
    run.finished_at = timezone.now()
    run.duration_seconds = (run.finished_at - run.started_at).total_seconds()
    run.save()
    line = f"{label}: {run.get_status_display()}, {run.items_fetched:,} fetched, {run.rows_loaded:,} rows loaded"
    if run.rows_rejected:
        line += f", {run.rows_rejected:,} rejected"
    say(line)
    if run.error and run.status != SyncRun.Status.SUCCEEDED:
        say(f"  {run.error}")
    if run.remedy:
        say("  Remedy: " + run.remedy.replace("\n", "\n    "))


SILENT_DAYS = 2


def _check_silent_logs(connection: AwsConnection, report: SyncReport, until: datetime) -> None:
    """'Succeeded with 0 events for N days while metrics show invocations' is red: logging stopped, or the
    log source points at the wrong place."""
    from finops.ledger.models import SpendEvent

    logs = [r for r in report.runs if r.source == SyncSource.LOGS and r.status == SyncRun.Status.SUCCEEDED]
    if not logs:
        return
    start = until - timedelta(days=SILENT_DAYS)
    for run in logs:
        scope = SpendEvent.objects.filter(tenant=connection.tenant, account_id=run.account_id,
                                          usage_start__gte=start, usage_start__lt=until)  # fmt: skip
        if run.region:
            scope = scope.filter(region=run.region)
        requests = scope.filter(record_kind=SpendEvent.RecordKind.REQUEST).exists()
        invocations = sum(scope.filter(record_kind=SpendEvent.RecordKind.METRIC).values_list("requests", flat=True), 0)
        if not requests and invocations > 0:
            run.status = SyncRun.Status.FAILED
            run.error = (
                f"The sync succeeded but found no invocation log events in {run.region or 'any region'} for "
                f"{SILENT_DAYS} days, while CloudWatch counted {invocations:,} invocations there."
            )
            run.remedy = remedy_for("no_events_in_lookback", connection, region=run.region)
            run.save(update_fields=["status", "error", "remedy"])
