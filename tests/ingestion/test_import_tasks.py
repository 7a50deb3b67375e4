"""The import_files task (what a worker runs for queued files) takes every file source, the other platforms'
billing exports included."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connections.models import Tenant
from finops.ledger.models import SpendEvent
from ingestion.models import ImportRun
from ingestion.tasks import import_files
from tests.ingestion.provider_support import AZURE, GCP, add_platform_prices


@pytest.fixture(autouse=True)
def _prices(db) -> None:  # noqa: ANN001
    add_platform_prices()


def test_it_imports_an_azure_cost_export(tenant: Tenant) -> None:
    summary = import_files(tenant.pk, "azure_openai", [str(AZURE / "actual_cost_mca.csv")])

    run = ImportRun.objects.get(pk=summary["import_run"])
    assert (run.source, run.tenant_id, summary["status"]) == ("azure_openai", tenant.pk, "succeeded")
    # actual_cost_mca.csv: three Azure OpenAI lines, costInUsd 6.6 + 2.2 + 0.0825.
    assert summary["loaded"] == 3
    costs = SpendEvent.objects.filter(tenant=tenant, source="azure_openai").values_list("cost_usd", flat=True)
    assert sum(costs, Decimal(0)) == Decimal("8.8825")


def test_it_imports_a_vertex_billing_export(tenant: Tenant) -> None:
    summary = import_files(tenant.pk, "vertex", [str(GCP / "billing_export.jsonl")])

    run = ImportRun.objects.get(pk=summary["import_run"])
    assert run.source == "vertex" and summary["loaded"] == run.rows_loaded > 0
    assert summary["rejected"] == 1  # the fixture's line 8 has the 31st of June
    assert SpendEvent.objects.filter(tenant=tenant, source="vertex", import_run=run).count() == run.rows_loaded


def test_an_unknown_source_is_refused_naming_the_sources(tenant: Tenant) -> None:
    with pytest.raises(ValueError, match="source='openai' is not a file source; use one of cur, invocation_logs"):
        import_files(tenant.pk, "openai", ["/nowhere"])
    assert not ImportRun.objects.exists()
