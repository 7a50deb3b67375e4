"""Sync one provider connection into the ledger: per endpoint, read [start, end) day by day from where the
last sync stopped (less an overlap, so late data is picked up), replace the rows of the re-read days that
changed and insert the new ones (dedupe keys: identical rows are never loaded twice), move the watermark,
then reconcile the touched billing periods so billed dollars are allocated to the usage rows."""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import requests
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from connections.services import audit_log_record
from finops.ledger.models import SpendEvent
from finops.ledger.rollups import rollup_rebuild
from finops.ledger.selectors import catalog_load
from finops.ledger.services import ledger_reconcile
from ingestion.loader import insert_events
from providers.adapters import ADAPTERS, Adapter
from providers.client import ProviderError
from providers.crypto import SecretUnreadable
from providers.labels import names_store, provider_relabel, scopes_seen_record, sync_context, with_names
from providers.models import ProviderConnection, ProviderSyncRun, ProviderSyncState
from providers.names import Names, fetch_names
from providers.rows import RowError, SyncContext

logger = logging.getLogger(__name__)
Progress = Callable[[str], None]

FIRST_SYNC_DAYS = 30  # a new connection starts this many days back
OVERLAP_DAYS = 3  # re-read so late usage and restated costs are picked up
LEASE = timedelta(minutes=30)
FATAL = {"bad_key", "no_admin_scope"}  # no point asking the other endpoints
NAMES = "names"  # the run that lists project/workspace and API key names


class SyncBusy(Exception):
    pass


@dataclass
class EndpointResult:
    endpoint: str
    status: str
    fetched: int = 0
    loaded: int = 0
    skipped: int = 0
    replaced: int = 0
    errors: int = 0
    error: str = ""
    remedy: str = ""
    since: str = ""
    until: str = ""
    fatal: bool = False  # the key itself was refused: the other endpoints are not asked

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class SyncResult:
    connection_id: int
    sync_id: str
    status: str = "succeeded"
    endpoints: list[EndpointResult] = field(default_factory=list)
    reconciled: list[dict[str, str]] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)  # e.g. names that could not be listed
    relabelled: int = 0  # loaded rows whose names changed

    def as_dict(self) -> dict[str, Any]:
        return {
            "connection": self.connection_id,
            "sync_id": self.sync_id,
            "status": self.status,
            "messages": self.messages,
            "relabelled": self.relabelled,
            "endpoints": [e.as_dict() for e in self.endpoints],
            "reconciled": self.reconciled,
            "totals": {
                name: sum(getattr(e, name) for e in self.endpoints)
                for name in ("fetched", "loaded", "skipped", "replaced", "errors")
            },
        }


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _lease_take(connection: ProviderConnection, owner: str) -> bool:
    now = timezone.now()
    free = Q(sync_owner="") | Q(sync_owner=owner) | Q(sync_locked_until__lt=now) | Q(sync_locked_until__isnull=True)
    taken = ProviderConnection.objects.filter(pk=connection.pk).filter(free)
    return taken.update(sync_owner=owner, sync_locked_until=now + LEASE) == 1


def _lease_release(connection: ProviderConnection, owner: str) -> None:
    ProviderConnection.objects.filter(pk=connection.pk, sync_owner=owner).update(sync_owner="", sync_locked_until=None)


def _window(state: ProviderSyncState, since: date | None, until: date | None, today: date) -> tuple[date, date]:
    """[first day, day after the last) to read."""
    end = (until + timedelta(days=1)) if until else today + timedelta(days=1)
    if since is not None:
        start = since
    elif state.watermark.get("next_day"):
        start = date.fromisoformat(state.watermark["next_day"]) - timedelta(days=OVERLAP_DAYS)
    else:
        start = today - timedelta(days=FIRST_SYNC_DAYS)
    return min(start, end - timedelta(days=1)), end


def provider_sync(
    *,
    connection: ProviderConnection,
    since: date | None = None,
    until: date | None = None,
    actor: AbstractBaseUser | None = None,
    trigger: str = "manual",
    progress: Progress | None = None,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] | None = None,
    today: date | None = None,
) -> SyncResult:
    say = progress or (lambda _msg: None)
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    if not _lease_take(connection, owner):
        raise SyncBusy(f"connection {connection.name!r} is already being synced ({connection.sync_owner}); try later")
    result = SyncResult(connection_id=connection.pk, sync_id=uuid.uuid4().hex)
    try:
        _sync(connection, result, since=since, until=until, actor=actor, trigger=trigger, say=say,
              session=session, sleep=sleep, today=today or timezone.now().date())  # fmt: skip
    finally:
        _lease_release(connection, owner)
    return result


