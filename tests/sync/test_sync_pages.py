"""Where sync shows up: the connection page (state per source, last success, next run, each account and
region with the remedy for anything red, 'Sync now' for admins), the support page, the admin (tenant-scoped)
and the API (status and 'sync now')."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from connections.models import AuditLog, AwsConnection, Tenant
from ingestion.models import SyncRun
from tests.api.conftest import bearer, token_for


@pytest.fixture
def connection(tenant: Tenant) -> AwsConnection:
    return AwsConnection.objects.create(
        tenant=tenant, name="prod", account_id="111122223333", regions=["us-east-1"],
        role_arn="arn:aws:iam::111122223333:role/BedrockFinOps", status="connected",
    )  # fmt: skip


def _run(connection: AwsConnection, source: str, status: str, **fields: Any) -> SyncRun:
    return SyncRun.objects.create(
        tenant=connection.tenant, connection=connection, sync_id="s1", source=source, account_id="111122223333",
        region="" if source == "cur" else "us-east-1", status=status, finished_at=timezone.now(), **fields,
    )  # fmt: skip


@pytest.fixture
def runs(connection: AwsConnection) -> None:
    _run(connection, "cur", "succeeded", items_fetched=3, rows_loaded=1200)
    _run(connection, "logs", "failed", error="Log group /aws/bedrock/x not found in us-east-1",
         remedy="aws logs create-log-group --log-group-name /aws/bedrock/x")  # fmt: skip
    call_command("schedule_syncs", stdout=StringIO())


def test_the_connection_page_shows_each_source_with_its_remedy(client: Client, viewer, connection, runs) -> None:  # noqa: ANN001
    client.force_login(viewer)
    page = client.get(f"/connections/{connection.pk}/").content.decode()
    assert 'id="sync"' in page
    assert "1200 loaded" in page and "Log group /aws/bedrock/x not found" in page
    assert "aws logs create-log-group" in page  # the remedy, not just the error
    assert "never synced" in page  # metrics and inventory have not run
    assert "UTC" in page.split('id="sync"')[1].split("</section>")[0]  # next run times from the schedules
    assert "Sync now" not in page  # viewers cannot


def test_an_admin_queues_a_sync_now_and_it_is_audited(
    client: Client,
    tenant_admin,
    connection,
    monkeypatch,
    django_capture_on_commit_callbacks,  # noqa: ANN001
) -> None:
    queued: list[tuple] = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda *args, **kwargs: queued.append(args))
    client.force_login(tenant_admin)
    assert "Sync now" in client.get(f"/connections/{connection.pk}/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/connections/{connection.pk}/sync/", follow=True)
    assert "Sync queued" in response.content.decode()
    assert queued == [("ingestion.tasks.sync_connection_task", connection.pk, None, "manual")]
    assert AuditLog.objects.filter(action="connection.sync_requested", actor=tenant_admin).exists()


def test_a_viewer_cannot_sync_and_a_paused_connection_says_why(client: Client, viewer, tenant_admin, connection):  # noqa: ANN001
    client.force_login(viewer)
    assert client.post(f"/connections/{connection.pk}/sync/").status_code == 403
    connection.status = AwsConnection.Status.PAUSED
    connection.save()
    client.force_login(tenant_admin)
    assert "is paused" in client.post(f"/connections/{connection.pk}/sync/", follow=True).content.decode()


def test_the_support_page_shows_sync_state_and_red_remedies(client: Client, staff, connection, runs) -> None:  # noqa: ANN001
    client.force_login(staff)
    page = client.get("/support/connections/").content.decode()
    assert "sync-failed" in page and "sync-succeeded" in page
    assert "aws logs create-log-group" in page


def test_the_admin_lists_only_the_admins_tenants_sync_runs(client: Client, tenant_admin, connection, other_tenant):  # noqa: ANN001
    theirs = AwsConnection.objects.create(tenant=other_tenant, name="secret-conn", account_id="999999999999")
    _run(connection, "cur", "succeeded")
    hidden = _run(theirs, "metrics", "failed", error="theirs-secret-error")
    client.force_login(tenant_admin)
    listing = client.get("/admin/ingestion/syncrun/").content.decode()
    assert "prod" in listing and "secret-conn" not in listing
    assert client.get(f"/admin/ingestion/syncrun/{hidden.pk}/change/").status_code == 302
    assert client.get("/admin/ingestion/syncstate/").status_code == 200


def test_the_api_reports_each_connection_and_queues_a_sync(client: Client, tenant_admin, viewer, connection, runs,
                                                           monkeypatch) -> None:  # noqa: ANN001  # fmt: skip
    monkeypatch.setattr("django_q.tasks.async_task", lambda *args, **kwargs: None)
    data = client.get("/api/v1/connections/acme/sync", **bearer(token_for(viewer))).json()
    # the file imports, as before, and the other platforms' export imports (issue #12)
    assert {s["source"] for s in data["sources"]} == {"cur", "invocation_logs", "azure_openai", "vertex"}
    (conn,) = data["connections"]
    states = {s["source"]: s["state"] for s in conn["sources"]}
    assert states == {"inventory": "never", "cur": "succeeded", "logs": "failed", "metrics": "never"}
    logs = next(s for s in conn["sources"] if s["source"] == "logs")
    assert logs["runs"][0]["remedy"].startswith("aws logs") and logs["next_run"]

    url = f"/api/v1/connections/acme/{connection.pk}/sync"
    assert client.post(url, **bearer(token_for(viewer))).status_code == 403
    response = client.post(url, **bearer(token_for(tenant_admin)))
    assert response.status_code == 202 and response.json()["queued"] is True
    assert AuditLog.objects.filter(action="connection.sync_requested", details__via="api").exists()
