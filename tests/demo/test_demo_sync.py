"""The demo's live sync: demo_sync seeds a moto server (reached only through AWS_ENDPOINT_URL) with the demo's
files and syncs the demo connection through the real sync code; the connection page shows the syncs and says
they came from an emulator. It refuses an endpoint that is not on this machine."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from connections import aws
from connections.models import AwsConnection
from finops.ledger.models import SpendEvent
from ingestion.models import SyncRun


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    # The server shares moto's in-process state with other tests: start from an empty emulator.
    import requests

    requests.post(f"{url}/moto-api/reset", timeout=10)
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    aws.clear_credential_cache()
    try:
        yield url
    finally:
        aws.clear_credential_cache()
        server.stop()


@pytest.mark.django_db
def test_the_demo_connection_syncs_from_the_emulator(moto_server: str, tmp_path: Path, client: Client) -> None:
    call_command(
        "demo_setup", "--data-dir", str(tmp_path), "--end-date", "2026-11-20", "--days", "5", stdout=StringIO()
    )
    requests_before = SpendEvent.objects.filter(tenant__slug="acme", record_kind="request").count()
    billed_before = sorted(
        SpendEvent.objects.filter(tenant__slug="acme", record_kind="billed_line").values_list("cost_usd", flat=True)
    )

    out = StringIO()
    call_command("demo_sync", "--data-dir", str(tmp_path), stdout=out)
    assert "Demo sync done" in out.getvalue()

    connection = AwsConnection.objects.get(tenant__slug="acme", name="acme-prod")
    assert connection.status == "connected" and connection.last_validated_at  # validated through the emulator
    runs = SyncRun.objects.filter(connection=connection, trigger="demo")
    assert {r.source for r in runs} == {"cur", "logs", "metrics", "inventory"}
    assert {r.status for r in runs} == {"succeeded"}, [(r.source, r.region, r.error) for r in runs]
    cur = runs.get(source="cur")
    assert cur.items_fetched > 0
    logs = {r.region: r for r in runs.filter(source="logs")}
    assert logs["us-east-1"].items_fetched > 0  # the same requests, already in the ledger: none added
    assert SpendEvent.objects.filter(tenant__slug="acme", record_kind="request").count() == requests_before
    assert (
        sorted(
            SpendEvent.objects.filter(tenant__slug="acme", record_kind="billed_line").values_list("cost_usd", flat=True)
        )
        == billed_before
    )  # the bill is the same bill: nothing doubled or lost
    metrics = SpendEvent.objects.filter(tenant__slug="acme", record_kind="metric")
    assert metrics.exists() and sum(metrics.values_list("requests", flat=True)) > 0

    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username="acme-admin"))
    page = client.get(f"/connections/{connection.pk}/").content.decode()
    assert "local moto server" in page and "Sync now" in page

    # a second run (the emulator still up) adds nothing
    call_command("demo_sync", "--data-dir", str(tmp_path), stdout=StringIO())
    assert SpendEvent.objects.filter(tenant__slug="acme", record_kind="metric").count() == metrics.count()


@pytest.mark.django_db
def test_the_demo_sync_refuses_an_endpoint_that_is_not_local(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with pytest.raises(CommandError, match="moto server on this machine"):
        call_command("demo_sync", "--data-dir", str(tmp_path))
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://s3.amazonaws.com")
    with pytest.raises(CommandError, match="moto server on this machine"):
        call_command("demo_sync", "--data-dir", str(tmp_path))
