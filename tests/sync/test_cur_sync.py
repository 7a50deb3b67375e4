"""sync_cur against a moto bucket holding a CUR 2.0 export in the real layout (tests/fixtures/make_fixtures.py)."""

from __future__ import annotations

import json
import socket
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from django.core.management import call_command
from moto import mock_aws

from connections import aws
from connections.models import AwsConnection, Tenant
from finops.ledger.models import SpendEvent
from ingestion.models import ImportRun
from ingestion.sync import objects
from ingestion.sync.cur import periods_to_check, sync_cur
from tests.fixtures import make_fixtures as mf
from tests.ingestion.test_import_services import JUNE_BILLED, JUNE_ROWS, MAY_BILLED, RESTATED_BILLED
from tests.sync.support_cur_logs import (
    Checkpoints,
    Killed,
    Misbehaving,
    billed,
    ledger_state,
    make_connection,
    md5,
    target,
    upload_tree,
)

JUNE, MAY = date(2026, 6, 1), date(2026, 5, 1)
UNTIL = datetime(2026, 7, 10, 12, tzinfo=UTC)  # current month July, previous June; May is older
SINCE = UNTIL - timedelta(days=90)
NEW_EXECUTION = "0b9f2c4e-7a11-4d5e-9c3b-5f6e7a8b9c0d"


@pytest.fixture
def sync_tmp(settings: Any, tmp_path: Path) -> Path:
    """Where the sync puts its temporary files, so a test can see they are gone."""
    folder = tmp_path / "sync-tmp"
    folder.mkdir()
    settings.FINOPS_SYNC_TMP_DIR = str(folder)
    return folder


@pytest.fixture
def s3() -> Iterator[Any]:
    aws.clear_credential_cache()
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=mf.BUCKET)
        yield client


def cur_connection(tenant: Tenant, **fields: Any) -> AwsConnection:
    values = {"cur_bucket": mf.BUCKET, "cur_prefix": mf.PREFIX, "cur_export_name": mf.EXPORT}
    values.update(fields)
    return make_connection(tenant, **values)


def deliver(s3: Any, root: Path, period: str, sources: list[Path], execution: str | None = None) -> Path:
    """Write a period's export locally (the fixture layout) and upload it; a new executionId when given."""
    manifest = mf.write_cur_export(root, sources=sources, period=period)
    if execution:
        document = json.loads(manifest.read_text())
        document["executionId"] = execution
        manifest.write_text(json.dumps(document))
    upload_tree(s3, mf.BUCKET, root)
    return manifest


def run(connection: AwsConnection, watermark: dict | None = None, checkpoint: Any = None, **window: Any) -> Any:
    return sync_cur(
        target(connection),
        watermark=watermark or {},
        since=window.get("since", SINCE),
        until=window.get("until", UNTIL),
        checkpoint=checkpoint or Checkpoints(),
        say=lambda _line: None,
    )


# --- first sync, unchanged, re-delivered -----------------------------------------------------------


def test_the_first_sync_loads_every_period_of_the_window_like_the_import_command(
    s3: Any, tenant: Tenant, other_tenant: Tenant, tmp_path: Path, sync_tmp: Path
) -> None:
    root = tmp_path / "bucket"
    deliver(s3, root, "2026-06", [mf.CUR_JUNE_CSV])
    deliver(s3, root, "2026-05", [mf.CUR_MAY_CSV])
    checkpoints = Checkpoints()

    result = run(cur_connection(tenant), checkpoint=checkpoints)

    assert result.status == "succeeded", result.error
    assert result.details["periods_imported"] == ["2026-05", "2026-06"]
    assert (result.rows_loaded, result.rows_rejected, result.items_fetched) == (JUNE_ROWS + 2, 0, 4)
    assert billed(tenant, JUNE) == {"rows": JUNE_ROWS, "billed": JUNE_BILLED}
    assert billed(tenant, MAY) == {"rows": 2, "billed": MAY_BILLED}
    # The same files through the import command give the same ledger.
    call_command("import_cur", str(root), tenant=other_tenant.slug, quiet_progress=True, stdout=None)
    assert ledger_state(tenant) == ledger_state(other_tenant)
    # One checkpoint per imported period; the watermark names each delivery by execution id and data-file ETag.
    assert len(checkpoints.saved) == 2
    june_file = root / mf.PREFIX / mf.EXPORT / "data" / "BILLING_PERIOD=2026-06" / f"{mf.EXPORT}-00001.csv.gz"
    june = result.watermark["periods"]["2026-06"]
    assert (june["execution_id"], june["etags"]) == (mf.EXECUTION_ID, [md5(june_file)])
    assert result.import_runs == sorted(ImportRun.objects.filter(tenant=tenant).values_list("pk", flat=True))
    assert list(sync_tmp.iterdir()) == []  # temporary files removed


