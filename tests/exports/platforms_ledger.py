"""A June 2026 ledger holding bill lines of all five platforms, each loaded the way production loads it: Bedrock
from the CUR fixture (import_cur), Azure OpenAI from the EA actual-cost export (import_azure_costs), Vertex AI
from the Cloud Billing JSON-lines export (import_gcp_billing), OpenAI and Anthropic from their Usage and Cost
Admin API fixtures through the providers' own page parsers and the ledger loader (as providers.sync does),
with the API buckets moved from November to June so that all five share one billing period."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import transaction

from connections.models import Tenant
from finops.ledger.models import SpendEvent
from finops.ledger.rollups import rollup_rebuild
from finops.ledger.selectors import catalog_load
from finops.ledger.services import ledger_reconcile
from ingestion.loader import insert_events
from ingestion.providers_import import import_azure_costs, import_gcp_billing
from ingestion.services import import_cur
from providers import anthropic_api, openai_api
from providers.rows import SyncContext
from tests.exports.conftest import JUNE, JUNE_CSV

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
AZURE_EA = FIXTURES / "azure" / "actual_cost_ea.csv"
GCP_JSONL = FIXTURES / "gcp" / "billing_export.jsonl"
PROVIDERS = FIXTURES / "providers"
SOURCES = ("bedrock", "openai", "anthropic", "azure_openai", "vertex")
OPENAI_ORG = "org-acme"
ANTHROPIC_ORG = "anthropic-org-acme"


def _page(path: Path, *, moved_days: int) -> dict[str, Any]:
    """A fixture page with every bucket moved back by whole days (Unix seconds or RFC 3339, as delivered)."""
    page = copy.deepcopy(json.loads(path.read_text(encoding="utf-8")))
    shift = moved_days * 86400
    for bucket in page["data"]:
        for key in ("start_time", "end_time"):
            if key in bucket:
                bucket[key] -= shift
        for key in ("starting_at", "ending_at"):
            if key in bucket:
                moment = datetime.fromisoformat(bucket[key].replace("Z", "+00:00")).timestamp() - shift
                bucket[key] = datetime.fromtimestamp(moment, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return page


def _to_june(path: Path) -> dict[str, Any]:
    first = json.loads(path.read_text(encoding="utf-8"))["data"][0]
    if "start_time" in first:
        start = datetime.fromtimestamp(first["start_time"], tz=UTC)
    else:
        start = datetime.fromisoformat(first["starting_at"].replace("Z", "+00:00"))
    # the same day of the month, in June 2026
    return _page(path, moved_days=(start.date() - start.date().replace(month=6)).days)


def _api_rows(tenant: Tenant) -> list[dict[str, Any]]:
    catalog = catalog_load()
    rows: list[dict[str, Any]] = []
    openai = SyncContext(
        connection_id=901, source="openai", principal_prefix=f"openai:{OPENAI_ORG}", organization_id=OPENAI_ORG
    )
    for name in ("usage_completions_page1.json", "usage_completions_page2.json"):
        parsed, errors = openai_api.parse_usage_page(
            _to_june(PROVIDERS / "openai" / name), endpoint="usage.completions", ctx=openai, catalog=catalog
        )
        assert not errors, errors
        rows += parsed
    parsed, errors = openai_api.parse_costs_page(
        _to_june(PROVIDERS / "openai" / "costs.json"), ctx=openai, catalog=catalog
    )
    assert not errors, errors
    rows += parsed
    anthropic = SyncContext(
        connection_id=902,
        source="anthropic",
        principal_prefix=f"anthropic:{ANTHROPIC_ORG}",
        organization_id=ANTHROPIC_ORG,
    )
    for name, endpoint in (("usage_messages.json", "usage.messages"), ("cost_report.json", "costs")):
        parsed, errors = anthropic_api.parse_page(
            _to_june(PROVIDERS / "anthropic" / name), endpoint=endpoint, ctx=anthropic, catalog=catalog
        )
        assert not errors, errors
        rows += parsed
    return rows


def load_five_platforms(tenant: Tenant) -> Tenant:
    """June 2026 with bill lines of every platform (the CUR first: a CUR delivery replaces its month's billed rows)."""
    run = import_cur(tenant=tenant, paths=[JUNE_CSV])
    assert run.rows_loaded and not run.rows_rejected, run.status
    assert import_azure_costs(tenant=tenant, paths=[AZURE_EA]).rows_loaded
    assert import_gcp_billing(tenant=tenant, paths=[GCP_JSONL]).rows_loaded
    rows = _api_rows(tenant)
    with transaction.atomic():
        loaded = insert_events(rows, tenant_id=tenant.pk, import_run_id=None)
    assert loaded.inserted == len(rows)
    rollup_rebuild(tenant_id=tenant.pk, billing_periods=[JUNE])
    ledger_reconcile(tenant=tenant, periods=[JUNE])
    return tenant


def billed_by_source(tenant: Tenant) -> dict[str, Decimal]:
    """June's billed dollars per source, summed here from the ledger's rows."""
    totals: dict[str, Decimal] = {}
    for event in SpendEvent.objects.filter(tenant=tenant, billing_period=JUNE, cost_basis="billed"):
        totals[event.source] = totals.get(event.source, Decimal(0)) + (event.cost_usd or Decimal(0))
    return totals
