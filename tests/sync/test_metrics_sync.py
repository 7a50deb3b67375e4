"""The CloudWatch metrics source: AWS/Bedrock hourly metrics per ModelId into one ledger row per account,
region, model and hour, read in moto's CloudWatch. Expected numbers are summed from the datapoints the tests
put, not read back from the code."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from connections import aws
from connections.models import AwsConnection, Tenant
from finops.dashboards.selectors import overview
from finops.explorer.query import ExplorerQuery
from finops.explorer.selectors import daily_costs, data_dates, explore, first_dates
from finops.ledger.chargeback import chargeback
from finops.ledger.models import SpendEvent
from finops.ledger.rollups import rollup_check
from finops.ledger.selectors import spend_report
from ingestion.models import SyncRun, SyncState
from ingestion.services import import_cur, import_invocation_logs
from ingestion.sync.base import Target
from ingestion.sync.metrics import HOUR, METRICS, get_metric_data, metric_queries, sync_metrics
from ingestion.sync.services import sync_connection
from recommendations.selectors import latest_usage_date as recommendations_latest
from tests.ingestion import malformed as bad

ACCOUNT = "111122223333"
REGION = "us-east-1"
NOVA = "amazon.nova-lite-v1:0"
SONNET_GEO = "us.anthropic.claude-sonnet-4-6"
PROFILE = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:application-inference-profile/zz9unknown01"
UNTIL = datetime(2026, 6, 5, 12, 40, tzinfo=UTC)  # the hour from 12:00 is incomplete: never stored
# Every metric but the latency is a count, summed over the hour; the latency is averaged.
SUMMED = {
    "Invocations",
    "InputTokenCount",
    "OutputTokenCount",
    "CacheReadInputTokenCount",
    "CacheWriteInputTokenCount",
    "InvocationThrottles",
    "InvocationClientErrors",
    "InvocationServerErrors",
    "LegacyModelInvocations",
}


@pytest.fixture
def cloudwatch(settings: Any) -> Iterator[boto3.session.Session]:
    settings.FINOPS_AWS_REGION = REGION
    aws.clear_credential_cache()
    with mock_aws():
        yield boto3.session.Session(region_name=REGION)
    aws.clear_credential_cache()


@pytest.fixture
def connection(tenant: Tenant) -> AwsConnection:
    return AwsConnection.objects.create(
        tenant=tenant, name="prod", account_id=ACCOUNT, role_arn=f"arn:aws:iam::{ACCOUNT}:role/finops", regions=[REGION]
    )


class Datapoints:
    """What the test put into CloudWatch, kept to compute the expected rows independently."""

    def __init__(self, session: boto3.session.Session) -> None:
        self.client = session.client("cloudwatch", region_name=REGION)
        self.points: list[tuple[str, str, datetime, float]] = []

    def put(self, model: str, metric: str, at: datetime, value: float) -> None:
        self.client.put_metric_data(
            Namespace="AWS/Bedrock",
            MetricData=[{"MetricName": metric, "Dimensions": [{"Name": "ModelId", "Value": model}], "Value": value,
                         "Timestamp": at}],
        )  # fmt: skip
        self.points.append((model, metric, at, value))

    def hour(self, model: str, at: datetime, *, calls: int, tokens_in: int, tokens_out: int, latency: list[float],
             throttles: int = 0) -> None:  # fmt: skip
        """One model's hour: the calls split in two datapoints (CloudWatch sums them), latencies averaged."""
        self.put(model, "Invocations", at, calls - calls // 3)
        self.put(model, "Invocations", at + timedelta(minutes=20), calls // 3)
        self.put(model, "InputTokenCount", at, tokens_in)
        self.put(model, "OutputTokenCount", at + timedelta(minutes=5), tokens_out)
        self.put(model, "CacheReadInputTokenCount", at, tokens_in // 10)
        for n, value in enumerate(latency):
            self.put(model, "InvocationLatency", at + timedelta(minutes=n), value)
        if throttles:
            self.put(model, "InvocationThrottles", at, throttles)

    def expected(self, start: datetime, end: datetime) -> dict[tuple[str, datetime], dict[str, float]]:
        out: dict[tuple[str, datetime], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        for model, metric, at, value in self.points:
            hour = at.replace(minute=0, second=0, microsecond=0)
            if start <= hour < end:
                out[(model, hour)][metric].append(value)
        return {
            key: {m: (sum(v) if m in SUMMED else sum(v) / len(v)) for m, v in metrics.items()}
            for key, metrics in out.items()
        }


def target(connection: AwsConnection, session: boto3.session.Session) -> Target:
    return Target(connection=connection, account_id=ACCOUNT, region=REGION, session=session)


def run(connection: AwsConnection, session: boto3.session.Session, *, watermark: dict | None = None,
        since: datetime | None = None, until: datetime = UNTIL) -> tuple[Any, list[dict]]:  # fmt: skip
    saved: list[dict] = []
    result = sync_metrics(
        target(connection, session),
        watermark=watermark or {},
        since=since or until - timedelta(days=90),
        until=until,
        checkpoint=saved.append,
        say=lambda _: None,
    )
    return result, saved


def metric_rows(tenant: Tenant) -> dict[tuple[str, datetime], SpendEvent]:
    rows = SpendEvent.objects.filter(tenant=tenant, record_kind="metric")
    return {(e.model_ref or e.inference_profile_arn or _raw(e), e.usage_start): e for e in rows}


def _raw(event: SpendEvent) -> str:
    return {"amazon.nova-lite-v1:0": NOVA, "anthropic.claude-sonnet-4-6": SONNET_GEO}.get(
        event.model_id, event.model_id
    )


def assert_rows_match(tenant: Tenant, expected: dict[tuple[str, datetime], dict[str, float]]) -> None:
    rows = metric_rows(tenant)
    assert set(rows) == set(expected)
    for key, metrics in expected.items():
        row = rows[key]
        assert row.requests == round(metrics.get("Invocations", 0))
        assert row.input_tokens == round(metrics.get("InputTokenCount", 0))
        assert row.output_tokens == round(metrics.get("OutputTokenCount", 0))
        assert row.cache_read_tokens == round(metrics.get("CacheReadInputTokenCount", 0))
        assert row.latency_ms == (round(metrics["InvocationLatency"]) if "InvocationLatency" in metrics else None)
        throttles = metrics.get("InvocationThrottles")
        assert row.tags.get("cloudwatch/InvocationThrottles") == (None if throttles is None else str(round(throttles)))
        assert row.usage_end == row.usage_start + HOUR
        assert (row.cost_usd, row.unpriced, row.cost_basis, row.allocated_cost_usd) == (None, False, "", None)


@pytest.fixture
def week(cloudwatch: boto3.session.Session) -> Datapoints:
    """Two days of hourly data for three model ids, and data in the incomplete hour."""
    points = Datapoints(cloudwatch)
    day = datetime(2026, 6, 4, tzinfo=UTC)
    for h in range(0, 36, 5):
        at = day + timedelta(hours=h, minutes=7)
        points.hour(NOVA, at, calls=30 + h, tokens_in=1000 * h + 17, tokens_out=300 + h, latency=[400, 650.5])
        points.hour(SONNET_GEO, at, calls=9, tokens_in=5000, tokens_out=800, latency=[2100], throttles=h % 3)
    points.hour(PROFILE, day + timedelta(hours=3), calls=4, tokens_in=40, tokens_out=4, latency=[90])
    points.hour(NOVA, UNTIL.replace(minute=1), calls=99, tokens_in=99, tokens_out=99, latency=[1])  # incomplete hour
    return points


def test_a_first_sync_stores_one_row_per_model_and_complete_hour(tenant: Tenant, connection, cloudwatch, week) -> None:
    result, saved = run(connection, cloudwatch)

    end = UNTIL.replace(minute=0)
    expected = week.expected(UNTIL - timedelta(days=90), end)
    assert result.status == "succeeded", result.error
    assert result.rows_loaded == len(expected) == len(metric_rows(tenant))
    assert_rows_match(tenant, expected)
    assert (NOVA, end) not in metric_rows(tenant)  # the current hour waits for the next sync
    assert saved[-1] == result.watermark == {"last_hour": "2026-06-05T11:00:00Z"}
    assert rollup_check(tenant_id=tenant.pk) == []


def test_model_ids_resolve_through_the_catalog_like_the_logs(tenant: Tenant, connection, cloudwatch, week) -> None:
    run(connection, cloudwatch)

    rows = SpendEvent.objects.filter(tenant=tenant, record_kind="metric")
    sonnet = rows.filter(model_id="anthropic.claude-sonnet-4-6").first()
    assert sonnet is not None and (sonnet.route, sonnet.model_ref, sonnet.model_provider) == ("geo", "", "Anthropic")
    unknown = rows.get(inference_profile_arn=PROFILE)
    assert (unknown.model_id, unknown.model_ref) == ("", PROFILE)
    assert set(rows.values_list("account_id", "region", "connection_id").distinct()) == {
        (ACCOUNT, REGION, connection.pk)
    }


def test_an_incremental_sync_reads_only_new_hours_and_the_overlap(tenant: Tenant, connection, cloudwatch, week) -> None:
    first, _ = run(connection, cloudwatch)
    before = {key: row.pk for key, row in metric_rows(tenant).items()}
    later = UNTIL + timedelta(hours=6)
    week.hour(NOVA, datetime(2026, 6, 5, 15, 2, tzinfo=UTC), calls=5, tokens_in=50, tokens_out=5, latency=[300])

    second, saved = run(connection, cloudwatch, watermark=first.watermark, until=later)

    assert second.details["from"] == "2026-06-05T09:00:00Z"  # the three hours before the watermark's next
    assert saved[-1] == {"last_hour": "2026-06-05T17:00:00Z"}
    assert_rows_match(tenant, week.expected(UNTIL - timedelta(days=90), later.replace(minute=0)))
    after = metric_rows(tenant)
    overlap_start = datetime(2026, 6, 5, 9, tzinfo=UTC)
    untouched = {key: pk for key, pk in before.items() if key[1] < overlap_start}
    assert untouched and all(after[key].pk == pk for key, pk in untouched.items())
    # the overlap (09:00 to 12:00 of the 5th) was read again; the 12:00 hour, incomplete before, is now stored
    assert second.rows_loaded == sum(1 for key in after if key[1] >= overlap_start)
    assert (NOVA, datetime(2026, 6, 5, 12, tzinfo=UTC)) in after
    assert rollup_check(tenant_id=tenant.pk) == []


def test_a_reread_hour_whose_values_changed_is_replaced_not_doubled(
    tenant: Tenant, connection, cloudwatch, week
) -> None:
    first, _ = run(connection, cloudwatch)
    hour = datetime(2026, 6, 5, 11, tzinfo=UTC)  # inside the overlap of the next sync
    old = metric_rows(tenant)[(NOVA, hour)]
    week.put(NOVA, "Invocations", hour + timedelta(minutes=50), 11)  # late datapoints
    week.put(NOVA, "OutputTokenCount", hour + timedelta(minutes=51), 1000)

    second, _ = run(connection, cloudwatch, watermark=first.watermark)

    rows = SpendEvent.objects.filter(tenant=tenant, record_kind="metric", usage_start=hour, model_id=old.model_id)
    assert rows.count() == 1
    expected = week.expected(hour, hour + HOUR)[(NOVA, hour)]
    assert rows.get().requests == old.requests + 11 == expected["Invocations"]
    assert rows.get().output_tokens == old.output_tokens + 1000
    assert second.details["rows_replaced"] == second.rows_loaded  # every re-read row replaced one
    assert rollup_check(tenant_id=tenant.pk) == []
    assert_rows_match(tenant, week.expected(UNTIL - timedelta(days=90), UNTIL.replace(minute=0)))


def test_syncing_the_same_window_twice_changes_nothing(tenant: Tenant, connection, cloudwatch, week) -> None:
    run(connection, cloudwatch)
    first = {key: (r.requests, r.input_tokens, r.latency_ms) for key, r in metric_rows(tenant).items()}

    run(connection, cloudwatch)  # no watermark: the whole window again

    assert {key: (r.requests, r.input_tokens, r.latency_ms) for key, r in metric_rows(tenant).items()} == first
    assert rollup_check(tenant_id=tenant.pk) == []


def test_the_orchestrator_runs_it_and_keeps_the_watermark(tenant: Tenant, connection, cloudwatch, week) -> None:
    report = sync_connection(connection, sources=["metrics"], until=UNTIL, session_factory=lambda _c: cloudwatch)

    [metric_run] = report.runs
    assert metric_run.status == SyncRun.Status.SUCCEEDED, metric_run.error
    assert metric_run.rows_loaded == len(week.expected(UNTIL - timedelta(days=90), UNTIL.replace(minute=0)))
    state = SyncState.objects.get(connection=connection, source="metrics", account_id=ACCOUNT, region=REGION)
    assert state.watermark == {"last_hour": "2026-06-05T11:00:00Z"}


# --- errors and paging (botocore's Stubber: moto answers neither) --------------------------------------------


class StubbedTarget(Target):
    stubbed: Any = None

    def client(self, service: str, region: str | None = None) -> Any:
        return self.stubbed


def stubbed(connection: AwsConnection) -> tuple[StubbedTarget, Stubber]:
    client = boto3.client("cloudwatch", region_name=REGION)
    tgt = StubbedTarget(connection=connection, account_id=ACCOUNT, region=REGION, session=boto3.session.Session())
    tgt.stubbed = client
    return tgt, Stubber(client)


def test_access_denied_fails_with_the_cloudwatch_permission_remedy(tenant: Tenant, connection) -> None:
    tgt, stub = stubbed(connection)
    stub.add_client_error("list_metrics", service_error_code="AccessDenied", http_status_code=403)
    with stub:
        result = sync_metrics(tgt, watermark={"last_hour": "2026-06-01T00:00:00Z"}, since=UNTIL - timedelta(days=9),
                              until=UNTIL, checkpoint=lambda _: None, say=lambda _: None)  # fmt: skip

    assert result.status == "failed"
    assert "AccessDenied" in result.error and ACCOUNT in result.error
    assert "BedrockFinOpsCloudWatchRead" in result.remedy and "cloudwatch:GetMetricData" in result.remedy
    assert result.watermark == {"last_hour": "2026-06-01T00:00:00Z"}  # kept: nothing was read
    assert not SpendEvent.objects.filter(tenant=tenant).exists()


def test_get_metric_data_denied_after_listing_also_fails_with_the_remedy(tenant: Tenant, connection) -> None:
    tgt, stub = stubbed(connection)
    stub.add_response("list_metrics", {"Metrics": [{"Namespace": "AWS/Bedrock", "MetricName": "Invocations",
                                                   "Dimensions": [{"Name": "ModelId", "Value": NOVA}]}]})  # fmt: skip
    stub.add_client_error("get_metric_data", service_error_code="AccessDenied", http_status_code=403)
    with stub:
        result = sync_metrics(tgt, watermark={}, since=UNTIL - timedelta(days=2), until=UNTIL,
                              checkpoint=lambda _: None, say=lambda _: None)  # fmt: skip

    assert (result.status, result.rows_loaded) == ("failed", 0)
    assert "cloudwatch:GetMetricData" in result.error and "BedrockFinOpsCloudWatchRead" in result.remedy


def test_queries_are_sent_500_at_a_time_and_next_token_pages_are_followed() -> None:
    models = [f"vendor.model-{n}" for n in range(51)]  # 51 x 10 metrics = 510 queries: two calls
    queries, index = metric_queries(models)
    assert len(queries) == 51 * len(METRICS) and len(index) == len(queries)
    client = boto3.client("cloudwatch", region_name=REGION)
    start, end = datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 2, tzinfo=UTC)
    t1, t2 = start + timedelta(hours=1), start + timedelta(hours=2)
    with Stubber(client) as stub:
        stub.add_response(
            "get_metric_data",
            {"MetricDataResults": [{"Id": "m0_0", "Timestamps": [t1], "Values": [3.0], "StatusCode": "PartialData"}],
             "NextToken": "page-2"},
            {"MetricDataQueries": queries[:500], "StartTime": start, "EndTime": end, "ScanBy": "TimestampAscending"},
        )  # fmt: skip
        stub.add_response(
            "get_metric_data",
            {"MetricDataResults": [{"Id": "m0_0", "Timestamps": [t2], "Values": [4.0], "StatusCode": "Complete"}]},
            {"MetricDataQueries": queries[:500], "StartTime": start, "EndTime": end, "ScanBy": "TimestampAscending",
             "NextToken": "page-2"},
        )  # fmt: skip
        stub.add_response(
            "get_metric_data",
            {"MetricDataResults": [{"Id": "m50_0", "Timestamps": [t1], "Values": [7.0], "StatusCode": "Complete"}]},
            {"MetricDataQueries": queries[500:], "StartTime": start, "EndTime": end, "ScanBy": "TimestampAscending"},
        )  # fmt: skip
        results = get_metric_data(client, queries, start, end)
        stub.assert_no_pending_responses()

    assert results["m0_0"] == ([t1, t2], [3.0, 4.0])
    assert results["m50_0"] == ([t1], [7.0])


# --- metric rows change no figure that is shown -----------------------------------------------------------------


@pytest.fixture
def spend(tenant: Tenant, tmp_path: Path) -> Tenant:
    """June 2026: invocation-log requests and the CUR bill, reconciled (account 123456789012)."""
    logs = tmp_path / "logs.jsonl"
    logs.write_bytes(bad.jsonl_bytes(bad.good_log_records()))
    import_invocation_logs(tenant=tenant, paths=[logs])
    import_cur(tenant=tenant, paths=[bad.write_cur(tmp_path / "june.csv", bad.bedrock_rows())])
    return tenant


def shown(tenant: Tenant) -> dict[str, Any]:
    """Every dollar figure and request count the pages, reports and recommenders read."""
    june = (date(2026, 6, 1), date(2026, 6, 30))
    out: dict[str, Any] = {
        "overview": overview(tenant=tenant),  # its default range ends at the latest data
        "overview_june": overview(tenant=tenant, start=june[0], end=june[1]),
        "data_dates": data_dates(tenant),
        "first_dates": first_dates(tenant),
        "chargeback": chargeback(tenant=tenant, period=june[0], fields=["team", "account_id", "model_id"]),
        "report": spend_report(tenant=tenant, group_by=["model_id", "account_id", "record_kind"]),
        "report_total": spend_report(tenant=tenant, group_by=[]),
        "recommendations_as_of": recommendations_latest(tenant=tenant),
    }
    for basis in ("billed", "estimated", "allocated"):
        for group_by in (("model",), ("account", "record_kind"), ()):
            query = ExplorerQuery(start=june[0], end=june[1], group_by=group_by, basis=basis)
            out[f"explore {basis} {group_by}"] = explore(tenant, query)
        out[f"daily {basis}"] = daily_costs(tenant, ExplorerQuery(*june, basis=basis), start=june[0], end=june[1])
    return out


def test_metric_rows_change_no_dollar_figure_or_request_count(
    spend: Tenant, connection, cloudwatch: boto3.session.Session
) -> None:
    before = shown(spend)
    assert before["overview_june"].billed_cost_usd > 0 and before["overview_june"].requests > 0
    points = Datapoints(cloudwatch)
    for at in (datetime(2026, 6, 3, 14, 5, tzinfo=UTC), datetime(2026, 6, 20, 9, 0, tzinfo=UTC)):  # and a later day
        points.hour(SONNET_GEO, at, calls=500, tokens_in=90_000, tokens_out=20_000, latency=[1800], throttles=2)
        points.hour(NOVA, at, calls=70, tokens_in=7_000, tokens_out=700, latency=[300])
        points.hour(PROFILE, at, calls=5, tokens_in=50, tokens_out=5, latency=[90])

    result, _ = run(connection, cloudwatch, until=datetime(2026, 6, 21, tzinfo=UTC))

    assert result.rows_loaded == 6 and SpendEvent.objects.filter(tenant=spend, record_kind="metric").count() == 6
    after = shown(spend)
    for name, value in before.items():
        assert after[name] == value, name
    assert rollup_check(tenant_id=spend.pk) == []