def test_a_second_sync_skips_unchanged_periods_and_loads_nothing(s3: Any, tenant: Tenant, tmp_path: Path) -> None:
    root = tmp_path / "bucket"
    deliver(s3, root, "2026-06", [mf.CUR_JUNE_CSV])
    deliver(s3, root, "2026-05", [mf.CUR_MAY_CSV])
    connection = cur_connection(tenant)
    first = run(connection)
    before, runs = ledger_state(tenant), ImportRun.objects.count()

    second = run(connection, first.watermark)

    assert second.status == "succeeded"
    assert second.rows_loaded == 0
    # June is the previous month: its manifest is read again and found unchanged. May is older and settled.
    assert second.details["periods_unchanged"] == ["2026-06"]
    assert second.details["periods_settled"] == ["2026-05"]
    assert second.details["unchanged"] == 2
    assert second.items_fetched == 1  # June's manifest, no data file
    assert ImportRun.objects.count() == runs
    assert ledger_state(tenant) == before


def test_a_redelivered_period_with_a_new_execution_replaces_that_period(
    s3: Any, tenant: Tenant, tmp_path: Path
) -> None:
    root = tmp_path / "bucket"
    deliver(s3, root, "2026-06", [mf.CUR_JUNE_CSV])
    deliver(s3, root, "2026-05", [mf.CUR_MAY_CSV])
    connection = cur_connection(tenant)
    first = run(connection)

    deliver(s3, root, "2026-06", [mf.CUR_JUNE_RESTATED_CSV], execution=NEW_EXECUTION)
    second = run(connection, first.watermark)

    assert second.status == "succeeded", second.error
    assert second.details["periods_imported"] == ["2026-06"]
    assert second.rows_loaded == 3
    assert billed(tenant, JUNE) == {"rows": 3, "billed": RESTATED_BILLED}
    assert billed(tenant, MAY) == {"rows": 2, "billed": MAY_BILLED}
    assert second.watermark["periods"]["2026-06"]["execution_id"] == NEW_EXECUTION
    restated = ImportRun.objects.get(pk=second.import_runs[0])
    assert restated.rows_replaced == JUNE_ROWS


def test_a_changed_data_file_under_the_same_execution_is_a_redelivery(s3: Any, tenant: Tenant, tmp_path: Path) -> None:
    root = tmp_path / "bucket"
    deliver(s3, root, "2026-06", [mf.CUR_JUNE_CSV])
    connection = cur_connection(tenant)
    first = run(connection)

    deliver(s3, root, "2026-06", [mf.CUR_JUNE_RESTATED_CSV])  # same executionId, new bytes
    second = run(connection, first.watermark)

    assert second.details["periods_imported"] == ["2026-06"]
    assert billed(tenant, JUNE) == {"rows": 3, "billed": RESTATED_BILLED}
    assert second.watermark["periods"]["2026-06"]["etags"] != first.watermark["periods"]["2026-06"]["etags"]


def test_an_older_period_is_imported_once_unless_its_manifest_is_rewritten(
    s3: Any, tenant: Tenant, tmp_path: Path
) -> None:
    root = tmp_path / "bucket"
    deliver(s3, root, "2026-06", [mf.CUR_JUNE_CSV])
    connection = cur_connection(tenant)
    until = datetime(2026, 9, 10, tzinfo=UTC)  # June is older than the previous month (August)
    first = run(connection, until=until)
    data_key = f"{mf.PREFIX}/{mf.EXPORT}/data/BILLING_PERIOD=2026-06/{mf.EXPORT}-00001.csv.gz"
    s3.put_object(
        Bucket=mf.BUCKET, Key=data_key, Body=mf.csv_to_gzip(mf.CUR_JUNE_RESTATED_CSV, tmp_path / "r.gz").read_bytes()
    )

    untouched = run(connection, first.watermark, until=until)
    deliver(s3, root, "2026-06", [mf.CUR_JUNE_RESTATED_CSV], execution=NEW_EXECUTION)
    rewritten = run(connection, untouched.watermark, until=until)

    assert first.details["periods_imported"] == ["2026-06"]
    assert (untouched.details["periods_settled"], untouched.items_fetched) == (["2026-06"], 0)
    assert rewritten.details["periods_imported"] == ["2026-06"]
    assert billed(tenant, JUNE) == {"rows": 3, "billed": RESTATED_BILLED}


