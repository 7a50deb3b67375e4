"""sync_logs against moto: CloudWatch Logs (events carrying the fixture records, re-dated to the last days because
CloudWatch refuses events older than 14 days) and S3 (the fixture records in Bedrock's delivery layout)."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from django.core.management import call_command
from moto import mock_aws

from connections import aws
from connections.models import AwsConnection, Tenant
from ingestion.models import SyncRun, SyncState
from ingestion.sync.base import LOG_OVERLAP_SECONDS
from ingestion.sync.logs import LogOptions, RateLimiter, sync_logs
from ingestion.sync.services import sync_connection
from tests.fixtures import make_fixtures as mf
from tests.sync.support_cur_logs import (
    ACCOUNT,
    CLEAN,
    LOG_BUCKET,
    LOG_GROUP,
    LOG_GROUP_ARN,
    REGION,
    Checkpoints,
    FakeTime,
    Killed,
    Misbehaving,
    as_file,
    ledger_state,
    lines,
    make_connection,
    put_events,
    redate,
    request_ids,
    requests,
    target,
    to_ms,
    upload_tree,
)

BASE = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
S3_SINCE, S3_UNTIL = datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 4, tzinfo=UTC)


@pytest.fixture
def sync_tmp(settings: Any, tmp_path: Path) -> Path:
    folder = tmp_path / "sync-tmp"
    folder.mkdir()
    settings.FINOPS_SYNC_TMP_DIR = str(folder)
    return folder


@pytest.fixture
def moto() -> Iterator[None]:
    aws.clear_credential_cache()
    with mock_aws():
        yield


def cw_connection(tenant: Tenant, **fields: Any) -> AwsConnection:
    return make_connection(tenant, log_group_arn=LOG_GROUP_ARN, **fields)


def run(connection: AwsConnection, *, watermark: dict | None = None, checkpoint: Any = None, wrap: Any = None,
        options: LogOptions | None = None, since: datetime | None = None, until: datetime | None = None,
        region: str = REGION) -> Any:  # fmt: skip
    return sync_logs(
        target(connection, region, wrap),
        watermark=watermark or {},
        since=since or BASE - timedelta(days=2),
        until=until or BASE + timedelta(hours=3),
        checkpoint=checkpoint or Checkpoints(),
        say=lambda _line: None,
        options=options or LogOptions(sleep=lambda _s: None),
    )


# --- CloudWatch Logs -------------------------------------------------------------------------------


def test_the_first_cloudwatch_sync_loads_what_the_import_command_loads(
    moto: None, tenant: Tenant, other_tenant: Tenant, tmp_path: Path, sync_tmp: Path
) -> None:
    events = redate(lines("invocations.jsonl"), BASE, timedelta(minutes=2))
    put_events(events)
    until = BASE + timedelta(hours=1)
    checkpoints = Checkpoints()

    result = run(cw_connection(tenant), checkpoint=checkpoints, until=until)

    call_command("import_invocation_logs", str(as_file(events, tmp_path / "same.jsonl")), tenant=other_tenant.slug,
                 quiet_progress=True)  # fmt: skip
    assert ledger_state(tenant) == ledger_state(other_tenant)
    assert sorted(requests(tenant)) == sorted(request_ids(events))  # 8: not JSON, no requestId, a negative count
    assert (result.items_fetched, result.rows_loaded, result.rows_rejected) == (11, 8, 3)
    assert result.status == "partial"  # rows were rejected, and the run says so
    assert result.watermark == {"cloudwatch": {"last_ms": to_ms(until)}}
    assert checkpoints.last == result.watermark
    assert list(sync_tmp.iterdir()) == []


def test_an_incremental_sync_loads_only_new_and_late_events_and_never_doubles(moto: None, tenant: Tenant) -> None:
    first_events = redate(lines(*CLEAN[:2]), BASE, timedelta(minutes=2))  # BASE .. BASE+16min
    put_events(first_events)
    connection = cw_connection(tenant)
    first = run(connection, until=BASE + timedelta(minutes=20))
    # After the first sync: one event delivered late (inside the overlap) and a new hour.
    late = redate(lines("s3_delivery.jsonl")[:1], BASE + timedelta(minutes=12), timedelta(0))
    new_hour = redate(lines("s3_delivery.jsonl")[1:], BASE + timedelta(hours=1), timedelta(minutes=1))
    put_events(sorted(late + new_hour))
    before = set(requests(tenant))

    second = run(connection, watermark=first.watermark, until=BASE + timedelta(hours=2))

    assert set(requests(tenant)) - before == request_ids(late + new_hour)
    assert len(requests(tenant)) == len(set(requests(tenant))) == 12
    assert second.rows_loaded == 3
    # Re-read from 15 minutes before the watermark (BASE+5min): the events from BASE+6min on, the late one, the new.
    reread = [e for e in first_events if e[0] >= BASE + timedelta(minutes=20) - timedelta(seconds=LOG_OVERLAP_SECONDS)]
    assert second.items_fetched == len(reread) + 3


def test_throttling_is_waited_out_and_the_sync_goes_on(moto: None, tenant: Tenant) -> None:
    put_events(redate(lines(*CLEAN), BASE, timedelta(minutes=1)))
    clock = FakeTime()
    options = LogOptions(clock=clock.clock, sleep=clock.sleep, page_events=5)
    flaky: list[Misbehaving] = []

    def wrap(service: str, real: Any) -> Any:
        flaky.append(Misbehaving(real, "filter_log_events", "ThrottlingException", lambda n: n in (2, 3)))
        return flaky[-1] if service == "logs" else real

    result = run(cw_connection(tenant), wrap=wrap, options=options)

    assert result.status == "succeeded", result.error
    assert result.rows_loaded == 12
    assert len(flaky[0].calls) == 3 + 2  # 12 events in pages of 5, two of the calls throttled
    backoffs = [s for s in clock.sleeps if s >= 1]
    assert backoffs == [1.0, 2.0]


def test_filter_log_events_is_held_to_five_calls_a_second(moto: None, tenant: Tenant) -> None:
    put_events(redate(lines(*CLEAN), BASE, timedelta(minutes=1)))
    clock = FakeTime()
    stamps: list[float] = []
    recorder: list[Misbehaving] = []

    def wrap(service: str, real: Any) -> Any:
        recorder.append(Misbehaving(real, "filter_log_events", "", lambda _n: stamps.append(clock.now) and False))
        return recorder[-1] if service == "logs" else real

    result = run(cw_connection(tenant), wrap=wrap, options=LogOptions(clock=clock.clock, sleep=clock.sleep,
                                                                      page_events=2))  # fmt: skip

    assert result.rows_loaded == 12
    assert len(stamps) == 6
    assert all(later - earlier >= 0.2 - 1e-9 for earlier, later in zip(stamps, stamps[1:], strict=False))


def test_the_rate_limiter_spaces_calls_and_never_waits_when_calls_are_slow_enough() -> None:
    clock = FakeTime()
    limiter = RateLimiter(5, clock=clock.clock, sleep=clock.sleep)

    for _ in range(3):
        limiter.wait()
    clock.now += 1
    limiter.wait()

    assert clock.sleeps == pytest.approx([0.2, 0.2])


def test_persistent_throttling_stops_as_partial_and_the_next_sync_resumes_where_it_stopped(
    moto: None, tenant: Tenant, other_tenant: Tenant
) -> None:
    events = redate(lines(*CLEAN), BASE, timedelta(minutes=10))
    put_events(events)
    clock = FakeTime()
    options = LogOptions(clock=clock.clock, sleep=clock.sleep, page_events=3, batch_events=3, max_retries=4)
    stuck = lambda _s, real: Misbehaving(real, "filter_log_events", "ThrottlingException", lambda n: n >= 3)  # noqa: E731
    checkpoints = Checkpoints()

    stopped = run(cw_connection(tenant), wrap=stuck, options=options, checkpoint=checkpoints)

    assert stopped.status == "partial"
    assert "kept throttling" in stopped.error and "resumes" in stopped.error
    assert stopped.rows_loaded == 6  # two pages of three, each committed
    sixth = events[5][0]
    assert stopped.watermark == {"cloudwatch": {"last_ms": to_ms(sixth)}} == checkpoints.last
    assert [s for s in clock.sleeps if s >= 1] == [1.0, 2.0, 4.0, 8.0]

    calls: list[Misbehaving] = []

    def record(service: str, real: Any) -> Any:
        calls.append(Misbehaving(real, "filter_log_events", "", lambda _n: False))
        return calls[-1] if service == "logs" else real

    resumed = run(cw_connection(tenant, name="again"), watermark=stopped.watermark, wrap=record)
    uninterrupted = run(cw_connection(other_tenant))

    assert calls[0].calls[0]["startTime"] == to_ms(sixth) - LOG_OVERLAP_SECONDS * 1000
    assert resumed.items_fetched == 12 - 6 + 2  # the rest, and the two events inside the overlap
    assert ledger_state(tenant) == ledger_state(other_tenant)
    assert len(requests(tenant)) == 12 == uninterrupted.rows_loaded


def test_a_sync_killed_after_its_first_batch_resumes_to_the_same_ledger(
    moto: None, tenant: Tenant, other_tenant: Tenant, sync_tmp: Path
) -> None:
    put_events(redate(lines(*CLEAN), BASE, timedelta(minutes=7)))
    options = LogOptions(sleep=lambda _s: None, page_events=4, batch_events=4)
    killed = Checkpoints(fail_after=1)

    with pytest.raises(Killed):
        run(cw_connection(tenant), checkpoint=killed, options=options)
    assert len(requests(tenant)) == 4
    assert list(sync_tmp.iterdir()) == []
    resumed = run(cw_connection(tenant, name="again"), watermark=killed.last, options=options)
    run(cw_connection(other_tenant), options=options)

    assert resumed.status == "succeeded"
    assert ledger_state(tenant) == ledger_state(other_tenant)
    assert len(requests(tenant)) == 12


# --- CloudWatch failures and what is not read here -------------------------------------------------


def test_a_missing_log_group_fails_with_the_command_to_create_it(moto: None, tenant: Tenant) -> None:
    result = run(cw_connection(tenant))

    assert result.status == "failed"
    assert "ResourceNotFoundException" in result.error
    assert f"aws logs create-log-group --region {REGION} --log-group-name {LOG_GROUP}" in result.remedy


def test_a_denied_log_group_fails_with_the_policy_to_add(moto: None, tenant: Tenant) -> None:
    put_events(redate(lines(*CLEAN), BASE, timedelta(minutes=1)))
    denied = lambda _s, real: Misbehaving(real, "filter_log_events", "AccessDeniedException", lambda _n: True, 400)  # noqa: E731

    result = run(cw_connection(tenant), wrap=denied)

    assert result.status == "failed"
    assert "BedrockFinOpsLogsRead" in result.remedy and "kms:Decrypt" in result.remedy


def test_a_log_group_in_a_region_the_connection_does_not_sync_fails_with_the_remedy(tenant: Tenant) -> None:
    connection = make_connection(tenant, log_group_arn=LOG_GROUP_ARN.replace(REGION, "eu-west-1"))

    result = run(connection)

    assert result.status == "failed"
    assert "eu-west-1, which is not one of the connection's regions" in result.error
    assert "Add eu-west-1 to the connection's regions" in result.remedy
    assert f"put-model-invocation-logging-configuration --region {REGION}" in result.remedy


def test_a_log_group_of_another_synced_region_is_skipped_here(tenant: Tenant) -> None:
    connection = make_connection(tenant, regions=[REGION, "us-west-2"],
                                 log_group_arn=LOG_GROUP_ARN.replace(REGION, "us-west-2"))  # fmt: skip

    result = run(connection)

    assert result.status == "skipped"
    assert "us-west-2" in result.error


def test_no_log_source_configured_is_skipped(tenant: Tenant) -> None:
    result = run(make_connection(tenant))

    assert result.status == "skipped"
    assert "No invocation log source" in result.error


# --- S3 --------------------------------------------------------------------------------------------


def s3_delivery(tmp_path: Path) -> Path:
    """The fixture delivery (hours 14 and 15 of 2026-06-03, a data/ object, the permission check) in the bucket."""
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=LOG_BUCKET)
    local = tmp_path / "logs"
    mf.write_log_delivery(local)
    upload_tree(boto3.client("s3", region_name=REGION), LOG_BUCKET, local)
    return local / mf.LOG_PREFIX


def put_hour_object(hour: str, raw: list[str], name: str) -> str:
    key = f"{mf.LOG_PREFIX}/AWSLogs/{ACCOUNT}/BedrockModelInvocationLogs/{REGION}/{hour}/{name}.json.gz"
    body = gzip.compress(("\n".join(raw) + "\n").encode())
    boto3.client("s3", region_name=REGION).put_object(Bucket=LOG_BUCKET, Key=key, Body=body)
    return key


def s3_connection(tenant: Tenant, **fields: Any) -> AwsConnection:
    return make_connection(tenant, log_bucket=LOG_BUCKET, log_prefix=mf.LOG_PREFIX, **fields)


def s3_run(connection: AwsConnection, **kwargs: Any) -> Any:
    return run(connection, since=S3_SINCE, until=S3_UNTIL, **kwargs)


def test_the_first_s3_sync_loads_what_the_import_command_loads(
    moto: None, tenant: Tenant, other_tenant: Tenant, tmp_path: Path, sync_tmp: Path
) -> None:
    local = s3_delivery(tmp_path)

    result = s3_run(s3_connection(tenant))

    call_command("import_invocation_logs", str(local), tenant=other_tenant.slug, quiet_progress=True)
    assert result.status == "succeeded", result.error
    assert ledger_state(tenant) == ledger_state(other_tenant)
    assert (result.items_fetched, result.rows_loaded) == (2, 3)  # the two hourly objects; not data/ nor the check
    assert sorted(requests(tenant)) == sorted(request_ids([(S3_SINCE, t) for t in lines("s3_delivery.jsonl")]))
    assert result.watermark["s3"]["last_hour"] == "2026/06/03/15"
    assert len(result.watermark["s3"]["done_keys"]) == 2
    assert list(sync_tmp.iterdir()) == []


def test_an_incremental_s3_sync_downloads_only_new_and_late_objects(moto: None, tenant: Tenant, tmp_path: Path) -> None:
    s3_delivery(tmp_path)
    connection = s3_connection(tenant)
    first = s3_run(connection)
    late = put_hour_object("2026/06/03/15", lines("cache_usage.jsonl")[:1], "20260603T155959Z_late")
    new = put_hour_object("2026/06/03/17", lines("cache_usage.jsonl")[1:], "20260603T170102Z_new")
    before = set(requests(tenant))

    second = s3_run(connection, watermark=first.watermark)
    third = s3_run(connection, watermark=second.watermark)

    assert (second.items_fetched, second.rows_loaded) == (2, 3)
    assert set(requests(tenant)) - before == request_ids([(S3_SINCE, t) for t in lines("cache_usage.jsonl")])
    assert second.watermark["s3"]["last_hour"] == "2026/06/03/17"
    assert new in second.watermark["s3"]["done_keys"] and late not in second.watermark["s3"]["done_keys"]
    assert (third.items_fetched, third.rows_loaded) == (0, 0)


def test_an_s3_sync_killed_after_its_first_batch_resumes_to_the_same_ledger(
    moto: None, tenant: Tenant, other_tenant: Tenant, tmp_path: Path
) -> None:
    s3_delivery(tmp_path)
    options = LogOptions(batch_objects=1)
    killed = Checkpoints(fail_after=1)

    with pytest.raises(Killed):
        s3_run(s3_connection(tenant), checkpoint=killed, options=options)
    resumed = s3_run(s3_connection(tenant, name="again"), watermark=killed.last, options=options)
    s3_run(s3_connection(other_tenant), options=options)

    assert killed.last["s3"]["last_hour"] == "2026/06/03/14"
    assert resumed.items_fetched == 1
    assert ledger_state(tenant) == ledger_state(other_tenant)


def test_a_missing_log_bucket_fails_with_the_remedy(moto: None, tenant: Tenant) -> None:
    result = s3_run(s3_connection(tenant))

    assert result.status == "failed"
    assert "NoSuchBucket" in result.error
    assert f"aws s3api head-bucket --bucket {LOG_BUCKET}" in result.remedy


def test_a_denied_log_bucket_fails_with_the_policy_to_add(moto: None, tenant: Tenant) -> None:
    stubbed = boto3.client("s3", region_name=REGION)
    stubber = Stubber(stubbed)
    stubber.add_client_error("list_objects_v2", "AccessDenied", "Access Denied", 403)
    stubber.activate()

    result = s3_run(s3_connection(tenant), wrap=lambda _s, _real: stubbed)

    assert result.status == "failed"
    assert "BedrockFinOpsLogBucketRead" in result.remedy


def test_cloudwatch_failing_while_s3_loads_is_partial(moto: None, tenant: Tenant, tmp_path: Path) -> None:
    s3_delivery(tmp_path)
    connection = s3_connection(tenant, log_group_arn=LOG_GROUP_ARN)  # the group does not exist

    result = s3_run(connection)

    assert result.status == "partial"
    assert result.rows_loaded == 3
    assert result.error.startswith("cloudwatch: ")
    assert "create-log-group" in result.remedy


# --- through the orchestrator ----------------------------------------------------------------------


def test_sync_connection_runs_cur_and_logs_and_a_second_sync_loads_nothing(
    moto: None, tenant: Tenant, tmp_path: Path
) -> None:
    from tests.ingestion.test_import_services import JUNE_ROWS

    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=mf.BUCKET)
    mf.write_cur_export(tmp_path / "cur", sources=[mf.CUR_JUNE_CSV], period="2026-06")
    mf.write_cur_export(tmp_path / "cur", sources=[mf.CUR_MAY_CSV], period="2026-05")
    upload_tree(s3, mf.BUCKET, tmp_path / "cur")
    s3_delivery(tmp_path)
    cloudwatch = redate(lines(*CLEAN[:2]), BASE, timedelta(minutes=3))
    put_events(cloudwatch)
    connection = s3_connection(tenant, log_group_arn=LOG_GROUP_ARN, cur_bucket=mf.BUCKET, cur_prefix=mf.PREFIX,
                               cur_export_name=mf.EXPORT)  # fmt: skip
    window = {"since": datetime(2026, 5, 1, tzinfo=UTC), "until": BASE + timedelta(hours=2)}

    def sync() -> Any:
        return sync_connection(connection, sources=["cur", "logs"], **window,
                               session_factory=lambda _c: boto3.session.Session(region_name=REGION))  # fmt: skip

    first = sync()
    second = sync()

    assert [(r.source, r.account_id, r.region, r.status) for r in first.runs] == [
        ("cur", ACCOUNT, "", "succeeded"),
        ("logs", ACCOUNT, REGION, "succeeded"),
    ], [(r.source, r.error) for r in first.runs]
    assert [r.rows_loaded for r in first.runs] == [JUNE_ROWS + 2, 9 + 3]
    assert [r.rows_loaded for r in second.runs] == [0, 0]
    assert all(r.import_runs for r in first.runs)
    assert len(requests(tenant)) == 12 == len(request_ids(cloudwatch)) + 3
    logs_state = SyncState.objects.get(connection=connection, source="logs", account_id=ACCOUNT, region=REGION)
    assert logs_state.watermark == second.runs[1].watermark_after
    assert set(logs_state.watermark) == {"cloudwatch", "s3"}
    cur_run = SyncRun.objects.get(pk=second.runs[0].pk)
    assert cur_run.details["periods_settled"] == ["2026-05", "2026-06"]  # older than October: imported once
    assert set(cur_run.watermark_before["periods"]) == {"2026-05", "2026-06"}
