"""Azure OpenAI and Vertex AI import runs wherever import runs are listed: the API's sync status and run
history, the admin's list and page, and the rejected rows (file, line, reason) as a CSV download, which every
source has (CUR's included), scoped to the run's tenant."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.test import Client

from connections.models import Tenant
from ingestion.models import ImportRun
from ingestion.providers_import import import_azure_costs, import_gcp_billing
from ingestion.services import import_cur
from tests.api.conftest import bearer, token_for
from tests.ingestion import malformed as bad
from tests.ingestion.provider_support import AZURE, GCP, add_platform_prices, read_csv, write_csv

JSONL = GCP / "billing_export.jsonl"
# billing_export.jsonl's line 8 says the 31st of June (see test_gcp_billing); nothing else in it is refused.
VERTEX_REJECTED = ["8", "usage_start_time: '2026-06-31 00:00:00+00:00' is not an ISO-8601 time"]


@pytest.fixture
def runs(tenant: Tenant, tmp_path: Path) -> dict[str, ImportRun]:
    add_platform_prices()
    columns, rows = read_csv(AZURE / "actual_cost_mca.csv")
    rows[0]["quantity"] = "=1+2"  # line 2: not a number (and a formula, should a spreadsheet open the CSV)
    azure_file = write_csv(tmp_path / "mca.csv", columns, rows)
    return {
        "azure_openai": import_azure_costs(tenant=tenant, paths=[azure_file]),
        "vertex": import_gcp_billing(tenant=tenant, paths=[JSONL]),
    }


def test_the_api_sync_status_has_a_line_per_platform_export(client: Client, viewer, runs) -> None:  # noqa: ANN001
    body = client.get("/api/v1/connections/acme/sync", **bearer(token_for(viewer))).json()

    sources = {s["source"]: s for s in body["sources"]}
    assert sources["azure_openai"]["label"] == "Azure OpenAI cost export"
    assert sources["vertex"]["label"] == "Vertex AI billing export"
    for source, run in runs.items():
        latest = sources[source]["latest"]
        assert (latest["id"], latest["status"], latest["rows_rejected"]) == (run.pk, "partial", 1)
        assert sources[source]["last_success"]["id"] == run.pk and not sources[source]["needs_attention"]


def test_the_api_run_history_filters_by_platform(client: Client, viewer, runs) -> None:  # noqa: ANN001
    token = token_for(viewer)
    for source, run in runs.items():
        page = client.get(f"/api/v1/connections/acme/sync/runs?source={source}", **bearer(token)).json()
        assert [r["id"] for r in page["items"]] == [run.pk]
        assert page["items"][0]["files"] == 1 and page["items"][0]["rows_loaded"] == run.rows_loaded > 0


def test_outsiders_get_404_from_the_api(client: Client, outsider, runs) -> None:  # noqa: ANN001
    token = token_for(outsider)
    assert client.get("/api/v1/connections/acme/sync", **bearer(token)).status_code == 404
    assert client.get("/api/v1/connections/acme/sync/runs?source=vertex", **bearer(token)).status_code == 404


def test_the_admin_lists_and_shows_the_runs_with_a_download_link(client: Client, tenant_admin, runs) -> None:  # noqa: ANN001
    client.force_login(tenant_admin)

    listing = client.get("/admin/ingestion/importrun/?source__exact=vertex").content.decode()
    page = client.get(f"/admin/ingestion/importrun/{runs['vertex'].pk}/change/").content.decode()

    assert "Vertex AI billing export" in listing and f"/admin/ingestion/importrun/{runs['vertex'].pk}/" in listing
    assert f"/admin/ingestion/importrun/{runs['azure_openai'].pk}/" not in listing
    assert f"/admin/ingestion/importrun/{runs['vertex'].pk}/rejected.csv" in page and "Download 1 as CSV" in page


def _csv(response) -> list[list[str]]:  # noqa: ANN001
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_rejected_rows_download_names_file_line_and_reason(client: Client, tenant_admin, runs) -> None:  # noqa: ANN001
    client.force_login(tenant_admin)

    vertex = _csv(client.get(f"/admin/ingestion/importrun/{runs['vertex'].pk}/rejected.csv"))
    azure = _csv(client.get(f"/admin/ingestion/importrun/{runs['azure_openai'].pk}/rejected.csv"))

    assert vertex == [["file", "line", "reason"], [str(JSONL), *VERTEX_REJECTED]]
    assert azure[0] == ["file", "line", "reason"] and len(azure) == 2
    assert azure[1][1] == "2" and azure[1][0].endswith("mca.csv")
    assert "Quantity" in azure[1][2] or "quantity" in azure[1][2]
    assert not azure[1][2].startswith(("=", "+", "-", "@"))


def test_a_cur_run_downloads_its_rejected_rows_the_same_way(
    client: Client,
    tenant: Tenant,
    tenant_admin,  # noqa: ANN001
    tmp_path: Path,
) -> None:
    path = bad.write_cur(tmp_path / "quote.csv", bad.many_cur_rows(12))
    lines = path.read_text().split("\n")
    lines[4] = lines[4].replace(",Usage,", ',"Usage,', 1)  # line 5 opens a quote it never closes
    path.write_text("\n".join(lines))
    run = import_cur(tenant=tenant, paths=[path])
    client.force_login(tenant_admin)

    rows = _csv(client.get(f"/admin/ingestion/importrun/{run.pk}/rejected.csv"))

    assert rows[0] == ["file", "line", "reason"]
    assert [r[:2] for r in rows[1:]] == [[str(path), "5"]] and rows[1][2]


def test_outsiders_get_404_from_the_download(client: Client, outsider, runs) -> None:  # noqa: ANN001
    client.force_login(outsider)
    assert client.get(f"/admin/ingestion/importrun/{runs['vertex'].pk}/rejected.csv").status_code == 404