def test_the_current_and_previous_month_are_checked_even_before_the_window(
    s3: Any, tenant: Tenant, tmp_path: Path
) -> None:
    root = tmp_path / "bucket"
    deliver(s3, root, "2026-06", [mf.CUR_JUNE_CSV])
    deliver(s3, root, "2026-05", [mf.CUR_MAY_CSV])

    result = run(cur_connection(tenant), since=UNTIL - timedelta(days=1))

    assert result.details["periods_imported"] == ["2026-06"]
    assert billed(tenant, MAY)["rows"] == 0


def test_periods_to_check_is_the_window_plus_the_two_recent_months() -> None:
    available = ["2025-12", "2026-01", "2026-02", "2026-03", "2026-04"]
    until = datetime(2026, 3, 2, tzinfo=UTC)

    assert periods_to_check(available, since=datetime(2026, 1, 15, tzinfo=UTC), until=until) == [
        "2026-01", "2026-02", "2026-03",
    ]  # fmt: skip
    assert periods_to_check(available, since=until, until=until) == ["2026-02", "2026-03"]
    assert periods_to_check(["2025-12", "2026-01"], since=datetime(2026, 1, 9, tzinfo=UTC),
                            until=datetime(2026, 1, 10, tzinfo=UTC)) == ["2025-12", "2026-01"]  # fmt: skip


# --- a killed sync ---------------------------------------------------------------------------------


def test_a_sync_killed_after_its_first_checkpoint_resumes_to_the_same_ledger(
    s3: Any, tenant: Tenant, other_tenant: Tenant, tmp_path: Path, sync_tmp: Path
) -> None:
    root = tmp_path / "bucket"
    deliver(s3, root, "2026-06", [mf.CUR_JUNE_CSV])
    deliver(s3, root, "2026-05", [mf.CUR_MAY_CSV])
    killed = Checkpoints(fail_after=1)

    with pytest.raises(Killed):
        run(cur_connection(tenant), checkpoint=killed)
    assert list(sync_tmp.iterdir()) == []  # removed even so
    assert list(killed.last["periods"]) == ["2026-05"]
    resumed = run(cur_connection(tenant, name="again"), killed.last)
    uninterrupted = run(cur_connection(other_tenant))

    assert resumed.details["periods_imported"] == ["2026-06"]
    assert resumed.details["periods_settled"] == ["2026-05"]
    assert ledger_state(tenant) == ledger_state(other_tenant)
    assert resumed.watermark == uninterrupted.watermark


# --- failures --------------------------------------------------------------------------------------


def test_a_missing_bucket_fails_with_the_remedy(s3: Any, tenant: Tenant) -> None:
    result = run(cur_connection(tenant, cur_bucket="no-such-cur-bucket"))

    assert result.status == "failed"
    assert "NoSuchBucket" in result.error
    assert "aws s3api head-bucket --bucket no-such-cur-bucket" in result.remedy


def test_a_bucket_without_the_export_fails_with_the_remedy(s3: Any, tenant: Tenant) -> None:
    result = run(cur_connection(tenant))

    assert result.status == "failed"
    assert f"s3://{mf.BUCKET}/{mf.PREFIX}/{mf.EXPORT}/metadata/" in result.error
    assert "aws bcm-data-exports create-export" in result.remedy


def test_a_denied_listing_fails_with_the_policy_to_add(s3: Any, tenant: Tenant) -> None:
    stubbed = boto3.client("s3", region_name="us-east-1")
    stubber = Stubber(stubbed)
    stubber.add_client_error("list_objects_v2", "AccessDenied", "Access Denied", 403)
    stubber.activate()
    denied = target(cur_connection(tenant), wrap=lambda _service, _real: stubbed)

    result = sync_cur(denied, watermark={}, since=SINCE, until=UNTIL, checkpoint=Checkpoints(), say=print)

    assert result.status == "failed"
    assert "AccessDenied" in result.error
    assert "BedrockFinOpsCurRead" in result.remedy and f"arn:aws:s3:::{mf.BUCKET}/*" in result.remedy


def test_a_connection_without_a_cur_bucket_is_skipped(tenant: Tenant) -> None:
    result = run(make_connection(tenant))

    assert result.status == "skipped"
    assert "No CUR bucket" in result.error