def _sync(
    connection: ProviderConnection,
    result: SyncResult,
    *,
    since: date | None,
    until: date | None,
    actor: AbstractBaseUser | None,
    trigger: str,
    say: Progress,
    session: requests.Session | None,
    sleep: Callable[[float], None] | None,
    today: date,
) -> None:
    adapter = ADAPTERS[connection.kind]
    try:
        client = adapter.make_client(connection.api_key, session=session, sleep=sleep)
    except SecretUnreadable as exc:
        result.status = "failed"
        result.endpoints.append(EndpointResult("all", "failed", error=str(exc), remedy="Enter the Admin key again."))
        _finish(connection, result, actor, trigger)
        return
    names = _sync_names(connection, client, result, trigger, say)
    if names is None:  # the key itself was refused
        result.status = "failed"
        _finish(connection, result, actor, trigger)
        return
    ctx = with_names(sync_context(connection), connection, names)
    catalog = catalog_load()
    periods: set[date] = set()
    seen: set[str] = set()
    for endpoint in adapter.endpoints:
        outcome = _sync_endpoint(
            connection, adapter, client, ctx, catalog, endpoint, result.sync_id, trigger,
            since=since, until=until, today=today, say=say, periods=periods, seen=seen,
        )  # fmt: skip
        result.endpoints.append(outcome)
        if outcome.fatal:
            break
    scopes_seen_record(connection=connection, scope_ids=seen)
    if names.renamed:
        result.relabelled = provider_relabel(connection=connection, ctx=ctx).rows
        if result.relabelled:
            say(f"names changed: {result.relabelled:,} loaded rows relabelled")
    failed = [e for e in result.endpoints if e.status == "failed"]
    if failed:
        result.status = "failed" if len(failed) == len(result.endpoints) else "partial"
    elif any(e.errors for e in result.endpoints):
        result.status = "partial"
    if periods:
        for rec in ledger_reconcile(tenant=connection.tenant, periods=periods):
            result.reconciled.append(
                {
                    "period": f"{rec.period:%Y-%m}",
                    "billed_usage_usd": str(rec.billed_usage_usd),
                    "allocated_usd": str(rec.allocated_usd),
                    "unattributed_usd": str(rec.unattributed_usd),
                }
            )
            say(f"reconciled {rec.period:%Y-%m}: {rec.allocated_usd} of {rec.billed_usage_usd} USD allocated to usage")
    _finish(connection, result, actor, trigger)


def _sync_names(
    connection: ProviderConnection, client: Any, result: SyncResult, trigger: str, say: Progress
) -> Names | None:
    """List project/workspace and API key names (best effort, recorded as the run `names`). None when the
    key itself was refused (the sync stops there, as it would on the first usage endpoint)."""
    started = time.monotonic()
    run = ProviderSyncRun.objects.create(
        tenant=connection.tenant, connection=connection, sync_id=result.sync_id, trigger=trigger, endpoint=NAMES
    )
    names = fetch_names(connection.kind, client)
    outcome = EndpointResult(NAMES, "succeeded", fetched=len(names.scopes) + len(names.keys))
    if names.error is not None and names.error.kind == "bad_key":
        outcome.status, outcome.fatal = "failed", True
        outcome.error, outcome.remedy = names.error.message, names.error.remedy
        result.endpoints.append(outcome)
        _end_run(run, outcome, {}, started)
        say(f"  ERROR: {outcome.error}\n  remedy: {outcome.remedy}")
        return None
    names.renamed = names_store(connection=connection, names=names)
    if names.problems:
        scope = ADAPTERS[connection.kind].scope_kind
        fallback = (
            f"{scope.title()}s and API keys whose names are not known are labelled with their ids "
            "(names listed by an earlier sync are kept)."
        )
        outcome.errors = len(names.problems)
        outcome.error = " ".join([*names.problems, fallback])
        outcome.remedy = names.remedy
        result.messages.extend([*names.problems, fallback])
        say(f"  names: {outcome.error}")
    else:
        say(f"names: {len(names.scopes):,} {ADAPTERS[connection.kind].scope_kind}s, {len(names.keys):,} API keys")
    _end_run(run, outcome, {}, started)
    return names


def _finish(connection: ProviderConnection, result: SyncResult, actor: AbstractBaseUser | None, trigger: str) -> None:
    fields = ["last_synced_at"]
    connection.last_synced_at = timezone.now()
    fatal = next((e for e in result.endpoints if e.fatal), None)
    if fatal is not None:
        connection.last_error, connection.last_remedy = fatal.error, fatal.remedy
        fields += ["last_error", "last_remedy"]
    if fatal is not None:
        connection.status = ProviderConnection.Status.INVALID
        fields.append("status")
    elif result.status != "failed" and connection.status != ProviderConnection.Status.VALID:
        # The key read usage and costs: it works (an empty organization stays "valid, no usage" until data).
        loaded = any(e.loaded or e.skipped for e in result.endpoints)
        connection.status = ProviderConnection.Status.VALID if loaded else ProviderConnection.Status.EMPTY
        connection.last_error = connection.last_remedy = ""
        fields += ["status", "last_error", "last_remedy"]
    connection.save(update_fields=fields)
    totals = result.as_dict()["totals"]
    audit_log_record(
        tenant=connection.tenant,
        actor=actor,
        action="provider.synced",
        target=f"{connection.get_kind_display()} connection {connection.name}",
        details={"connection": connection.pk, "sync_id": result.sync_id, "trigger": trigger,
                 "status": result.status, **totals},
    )  # fmt: skip


