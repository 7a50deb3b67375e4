"""A whole tenant written to a folder, so its data can leave the product intact: the ledger as Parquet (every
column, exact decimals), one FOCUS 1.2 file per billing period with billed data, and the tenant's records as
JSON lines, with manifest.json listing each file's rows, size and SHA-256.

Left out on purpose: the tenant's hash key, connections' ExternalIds (masked also inside the default role
name, which embeds it) and last validation output, API token
hashes, and webhook URLs (a Slack-compatible webhook URL is itself a secret: only its host is written)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth.models import AbstractBaseUser
from django.db import models
from django.utils import timezone

from budgets.models import Budget, BudgetAlert
from connections.models import AlertChannel, ApiToken, AuditLog, AwsConnection, MemberAccount, Membership, Tenant
from connections.services import audit_log_record
from finops.explorer.models import SavedView
from finops.exports import selectors as export_selectors
from finops.exports.services import export_filename, focus_export
from finops.ledger.models import SpendEvent
from ingestion.models import ImportRun, SyncRun, SyncState
from inventory.models import FoundationModel, InferenceProfile, LoggingConfiguration, ProvisionedThroughput
from recommendations.models import Recommendation

EXPORT_FORMAT = "finops-tenant-export"
EXPORT_VERSION = 1
MANIFEST = "manifest.json"
LEDGER_FILE = "ledger.parquet"
LEDGER_BATCH = 10_000
EXTERNAL_ID_MASK = "<ExternalId not exported>"
# Ids that mean nothing outside this database; the connection is written by name instead.
LEDGER_LEFT_OUT = frozenset({"id", "tenant", "connection", "import_run"})


class ExportError(ValueError):
    pass


@dataclass
class ExportResult:
    directory: Path
    files: list[dict[str, Any]] = field(default_factory=list)

    def rows(self, path: str) -> int:
        return next((f["rows"] for f in self.files if f["path"] == path), 0)


def plain(value: Any) -> Any:
    """A value as JSON holds it: decimals as exact strings, dates and times in ISO 8601."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def redact_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…(secret path not exported)" if parts.netloc else "(not exported)"


# --- the ledger as Parquet --------------------------------------------------------------------------------


def ledger_fields() -> list[models.Field]:
    return [f for f in SpendEvent._meta.concrete_fields if f.name not in LEDGER_LEFT_OUT]


def ledger_schema() -> Any:
    import pyarrow as pa

    columns = []
    for f in ledger_fields():
        kind = f.get_internal_type()
        if kind == "DecimalField":
            arrow = pa.decimal128(f.max_digits, f.decimal_places)
        elif kind == "DateTimeField":
            arrow = pa.timestamp("us", tz="UTC")
        elif kind == "DateField":
            arrow = pa.date32()
        elif kind in ("BigIntegerField", "IntegerField", "PositiveIntegerField"):
            arrow = pa.int64()
        elif kind == "BooleanField":
            arrow = pa.bool_()
        else:
            arrow = pa.string()  # text, and JSON written as JSON text
        columns.append(pa.field(f.attname, arrow, nullable=f.null or kind == "JSONField"))
    columns.append(pa.field("connection_name", pa.string(), nullable=True))
    return pa.schema(columns)


