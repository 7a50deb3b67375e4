"""Connection and sync-status endpoints: what the connection page shows every member, nothing more."""

from __future__ import annotations

from django.test import Client

from connections.models import AwsConnection, MemberAccount, Tenant
from ingestion.models import ImportRun
from tests.api.conftest import bearer, token_for

CHECKS = [
    {
        "key": "assume_role",
        "label": "Assume the role",
        "status": "red",
        "message": "AccessDenied",
        "findings": [{"code": "trust", "title": "Trust policy", "cause": "c", "remedy": "r", "evidence": "e"}],
    },
    {"key": "regions", "label": "Regions", "status": "green", "message": "ok"},  # an older entry: no findings
]


def test_the_list_shows_status_checks_and_externalid_to_a_viewer(client: Client, viewer, tenant, other_tenant) -> None:  # noqa: ANN001
    prod = AwsConnection.objects.create(
        tenant=tenant,
        name="prod",
        account_id="111122223333",
        mode=AwsConnection.Mode.ORGANIZATION,
        status=AwsConnection.Status.DEGRADED,
        last_validation=CHECKS,
    )
    MemberAccount.objects.create(connection=prod, account_id="444455556666", name="dev")
    AwsConnection.objects.create(tenant=tenant, name="lab", account_id="222233334444")
    AwsConnection.objects.create(tenant=other_tenant, name="theirs", account_id="999988887777")

    data = client.get("/api/v1/connections/acme/", **bearer(token_for(viewer))).json()

    assert [c["name"] for c in data["items"]] == ["lab", "prod"]
    assert data["pagination"]["count"] == 2
    item = data["items"][1]
    assert (item["status"], item["external_id"], item["mode"]) == ("degraded", prod.external_id, "Organization")
    assert [c["key"] for c in item["checks"]] == ["assume_role", "regions"]
    assert item["checks"][0]["findings"][0]["remedy"] == "r" and item["checks"][1]["findings"] == []
    assert item["member_accounts"][0]["account_id"] == "444455556666"
    # No deploy artifacts (templates, commands) in the API: those stay on the page, for admins.
    assert "deploy_command" not in item and "artifacts" not in item


def test_one_connection_filters_and_other_tenants_connections(client: Client, viewer, tenant, other_tenant) -> None:  # noqa: ANN001
    prod = AwsConnection.objects.create(tenant=tenant, name="prod", account_id="111122223333")
    theirs = AwsConnection.objects.create(tenant=other_tenant, name="theirs", account_id="999988887777")
    token = token_for(viewer)

    assert client.get(f"/api/v1/connections/acme/{prod.pk}", **bearer(token)).json()["name"] == "prod"
    assert client.get(f"/api/v1/connections/acme/{theirs.pk}", **bearer(token)).status_code == 404
    assert client.get("/api/v1/connections/acme/?status=failed", **bearer(token)).json()["items"] == []
    bad = client.get("/api/v1/connections/acme/?status=sleepy", **bearer(token))
    assert bad.status_code == 400 and "status='sleepy'" in bad.json()["detail"]


def _run(tenant: Tenant, source: str, status: str, rows: int = 0) -> ImportRun:
    return ImportRun.objects.create(
        tenant=tenant, source=source, status=status, rows_loaded=rows, files=[{"path": "/srv/secret/path.csv"}]
    )


def test_sync_status_has_each_sources_latest_and_last_finished_run(
    client: Client, viewer, tenant, other_tenant
) -> None:  # noqa: ANN001
    ok = _run(tenant, "cur", "succeeded", rows=120)
    broken = _run(tenant, "cur", "interrupted", rows=7)
    _run(other_tenant, "invocation_logs", "succeeded", rows=5)

    data = client.get("/api/v1/connections/acme/sync", **bearer(token_for(viewer))).json()

    sources = {s["source"]: s for s in data["sources"]}
    assert set(sources) == {"cur", "invocation_logs", "azure_openai", "vertex"}
    cur = sources["cur"]
    assert (cur["latest"]["id"], cur["last_success"]["id"], cur["needs_attention"]) == (broken.pk, ok.pk, True)
    assert cur["latest"]["rows_loaded"] == 7 and cur["latest"]["files"] == 1
    assert sources["invocation_logs"] == {
        "source": "invocation_logs",
        "label": "Invocation logs",
        "latest": None,
        "last_success": None,
        "needs_attention": False,
    }
    assert "/srv/secret" not in str(data)


def test_sync_runs_are_paginated_newest_first(client: Client, viewer, tenant) -> None:  # noqa: ANN001
    runs = [_run(tenant, "cur" if i % 2 else "invocation_logs", "succeeded", rows=i) for i in range(5)]
    token = token_for(viewer)

    page = client.get("/api/v1/connections/acme/sync/runs?page_size=2&page=1", **bearer(token)).json()
    cur = client.get("/api/v1/connections/acme/sync/runs?source=cur", **bearer(token)).json()

    assert [r["id"] for r in page["items"]] == [runs[4].pk, runs[3].pk]
    assert page["pagination"] == {"page": 1, "page_size": 2, "pages": 3, "count": 5}
    assert [r["id"] for r in cur["items"]] == [runs[3].pk, runs[1].pk]
    assert client.get("/api/v1/connections/acme/sync/runs?source=s3", **bearer(token)).status_code == 400