def test_a_manifest_listing_a_missing_file_is_reported_and_the_other_periods_load(
    s3: Any, tenant: Tenant, tmp_path: Path
) -> None:
    root = tmp_path / "bucket"
    deliver(s3, root, "2026-06", [mf.CUR_JUNE_CSV])
    deliver(s3, root, "2026-05", [mf.CUR_MAY_CSV])
    s3.delete_object(
        Bucket=mf.BUCKET, Key=f"{mf.PREFIX}/{mf.EXPORT}/data/BILLING_PERIOD=2026-06/{mf.EXPORT}-00001.csv.gz"
    )

    result = run(cur_connection(tenant))

    assert result.status == "partial"
    assert "2026-06" in result.details["period_errors"] and "does not exist" in result.error
    assert result.details["periods_imported"] == ["2026-05"]
    assert "2026-06" not in result.watermark["periods"]  # read again next sync
    assert SpendEvent.objects.filter(tenant=tenant, billing_period=JUNE).count() == 0


def test_a_data_file_replaced_while_the_sync_reads_is_left_for_the_next_sync(
    s3: Any, tenant: Tenant, tmp_path: Path
) -> None:
    root = tmp_path / "bucket"
    deliver(s3, root, "2026-06", [mf.CUR_JUNE_CSV])
    data_key = f"{mf.PREFIX}/{mf.EXPORT}/data/BILLING_PERIOD=2026-06/{mf.EXPORT}-00001.csv.gz"
    restated = mf.csv_to_gzip(mf.CUR_JUNE_RESTATED_CSV, tmp_path / "restated.csv.gz").read_bytes()

    class RewritesOnHead(Misbehaving):
        """AWS overwrites the data file between the listing and the download."""

        def __getattr__(self, name: str) -> Any:
            if name == "get_object":

                def get_object(**kwargs: Any) -> Any:
                    if kwargs["Key"] == data_key:
                        self.real.put_object(Bucket=mf.BUCKET, Key=data_key, Body=restated)
                    return self.real.get_object(**kwargs)

                return get_object
            return getattr(self.real, name)

    connection = cur_connection(tenant)
    racing = target(connection, wrap=lambda _s, real: RewritesOnHead(real, "", "", lambda _n: False))

    result = sync_cur(racing, watermark={}, since=SINCE, until=UNTIL, checkpoint=Checkpoints(), say=print)

    assert result.status == "failed"
    assert "changed while it was being read" in result.error
    assert not SpendEvent.objects.filter(tenant=tenant).exists()


# --- memory and a real emulator --------------------------------------------------------------------


class _LazyBody:
    """A StreamingBody of `size` bytes made as they are read; read() would hold them all at once."""

    def __init__(self, size: int) -> None:
        self.size = size

    def iter_chunks(self, chunk_size: int) -> Iterator[bytes]:
        left = self.size
        while left:
            step = min(chunk_size, left)
            left -= step
            yield b"x" * step

    def read(self) -> bytes:
        return b"x" * self.size

    def close(self) -> None:
        pass


def test_a_download_streams_in_bounded_chunks(tmp_path: Path) -> None:
    size = 64 * 1024 * 1024

    class Client:
        def get_object(self, **_kwargs: Any) -> dict[str, Any]:
            return {"Body": _LazyBody(size)}

    tracemalloc.start()
    try:
        written = objects.download(Client(), "b", "k", tmp_path / "big.csv.gz")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert written == size == (tmp_path / "big.csv.gz").stat().st_size
    assert peak < 4 * objects.CHUNK_BYTES  # a 64 MB object through a few MB of memory


@pytest.fixture
def moto_server(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto in server mode on a free loopback port, reached only through AWS_ENDPOINT_URL (no mock_aws)."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    aws.clear_credential_cache()
    try:
        yield url
    finally:
        server.stop()


def test_the_cur_sync_reads_a_moto_server_through_aws_endpoint_url(
    moto_server: str, tenant: Tenant, tmp_path: Path
) -> None:
    import requests

    s3 = boto3.client("s3", region_name="us-east-1")  # AWS_ENDPOINT_URL sends it to the server
    s3.create_bucket(Bucket=mf.BUCKET)
    deliver(s3, tmp_path / "bucket", "2026-06", [mf.CUR_JUNE_CSV])
    connection = cur_connection(tenant)

    first = run(connection)
    second = run(connection, first.watermark)

    assert first.status == "succeeded", first.error
    assert billed(tenant, JUNE) == {"rows": JUNE_ROWS, "billed": JUNE_BILLED}
    assert second.details["periods_unchanged"] == ["2026-06"]
    state = requests.get(f"{moto_server}/moto-api/data.json", timeout=10).json()
    assert mf.BUCKET in json.dumps(state.get("s3", state))  # the export really lived in the server
