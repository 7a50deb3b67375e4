"""Reading a tenant export back into a new tenant: the ledger (every row as exported, then the rollup built
from it) and the budgets. The checksums are verified first; a folder that fails them is not read.

Connections, memberships, tokens and the audit log are not imported: they belong to the old installation
(an ExternalId is never reused; people are invited again)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from budgets.models import Budget
from connections.services import audit_log_record, tenant_get_or_create
from finops.ledger.models import SpendEvent
from finops.ledger.rollups import rollup_rebuild
from lifecycle.export import LEDGER_FILE, MANIFEST, ledger_fields, manifest_verify

BATCH = 5_000


class TenantImportError(ValueError):
    """An export folder that cannot be imported; the message says why."""


@dataclass(frozen=True)
class ImportResult:
    tenant_slug: str
    ledger_rows: int
    budgets: int


def tenant_import(
    *, directory: str | Path, slug: str, name: str = "", actor: AbstractBaseUser | None = None
) -> ImportResult:
    """Create tenant `slug` (it must be new or hold no ledger rows) from an export folder."""
    import pyarrow.parquet as pq

    directory = Path(directory)
    problems = manifest_verify(directory)
    if problems:
        raise TenantImportError("The export does not match its manifest: " + "; ".join(problems))
    manifest = json.loads((directory / MANIFEST).read_text())
    source = json.loads((directory / "tenant.json").read_text())
    tenant, _ = tenant_get_or_create(slug=slug, name=name or source.get("name", ""), actor=actor)
    if SpendEvent.objects.filter(tenant=tenant).exists():
        raise TenantImportError(f"Tenant {slug} already has ledger rows: import into a new tenant.")
    fields = {f.attname: f for f in ledger_fields()}
    json_columns = {column for column, f in fields.items() if f.get_internal_type() == "JSONField"}
    rows = 0
    with transaction.atomic():
        for batch in pq.ParquetFile(directory / LEDGER_FILE).iter_batches(batch_size=BATCH):
            events = []
            for record in batch.to_pylist():
                record.pop("connection_name", None)
                for column in json_columns:
                    record[column] = json.loads(record[column]) if record[column] is not None else {}
                events.append(SpendEvent(tenant=tenant, **{k: v for k, v in record.items() if k in fields}))
            SpendEvent.objects.bulk_create(events, batch_size=BATCH)
            rows += len(events)
        rollup_rebuild(tenant_id=tenant.pk)
        budgets = 0
        budget_file = directory / "budgets.jsonl"
        if budget_file.is_file():
            for line in budget_file.read_text(encoding="utf-8").splitlines():
                budget = json.loads(line)
                Budget.objects.create(
                    tenant=tenant,
                    name=budget["name"],
                    scope=budget["scope"],
                    basis=budget["basis"],
                    amount_usd=budget["amount_usd"],
                    period=budget["period"],
                    thresholds=budget["thresholds"],
                    emails=budget["emails"],
                    use_tenant_channels=budget["use_tenant_channels"],
                )
                budgets += 1
        audit_log_record(
            tenant=tenant,
            actor=actor,
            action="lifecycle.imported",
            target=slug,
            details={
                "from_tenant": manifest.get("tenant"),
                "exported_at": manifest.get("exported_at"),
                "ledger_rows": rows,
                "budgets": budgets,
            },
        )
    return ImportResult(tenant.slug, rows, budgets)
