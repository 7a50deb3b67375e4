"""The exports page, its downloads and the API endpoint: tenant-scoped (404 for outsiders), 400 for a bad
period or format, 404 for a period without billed data, and every download audited."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pyarrow.parquet as pq
import pytest
from django.test import Client
from django.urls import reverse

from connections.models import AuditLog, Tenant
from finops.exports.columns import COLUMNS
from tests.exports.conftest import JUNE, SEPTEMBER, ledger_billed

API = "/api/v1/exports/{slug}/focus"


def client_for(user) -> Client:  # noqa: ANN001
    client = Client()
    client.force_login(user)
    return client


def body(response) -> bytes:  # noqa: ANN001
    return b"".join(response.streaming_content)


def test_the_page_lists_the_periods_with_billed_data_and_their_downloads(billed_ledger: Tenant, viewer) -> None:  # noqa: ANN001
    response = client_for(viewer).get(reverse("exports", kwargs={"tenant_slug": "acme"}))
    assert response.status_code == 200
    html = response.content.decode()
    for label in ("2026-09", "2026-08", "2026-06"):
        assert f"?period={label}&amp;format=csv" in html
        assert f"?period={label}&amp;format=parquet" in html
    assert "FOCUS 1.2 (CSV)" in html and "FOCUS 1.2 (Parquet)" in html
    assert f"${ledger_billed(billed_ledger, SEPTEMBER):,.2f}" in html
    assert "<script>" not in html and "onclick" not in html


def test_the_page_says_so_when_there_is_no_billed_data(tenant: Tenant, viewer) -> None:  # noqa: ANN001
    response = client_for(viewer).get(reverse("exports", kwargs={"tenant_slug": "acme"}))
    assert response.status_code == 200
    assert "No billed data yet." in response.content.decode()


def test_the_nav_links_to_the_exports_page(tenant: Tenant, viewer) -> None:  # noqa: ANN001
    response = client_for(viewer).get(reverse("exports", kwargs={"tenant_slug": "acme"}))
    assert f'href="{reverse("exports", kwargs={"tenant_slug": "acme"})}"' in response.content.decode()


def test_it_rejects_other_tenants_page_and_downloads(billed_ledger: Tenant, outsider) -> None:  # noqa: ANN001
    client = client_for(outsider)
    assert client.get(reverse("exports", kwargs={"tenant_slug": "acme"})).status_code == 404
    url = reverse("exports-focus", kwargs={"tenant_slug": "acme"})
    assert client.get(url, {"period": "2026-06", "format": "csv"}).status_code == 404
    assert client.get(API.format(slug="acme"), {"period": "2026-06"}).status_code == 404
    assert not AuditLog.objects.filter(action="export.focus").exists()


def test_anonymous_users_are_sent_to_log_in(billed_ledger: Tenant) -> None:
    response = Client().get(reverse("exports-focus", kwargs={"tenant_slug": "acme"}), {"period": "2026-06"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert Client().get(API.format(slug="acme"), {"period": "2026-06"}).status_code == 401


def test_the_page_download_streams_the_csv_with_a_sensible_name(billed_ledger: Tenant, viewer) -> None:  # noqa: ANN001
    url = reverse("exports-focus", kwargs={"tenant_slug": "acme"})
    response = client_for(viewer).get(url, {"period": "2026-06", "format": "csv"})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="focus-1.2-acme-2026-06.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(body(response).decode())))
    assert list(rows[0]) == list(COLUMNS)
    assert sum((Decimal(r["BilledCost"]) for r in rows), Decimal(0)) == ledger_billed(billed_ledger, JUNE)
    entry = AuditLog.objects.get(action="export.focus")
    assert (entry.actor, entry.details["via"], entry.details["format"]) == (viewer, "page", "csv")


def test_the_api_returns_parquet(billed_ledger: Tenant, viewer) -> None:  # noqa: ANN001
    response = client_for(viewer).get(API.format(slug="acme"), {"period": "2026-09", "format": "parquet"})
    assert response.status_code == 200
    assert 'filename="focus-1.2-acme-2026-09.parquet"' in response["Content-Disposition"]
    table = pq.read_table(io.BytesIO(body(response)))
    assert sum(table.column("BilledCost").to_pylist(), Decimal(0)) == ledger_billed(billed_ledger, SEPTEMBER)
    assert AuditLog.objects.get(action="export.focus").details["via"] == "api"


@pytest.mark.parametrize(
    ("params", "status", "says"),
    [
        ({"period": "2026-6"}, 400, "not a billing period"),
        ({"period": "2026-13", "format": "csv"}, 400, "not a billing period"),
        ({"period": ""}, 400, "not a billing period"),
        ({"period": "2026-06", "format": "xlsx"}, 400, "Unknown format 'xlsx'"),
        ({"period": "2026-07"}, 404, "No billed (CUR) data for 2026-07"),
    ],
)
def test_bad_parameters_are_explained(billed_ledger: Tenant, viewer, params: dict, status: int, says: str) -> None:  # noqa: ANN001
    client = client_for(viewer)
    page = client.get(reverse("exports-focus", kwargs={"tenant_slug": "acme"}), params)
    assert (page.status_code, says in page.content.decode()) == (status, True)
    api = client.get(API.format(slug="acme"), params)
    assert api.status_code == status
    assert says in api.json()["detail"]
    assert not AuditLog.objects.filter(action="export.focus").exists()


def test_the_api_needs_the_period(billed_ledger: Tenant, viewer) -> None:  # noqa: ANN001
    assert client_for(viewer).get(API.format(slug="acme")).status_code == 400
