"""What the integration itself costs the customer on their AWS bill, per month.

Pure arithmetic over explicit assumptions (estimate_monthly_overhead), and the same from the
account's own volume in the ledger (overhead_for_connection). Prices are us-east-1 list prices."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from django.utils import timezone

if TYPE_CHECKING:
    from connections.models import AwsConnection

CENT = Decimal("0.01")
GB = Decimal(1024**3)  # AWS bills data in binary gigabytes
DAYS_PER_MONTH = 30

GET_METRIC_DATA_PER_1000_METRICS = Decimal("0.01")
LIST_METRICS_PER_1000_REQUESTS = Decimal("0.01")
LOG_INGESTION_PER_GB = Decimal("0.50")
LOG_STORAGE_PER_GB_MONTH = Decimal("0.03")
S3_STANDARD_PER_GB_MONTH = Decimal("0.023")

# The metrics the app requests per model per region on every sync.
METRICS_PER_MODEL = (
    "Invocations",
    "InputTokenCount",
    "OutputTokenCount",
    "CacheReadInputTokenCount",
    "CacheWriteInputTokenCount",
    "InvocationLatency",
    "InvocationClientErrors",
    "InvocationServerErrors",
    "InvocationThrottles",
)


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _dec(value: float | int | Decimal) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def estimate_monthly_overhead(
    *,
    regions: int,
    models: int,
    daily_requests: float,
    avg_log_bytes: int = 2500,
    cur_gb: float = 1.0,
    metrics_per_model: int = len(METRICS_PER_MODEL),
    syncs_per_day: int = 24,
    log_storage_months: float = 0,
) -> dict[str, Any]:
    """Monthly cost of metric requests, log ingestion (and optionally storage) and CUR storage.

    Each line carries its quantity, unit price, cost and the assumption it rests on; the total is the
    sum of the lines' unrounded costs, rounded to the cent."""
    regions = max(int(regions), 0)
    models = max(int(models), 0)
    metric_count = Decimal(regions * models * metrics_per_model * syncs_per_day * DAYS_PER_MONTH)
    list_requests = Decimal(regions * syncs_per_day * DAYS_PER_MONTH)
    log_gb = _dec(daily_requests) * DAYS_PER_MONTH * _dec(avg_log_bytes) / GB
    lines: list[dict[str, Any]] = []

    def add(key: str, label: str, quantity: Decimal, unit: str, price: Decimal, cost: Decimal, assumption: str) -> None:
        lines.append(
            {
                "key": key,
                "label": label,
                "quantity": quantity,
                "unit": unit,
                "unit_price_usd": price,
                "cost_usd": _money(cost),
                "exact_cost_usd": cost,
                "assumption": assumption,
            }
        )

    add(
        "metric_requests",
        "CloudWatch GetMetricData",
        metric_count,
        "metrics requested",
        GET_METRIC_DATA_PER_1000_METRICS,
        metric_count / 1000 * GET_METRIC_DATA_PER_1000_METRICS,
        f"{metrics_per_model} metrics x {models} model(s) x {regions} region(s) x {syncs_per_day} syncs a day x "
        f"{DAYS_PER_MONTH} days, at $0.01 per 1,000 metrics requested.",
    )
    add(
        "list_metrics",
        "CloudWatch ListMetrics",
        list_requests,
        "requests",
        LIST_METRICS_PER_1000_REQUESTS,
        list_requests / 1000 * LIST_METRICS_PER_1000_REQUESTS,
        f"One ListMetrics request per region per sync ({regions} x {syncs_per_day} x {DAYS_PER_MONTH}), "
        f"at $0.01 per 1,000 requests.",
    )
    add(
        "log_ingestion",
        "CloudWatch Logs ingestion (invocation logs)",
        log_gb,
        "GB",
        LOG_INGESTION_PER_GB,
        log_gb * LOG_INGESTION_PER_GB,
        f"{daily_requests:,.0f} requests a day x {DAYS_PER_MONTH} days x {avg_log_bytes:,} bytes per record "
        f"(metadata only), at $0.50 per GB ingested.",
    )
    if log_storage_months:
        stored = log_gb * _dec(log_storage_months)
        add(
            "log_storage",
            "CloudWatch Logs storage",
            stored,
            "GB-month",
            LOG_STORAGE_PER_GB_MONTH,
            stored * LOG_STORAGE_PER_GB_MONTH,
            f"{log_storage_months} month(s) of logs kept, uncompressed size as an upper bound, at $0.03 per GB-month.",
        )
    cur = _dec(cur_gb)
    add(
        "cur_storage",
        "S3 storage of the CUR 2.0 export",
        cur,
        "GB-month",
        S3_STANDARD_PER_GB_MONTH,
        cur * S3_STANDARD_PER_GB_MONTH,
        f"{cur_gb} GB of export files kept in S3 Standard, at $0.023 per GB-month.",
    )
    total = sum((line["exact_cost_usd"] for line in lines), Decimal(0))
    return {
        "lines": lines,
        "total_usd": _money(total),
        "inputs": {
            "regions": regions,
            "models": models,
            "daily_requests": daily_requests,
            "avg_log_bytes": avg_log_bytes,
            "cur_gb": cur_gb,
            "metrics_per_model": metrics_per_model,
            "syncs_per_day": syncs_per_day,
            "log_storage_months": log_storage_months,
        },
    }


def overhead_for_connection(connection: AwsConnection, **assumptions: Any) -> dict[str, Any]:
    """The estimate from the account's last 30 days in the ledger (read-only) and the connection's regions."""
    from django.db.models import Sum

    from finops.ledger.selectors import ReportFilter, spend_events

    today = timezone.now().date()
    window = ReportFilter(start=today - timedelta(days=DAYS_PER_MONTH), end=today - timedelta(days=1))
    events = spend_events(tenant=connection.tenant, filters=window).filter(account_id=connection.account_id)
    # Request rows and metric buckets count the same calls: take requests from the logs when
    # there are any, else from the metrics, never both.
    requests = events.filter(record_kind="request").aggregate(n=Sum("requests"))["n"] or 0
    if not requests:
        requests = events.filter(record_kind="metric").aggregate(n=Sum("requests"))["n"] or 0
    models = events.exclude(model_id="").values("model_id").distinct().count()
    # Only the sources this connection uses cost anything: no CUR bucket, no CUR storage; logs
    # delivered to S3 only are not ingested into CloudWatch Logs.
    if not connection.cur_bucket:
        assumptions.setdefault("cur_gb", 0)
    if not connection.log_group_arn:
        assumptions.setdefault("avg_log_bytes", 0)
    result = estimate_monthly_overhead(
        regions=len(connection.regions or []) or 1,
        models=models,
        daily_requests=requests / DAYS_PER_MONTH,
        **assumptions,
    )
    result["inputs"]["window"] = f"{window.start} to {window.end}"
    result["inputs"]["requests_in_window"] = requests
    return result
