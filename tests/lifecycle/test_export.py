from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from budgets.models import Budget
from connections.models import AlertChannel, AuditLog, AwsConnection, Tenant
from connections.services import api_token_create
from finops.ledger.models import SpendEvent
from finops.ledger.rollups import rollup_check
from lifecycle.export import manifest_verify
from tests.lifecycle.conftest import MONTHS, Row

WEBHOOK = "https://hooks.example.com/services/T000/B000/very-secret-token"


def _spend_report(slug: str, group_by: str) -> list[dict]:
    out = StringIO()
    call_command("spend_report", "--tenant", slug, "--group-by", group_by, "--format", "json", stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def exported(tenant: Tenant, ledgers: dict, tenant_admin, tmp_path: Path) -> Path:  # noqa: ANN001
    AwsConnection.objects.create(tenant=tenant, name="prod", account_id="111122223333")
    Budget.objects.create(
        tenant=tenant, name="Search", amount_usd=Decimal("250.50"), scope=[], webhooks=[WEBHOOK], emails=["a@b.co"]
    )
    AlertChannel.objects.create(tenant=tenant, kind="webhook", target=WEBHOOK)
    api_token_create(user=tenant_admin, name="script", tenant=tenant)
    out = tmp_path / "export"
    call_command("export_tenant_data", "acme", "--output", str(out), stdout=StringIO())
    return out


def test_the_manifest_lists_every_file_with_rows_and_a_checksum_that_verifies(
    exported: Path, ledgers: dict[str, list[Row]]
) -> None:
    manifest = json.loads((exported / "manifest.json").read_text())
    files = {entry["path"]: entry for entry in manifest["files"]}
    on_disk = {str(p.relative_to(exported)) for p in exported.rglob("*") if p.is_file()} - {"manifest.json"}
    assert set(files) == on_disk
    for path, entry in files.items():
        assert hashlib.sha256((exported / path).read_bytes()).hexdigest() == entry["sha256"], path
    assert files["ledger.parquet"]["rows"] == len(ledgers["acme"])
    assert pq.read_metadata(exported / "ledger.parquet").num_rows == len(ledgers["acme"])
    # one FOCUS file per billing month with bill lines, as many rows as that month's bill lines
    focus = sorted(p for p in files if p.startswith("focus/"))
    assert len(focus) == len(MONTHS)
    june_2025 = next(p for p in focus if p.endswith("2025-06.parquet"))
    assert files[june_2025]["rows"] == 3  # two lines of the month and the late line billed in it
    assert files["budgets.jsonl"]["rows"] == 1 and files["connections.jsonl"]["rows"] == 1
    # every audit entry but the export's own, written once the files are
    assert files["audit_log.jsonl"]["rows"] == AuditLog.objects.filter(tenant__slug="acme").count() - 1
    assert manifest_verify(exported) == []


def test_a_changed_file_fails_the_manifest(exported: Path) -> None:
    with open(exported / "budgets.jsonl", "a") as handle:
        handle.write("{}\n")
    assert manifest_verify(exported) == ["budgets.jsonl: its checksum differs from the manifest"]
    with pytest.raises(CommandError, match="does not match its manifest"):
        call_command("import_tenant_data", str(exported), "--tenant", "acme-copy", stdout=StringIO())
    assert not Tenant.objects.filter(slug="acme-copy").exists()


def test_the_export_holds_no_secrets(exported: Path, tenant: Tenant) -> None:
    connection = AwsConnection.objects.get(tenant=tenant)
    text = b"".join(p.read_bytes() for p in exported.rglob("*") if p.is_file())
    token_hash = tenant.api_tokens.get().token_hash
    for secret in (connection.external_id, tenant.hash_secret, token_hash, WEBHOOK, "very-secret-token"):
        assert secret.encode() not in text, secret
    channel = json.loads((exported / "alert_channels.jsonl").read_text())
    assert channel["target"].startswith("https://hooks.example.com/")
    exported_connection = json.loads((exported / "connections.jsonl").read_text())
    assert exported_connection["role_name"] == "BedrockFinOps-BedrockReader-<ExternalId not exported>"
    assert exported_connection["account_id"] == "111122223333"


def test_an_export_reimported_into_a_fresh_tenant_gives_the_same_spend_report(exported: Path, tenant: Tenant) -> None:
    call_command("import_tenant_data", str(exported), "--tenant", "acme-copy", stdout=StringIO())
    copy = Tenant.objects.get(slug="acme-copy")
    assert SpendEvent.objects.filter(tenant=copy).count() == SpendEvent.objects.filter(tenant=tenant).count()
    assert rollup_check(tenant_id=copy.pk) == []
    for group_by in ("model_id", "team,billing_period", "record_kind,cost_basis,usage_date", "iam_principal"):
        original = _spend_report("acme", group_by)
        assert original, group_by
        assert _spend_report("acme-copy", group_by) == original, group_by
    fields = ["usage_start", "cost_usd", "allocated_cost_usd", "tags", "latency_ms", "dedupe_key", "request_id"]
    assert list(SpendEvent.objects.filter(tenant=copy).order_by("dedupe_key").values_list(*fields)) == list(
        SpendEvent.objects.filter(tenant=tenant).order_by("dedupe_key").values_list(*fields)
    )
    budget = Budget.objects.get(tenant=copy)
    assert (budget.name, budget.amount_usd, budget.webhooks) == ("Search", Decimal("250.50"), [])
    assert AuditLog.objects.filter(tenant=copy, action="lifecycle.imported").exists()


def test_it_refuses_a_folder_that_is_not_empty(tenant: Tenant, tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(CommandError, match="not an empty folder"):
        call_command("export_tenant_data", "acme", "--output", str(tmp_path), stdout=StringIO())


def test_the_export_is_audited(exported: Path) -> None:
    entry = AuditLog.objects.get(tenant__slug="acme", action="lifecycle.exported")
    assert entry.details["rows"]["ledger.parquet"] == SpendEvent.objects.filter(tenant__slug="acme").count()