def _write_ledger(tenant: Tenant, path: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = ledger_schema()
    names = [f.attname for f in ledger_fields()]
    json_columns = {f.attname for f in ledger_fields() if f.get_internal_type() == "JSONField"}
    rows = 0
    values = SpendEvent.objects.filter(tenant=tenant).order_by("id").values_list(*names, "connection__name")
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        batch: list[tuple[Any, ...]] = []
        for row in values.iterator(chunk_size=LEDGER_BATCH):
            batch.append(row)
            if len(batch) >= LEDGER_BATCH:
                writer.write_table(_ledger_table(batch, names, json_columns, schema, pa))
                rows += len(batch)
                batch = []
        if batch or not rows:
            writer.write_table(_ledger_table(batch, names, json_columns, schema, pa))
            rows += len(batch)
    return rows


def _ledger_table(batch: list[tuple[Any, ...]], names: list[str], json_columns: set[str], schema: Any, pa: Any) -> Any:
    columns: dict[str, list[Any]] = {name: [] for name in [*names, "connection_name"]}
    keys = list(columns)
    for row in batch:
        for key, value in zip(keys, row, strict=True):
            columns[key].append(json.dumps(value, sort_keys=True) if key in json_columns else value)
    return pa.Table.from_pydict(columns, schema=schema)


# --- records as JSON lines --------------------------------------------------------------------------------


def _records(queryset: models.QuerySet, fields: Iterable[str]) -> Iterator[dict[str, Any]]:
    for row in queryset.values(*fields).iterator(chunk_size=2000):
        yield {key: plain(value) for key, value in row.items()}


def _budgets(tenant: Tenant) -> Iterator[dict[str, Any]]:
    alerts: dict[int, list[dict[str, Any]]] = {}
    alert_fields = ("budget_id", "period_start", "kind", "pct", "sent_at", "actual_usd", "forecast_usd", "message")
    for alert in _records(BudgetAlert.objects.filter(budget__tenant=tenant).order_by("id"), alert_fields):
        alerts.setdefault(alert.pop("budget_id"), []).append(alert)
    fields = ("id", "name", "scope", "basis", "amount_usd", "period", "thresholds", "emails", "webhooks",
              "use_tenant_channels", "created_at", "updated_at")  # fmt: skip
    for budget in _records(Budget.objects.filter(tenant=tenant).order_by("id"), fields):
        budget["webhooks"] = [redact_url(url) for url in budget["webhooks"] or []]
        budget["alerts"] = alerts.get(budget.pop("id"), [])
        yield budget


def _connections(tenant: Tenant) -> Iterator[dict[str, Any]]:
    members: dict[int, list[dict[str, Any]]] = {}
    member_fields = ("connection_id", "account_id", "name", "role_status", "last_checked_at")
    for member in _records(MemberAccount.objects.filter(connection__tenant=tenant).order_by("id"), member_fields):
        members.setdefault(member.pop("connection_id"), []).append(member)
    fields = ("id", "name", "account_id", "mode", "role_name", "role_path_prefix", "member_role_name", "regions",
              "cur_payer_account_id", "cur_bucket", "cur_prefix", "cur_export_name", "log_group_arn", "log_bucket",
              "log_prefix", "allowed_source_ips", "role_arn", "status", "last_validated_at", "created_at")  # fmt: skip
    external_ids = dict(AwsConnection.objects.filter(tenant=tenant).values_list("id", "external_id"))
    for connection in _records(AwsConnection.objects.filter(tenant=tenant).order_by("id"), fields):
        pk = connection.pop("id")
        # The default role name embeds the ExternalId: written with it masked, like the ExternalId itself.
        for key in ("role_name", "role_arn"):
            connection[key] = connection[key].replace(external_ids[pk], EXTERNAL_ID_MASK)
        connection["member_accounts"] = members.get(pk, [])
        yield connection


def _alert_channels(tenant: Tenant) -> Iterator[dict[str, Any]]:
    fields = ("kind", "target", "enabled", "created_at")
    for channel in _records(AlertChannel.objects.filter(tenant=tenant).order_by("id"), fields):
        if channel["kind"] == AlertChannel.Kind.WEBHOOK:
            channel["target"] = redact_url(channel["target"])
        yield channel


def _inventory(tenant: Tenant) -> Iterator[dict[str, Any]]:
    for model in (InferenceProfile, ProvisionedThroughput, FoundationModel, LoggingConfiguration):
        names = [f.attname for f in model._meta.concrete_fields if f.name not in ("id", "tenant", "connection")]
        for row in _records(model.objects.filter(tenant=tenant).order_by("id"), [*names, "connection__name"]):
            yield {"kind": model._meta.model_name, **row}


def _all_fields(model: type[models.Model], *left_out: str) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields if f.name not in ("tenant", *left_out)]


