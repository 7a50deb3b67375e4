"""The integration's own monthly AWS cost, computed by hand from the same assumptions."""

from __future__ import annotations

import itertools
from datetime import UTC, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from connections.models import AwsConnection, Tenant
from connections.overhead import estimate_monthly_overhead, overhead_for_connection
from finops.ledger.models import SpendEvent
from tests.factories import ledger_row

_keys = itertools.count()


def lines(result: dict[str, Any]) -> dict[str, Decimal]:
    return {line["key"]: line["cost_usd"] for line in result["lines"]}


def test_a_busy_account_costs_what_the_list_prices_say():
    result = estimate_monthly_overhead(regions=3, models=5, daily_requests=1_000_000, avg_log_bytes=2500, cur_gb=10)

    # metrics: 3 regions x 5 models x 9 metrics x 24 syncs x 30 days = 97,200 metrics -> $0.972
    # ListMetrics: 3 x 24 x 30 = 2,160 requests -> $0.0216
    # logs: 1,000,000 x 30 x 2,500 B = 75e9 B = 69.8491930962 GiB x $0.50 = $34.9245965481
    # CUR: 10 GB x $0.023 = $0.23
    assert lines(result) == {
        "metric_requests": Decimal("0.97"),
        "list_metrics": Decimal("0.02"),
        "log_ingestion": Decimal("34.92"),
        "cur_storage": Decimal("0.23"),
    }
    assert result["total_usd"] == Decimal("36.15")  # 36.1481965481, not the sum of rounded lines
    metric_line = result["lines"][0]
    assert metric_line["quantity"] == Decimal(97_200)
    assert "9 metrics x 5 model(s) x 3 region(s) x 24 syncs a day x 30 days" in metric_line["assumption"]
    assert all(isinstance(line["cost_usd"], Decimal) and line["assumption"] for line in result["lines"])


def test_log_storage_is_counted_only_when_asked():
    without = estimate_monthly_overhead(regions=1, models=1, daily_requests=1_000_000)
    with_storage = estimate_monthly_overhead(regions=1, models=1, daily_requests=1_000_000, log_storage_months=3)

    assert "log_storage" not in lines(without)
    # 69.8491930962 GiB a month x 3 months x $0.03 = $6.2864273787
    assert lines(with_storage)["log_storage"] == Decimal("6.29")


def test_the_assumptions_are_parameters():
    result = estimate_monthly_overhead(
        regions=1, models=2, daily_requests=0, metrics_per_model=4, syncs_per_day=96, cur_gb=0
    )

    # 1 x 2 x 4 x 96 x 30 = 23,040 metrics -> $0.2304; 96 x 30 = 2,880 ListMetrics -> $0.0288
    assert lines(result) == {
        "metric_requests": Decimal("0.23"),
        "list_metrics": Decimal("0.03"),
        "log_ingestion": Decimal("0.00"),
        "cur_storage": Decimal("0.00"),
    }
    assert result["total_usd"] == Decimal("0.26")


def event(tenant: Tenant, *, days_ago: int, requests: int, kind: str = "request", **fields: Any) -> SpendEvent:
    start = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=days_ago)
    values: dict[str, Any] = {"account_id": "111122223333", "model_id": "amazon.nova-lite-v1:0"}
    values.update(fields)
    return ledger_row(
        tenant=tenant,
        record_kind=kind,
        cost_basis="estimated",
        dedupe_key=f"overhead:{next(_keys)}",
        usage_start=start,
        usage_end=start,
        usage_date=start.astimezone(UTC).date(),
        billing_period=start.date().replace(day=1),
        requests=requests,
        **values,
    )


def connection(tenant: Tenant, **fields: Any) -> AwsConnection:
    values: dict[str, Any] = {
        "cur_bucket": "acme-cur",
        "cur_export_name": "bedrock-cur2",
        "log_group_arn": "arn:aws:logs:us-east-1:111122223333:log-group:/aws/bedrock/invocations",
    }
    values.update(fields)
    return AwsConnection.objects.create(
        tenant=tenant, name="prod", account_id="111122223333", regions=["us-east-1", "us-west-2"], **values
    )


def test_the_connection_estimate_reads_the_accounts_last_30_days(tenant: Tenant, other_tenant: Tenant):
    conn = connection(tenant)
    event(tenant, days_ago=1, requests=100)
    event(tenant, days_ago=5, requests=200, model_id="anthropic.claude-sonnet-4-6")
    event(tenant, days_ago=29, requests=300)
    event(tenant, days_ago=2, requests=9_000, kind="metric")  # the same calls counted by CloudWatch
    event(tenant, days_ago=45, requests=50_000)  # outside the window
    event(tenant, days_ago=1, requests=70_000, account_id="999988887777")  # another account
    event(other_tenant, days_ago=1, requests=80_000)  # another tenant

    result = overhead_for_connection(conn)

    # 600 requests / 30 days = 20 a day; 2 models; 2 regions.
    # metrics 2 x 2 x 9 x 24 x 30 = 25,920 -> $0.2592; ListMetrics 1,440 -> $0.0144;
    # logs 20 x 30 x 2,500 B = 1.5e6 B -> $0.0006985; CUR 1 GB -> $0.023; total $0.2972985
    assert result["inputs"]["requests_in_window"] == 600
    assert result["inputs"]["daily_requests"] == 20
    assert result["inputs"]["models"] == 2
    assert result["inputs"]["regions"] == 2
    assert result["total_usd"] == Decimal("0.30")
    assert lines(result)["metric_requests"] == Decimal("0.26")


def test_metric_buckets_count_when_there_are_no_request_rows(tenant: Tenant):
    conn = connection(tenant)
    event(tenant, days_ago=3, requests=3_000, kind="metric")

    result = overhead_for_connection(conn)

    assert result["inputs"]["requests_in_window"] == 3_000
    assert result["inputs"]["daily_requests"] == 100


def test_sources_the_connection_does_not_use_cost_nothing(tenant: Tenant):
    conn = connection(tenant, cur_bucket="", cur_export_name="", log_group_arn="")
    event(tenant, days_ago=1, requests=600)

    result = overhead_for_connection(conn)

    # No CUR bucket: no CUR storage; no log group (logs to S3 only or none): no CloudWatch Logs ingestion.
    assert lines(result)["cur_storage"] == Decimal("0.00")
    assert lines(result)["log_ingestion"] == Decimal("0.00")
    # 1 model, 2 regions: 1 x 2 x 9 x 24 x 30 = 12,960 metrics -> $0.1296; ListMetrics 1,440 -> $0.0144
    assert result["total_usd"] == Decimal("0.14")