def _sync_endpoint(
    connection: ProviderConnection,
    adapter: Adapter,
    client: Any,
    ctx: SyncContext,
    catalog: Any,
    endpoint: str,
    sync_id: str,
    trigger: str,
    *,
    since: date | None,
    until: date | None,
    today: date,
    say: Progress,
    periods: set[date],
    seen: set[str],
) -> EndpointResult:
    state, _ = ProviderSyncState.objects.get_or_create(connection=connection, endpoint=endpoint)
    first, end = _window(state, since, until, today)
    started = time.monotonic()
    run = ProviderSyncRun.objects.create(
        tenant=connection.tenant, connection=connection, sync_id=sync_id, trigger=trigger, endpoint=endpoint,
        since=_midnight(first), until=_midnight(end), watermark_before=state.watermark,
    )  # fmt: skip
    outcome = EndpointResult(endpoint, "running", since=first.isoformat(), until=end.isoformat())
    say(f"{adapter.source} {endpoint}: {first} to {end - timedelta(days=1)}")
    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    try:
        for page in adapter.fetch_pages(client, endpoint, _midnight(first), _midnight(end)):
            page_rows, page_errors = adapter.parse(page, endpoint, ctx, catalog)
            outcome.fetched += len(page_rows) + len(page_errors)
            rows.extend(page_rows)
            errors.extend(page_errors)
            say(f"  {outcome.fetched:,} results read")
    except (ProviderError, RowError) as exc:
        outcome.status = "failed"
        outcome.error = getattr(exc, "message", str(exc))
        outcome.remedy = getattr(exc, "remedy", "Report this to support with the endpoint name.")
        _end_run(run, outcome, state.watermark, started)
        say(f"  ERROR: {outcome.error}\n  remedy: {outcome.remedy}")
        outcome.fatal = getattr(exc, "kind", "") in FATAL
        return outcome
    outcome.errors = len(errors)
    seen.update(str(r["tags"].get(f"{adapter.scope_kind}_id") or "") for r in rows)
    days = [first + timedelta(days=n) for n in range((end - first).days)]
    watermark = {"next_day": max(date.fromisoformat(state.watermark.get("next_day", "1970-01-01")),
                                 min(end, today)).isoformat()}  # fmt: skip
    with transaction.atomic():
        outcome.replaced = _replace_days(connection, ctx.key_prefix(endpoint), days, {r["dedupe_key"] for r in rows})
        loaded = insert_events(rows, tenant_id=connection.tenant_id, import_run_id=None)
        outcome.loaded = loaded.inserted
        outcome.skipped = loaded.unchanged + loaded.duplicates
        state.watermark = watermark
        state.save(update_fields=["watermark", "updated_at"])
        outcome.status = "succeeded"
        if errors:
            outcome.error = f"{len(errors)} result(s) not loaded; first: {errors[0]}"
            outcome.remedy = "Report this to support: the provider sent a value this version cannot read."
        _end_run(run, outcome, watermark, started)
    if outcome.loaded or outcome.replaced:
        periods.update(date(d.year, d.month, 1) for d in days)
    say(f"  {outcome.loaded:,} loaded, {outcome.skipped:,} unchanged, {outcome.replaced:,} replaced")
    return outcome


def _replace_days(connection: ProviderConnection, prefix: str, days: list[date], keep: set[str]) -> int:
    """Remove this endpoint's rows of the re-read days that the provider no longer reports as they were."""
    if not days:
        return 0
    stale = SpendEvent.objects.filter(
        tenant_id=connection.tenant_id, usage_date__gte=days[0], usage_date__lte=days[-1], dedupe_key__startswith=prefix
    ).values_list("id", "dedupe_key")
    ids = [row_id for row_id, key in stale if key not in keep]
    if not ids:
        return 0
    for offset in range(0, len(ids), 500):
        SpendEvent.objects.filter(id__in=ids[offset : offset + 500]).delete()
    rollup_rebuild(tenant_id=connection.tenant_id, start=days[0], end=days[-1])
    return len(ids)


def _end_run(run: ProviderSyncRun, outcome: EndpointResult, watermark: dict[str, Any], started: float) -> None:
    run.status = outcome.status
    run.items_fetched = outcome.fetched
    run.rows_loaded = outcome.loaded
    run.rows_skipped = outcome.skipped
    run.rows_replaced = outcome.replaced
    run.errors = outcome.errors + (1 if outcome.status == "failed" else 0)
    run.error = outcome.error
    run.remedy = outcome.remedy
    run.watermark_after = watermark
    run.finished_at = timezone.now()
    run.duration_seconds = round(time.monotonic() - started, 3)
    run.save()