def record_files(tenant: Tenant) -> dict[str, Iterable[dict[str, Any]]]:
    """File name -> the rows written to it (JSON lines)."""
    t = {"tenant": tenant}
    return {
        "recommendations.jsonl": _records(
            Recommendation.objects.filter(**t).order_by("id"), _all_fields(Recommendation)
        ),
        "budgets.jsonl": _budgets(tenant),
        "connections.jsonl": _connections(tenant),
        "alert_channels.jsonl": _alert_channels(tenant),
        "memberships.jsonl": _records(
            Membership.objects.filter(**t).order_by("id"), ("user__username", "user__email", "role", "created_at")
        ),
        "api_tokens.jsonl": _records(
            ApiToken.objects.filter(**t).order_by("id"),
            ("name", "prefix", "user__username", "created_at", "last_used_at", "expires_at", "revoked_at"),
        ),
        "saved_views.jsonl": _records(
            SavedView.objects.filter(**t).order_by("id"), ("user__username", "name", "querystring", "created")
        ),
        "import_runs.jsonl": _records(ImportRun.objects.filter(**t).order_by("id"), _all_fields(ImportRun, "process")),
        "sync_runs.jsonl": _records(
            SyncRun.objects.filter(**t).order_by("id"),
            [*_all_fields(SyncRun, "connection", "process"), "connection__name"],
        ),
        "sync_states.jsonl": _records(
            SyncState.objects.filter(**t).order_by("id"), [*_all_fields(SyncState, "connection"), "connection__name"]
        ),
        "inventory.jsonl": _inventory(tenant),
        "audit_log.jsonl": _records(
            AuditLog.objects.filter(**t).order_by("created_at", "id"),
            ("created_at", "actor_label", "action", "target", "details"),
        ),
    }


# --- the folder -------------------------------------------------------------------------------------------


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _entry(directory: Path, relative: str, rows: int) -> dict[str, Any]:
    path = directory / relative
    return {"path": relative, "rows": rows, "bytes": path.stat().st_size, "sha256": file_digest(path)}


def tenant_export(
    *, tenant: Tenant, directory: str | Path, actor: AbstractBaseUser | None = None, via: str = "command"
) -> ExportResult:
    """Write everything the tenant owns into `directory` (created; it must be empty), then manifest.json."""
    directory = Path(directory)
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise ExportError(f"{directory} is not an empty folder: give a new or empty one.")
    (directory / "focus").mkdir(parents=True, exist_ok=True)
    result = ExportResult(directory)
    tenant_row = {"slug": tenant.slug, "name": tenant.name, "retention_months": tenant.retention_months,
                  "settings": tenant.settings, "created_at": plain(tenant.created_at)}  # fmt: skip
    (directory / "tenant.json").write_text(json.dumps(tenant_row, indent=2, sort_keys=True) + "\n")
    result.files.append(_entry(directory, "tenant.json", 1))
    result.files.append(_entry(directory, LEDGER_FILE, _write_ledger(tenant, directory / LEDGER_FILE)))
    for period in sorted(p.period for p in export_selectors.billed_periods(tenant=tenant)):
        relative = f"focus/{export_filename(tenant, period, 'parquet')}"
        focus = focus_export(tenant=tenant, period=period, fmt="parquet", output_path=directory / relative, via=via)
        result.files.append(_entry(directory, relative, focus.rows))
    for name, rows in record_files(tenant).items():
        count = 0
        with open(directory / name, "w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n")
                count += 1
        result.files.append(_entry(directory, name, count))
    manifest = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "tenant": tenant.slug,
        "exported_at": timezone.now().isoformat(),
        "files": result.files,
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    audit_log_record(
        tenant=tenant,
        actor=actor,
        action="lifecycle.exported",
        target=tenant.slug,
        details={"files": len(result.files), "rows": {f["path"]: f["rows"] for f in result.files}, "via": via},
    )
    return result


def manifest_verify(directory: str | Path) -> list[str]:
    """Problems with an export folder: files missing, or whose size or SHA-256 differ from the manifest."""
    directory = Path(directory)
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        return [f"{MANIFEST}: cannot be read ({exc})"]
    if manifest.get("format") != EXPORT_FORMAT:
        return [f"{MANIFEST}: not a tenant export (format {manifest.get('format')!r})"]
    problems = []
    for entry in manifest.get("files", []):
        path = directory / entry["path"]
        if not path.is_file():
            problems.append(f"{entry['path']}: missing")
        elif path.stat().st_size != entry["bytes"] or file_digest(path) != entry["sha256"]:
            problems.append(f"{entry['path']}: its checksum differs from the manifest")
    return problems
