"""CloudWatch `AWS/Bedrock` metrics, hourly, per ModelId: one ledger row (record_kind "metric") per account,
region, model and hour.

Metric rows count calls and tokens; they carry no dollars (cost_usd None, not unpriced) and no cost basis
(blank: neither billed nor estimated), and the pages' and reports' sums leave them out, because the same
calls are counted again by the invocation logs and billed by the CUR. They tell how much a model was used
where logging is off (the sync's silent-logs check, the overhead estimate).

CloudWatch revises recent hours as late data arrives, so each sync re-reads the last OVERLAP before its
watermark and the rows of a re-read window are replaced (deleted and inserted again, the daily rollup moved
with them, in one transaction), never added twice. The current, incomplete hour is not stored."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Q

from connections.aws import AwsError, aws_errors
from connections.diagnostics import remedy_for
from finops.ledger.catalog import Catalog, CatalogModel
from finops.ledger.models import SpendEvent
from finops.ledger.rollups import RAW_FIELDS, rollup_apply
from finops.ledger.selectors import catalog_load
from ingestion.loader import insert_events
from ingestion.sync.base import Checkpoint, Progress, SourceResult, Target, iso, parse_iso, utc
from ingestion.validation import validate_event

NAMESPACE = "AWS/Bedrock"
DIMENSION = "ModelId"
PERIOD_SECONDS = 3600
HOUR = timedelta(hours=1)
OVERLAP = timedelta(hours=3)  # the last three hours read are read again (CloudWatch late data)
MAX_QUERIES = 500  # GetMetricData's limit per call
CHUNK = timedelta(days=7)  # hours read and committed together (500 queries x 168 hours < 100,800 datapoints)
TAG_PREFIX = "cloudwatch/"
# (metric, statistic, where it goes: a ledger column, or a `cloudwatch/<metric>` entry of `tags`, as the
# ledger has no column for these counts).
METRICS: tuple[tuple[str, str, str], ...] = (
    ("Invocations", "Sum", "requests"),
    ("InputTokenCount", "Sum", "input_tokens"),
    ("OutputTokenCount", "Sum", "output_tokens"),
    ("CacheReadInputTokenCount", "Sum", "cache_read_tokens"),
    ("CacheWriteInputTokenCount", "Sum", "cache_write_tokens"),
    ("InvocationLatency", "Average", "latency_ms"),
    ("InvocationThrottles", "Sum", TAG_PREFIX + "InvocationThrottles"),
    ("InvocationClientErrors", "Sum", TAG_PREFIX + "InvocationClientErrors"),
    ("InvocationServerErrors", "Sum", TAG_PREFIX + "InvocationServerErrors"),
    ("LegacyModelInvocations", "Sum", TAG_PREFIX + "LegacyModelInvocations"),
)
LABELS = {"model_ref": "ModelId dimension", "inference_profile_arn": "ModelId dimension", "tags": "metric counts"}


# --- pure parts -----------------------------------------------------------------------------------


def floor_hour(value: datetime) -> datetime:
    return utc(value).astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def read_window(watermark: dict[str, Any], since: datetime, until: datetime) -> tuple[datetime, datetime]:
    """[start, end) in whole hours: from `since`, or from OVERLAP before the hour after the watermark's last
    hour when that is later; to the start of the current (incomplete) hour."""
    start, end = floor_hour(since), floor_hour(until)
    last = parse_iso(watermark.get("last_hour"))
    if last is not None:
        start = max(start, floor_hour(last) + HOUR - OVERLAP)
    return start, end


def chunks(start: datetime, end: datetime, size: timedelta = CHUNK) -> list[tuple[datetime, datetime]]:
    out = []
    while start < end:
        out.append((start, min(start + size, end)))
        start += size
    return out


def model_key_prefix(account_id: str, region: str, model_ref: str) -> str:
    digest = hashlib.sha256(f"{account_id}|{region}|{model_ref}".encode("utf-8", "surrogatepass")).hexdigest()
    return f"cwm:{digest[:40]}:"


def metric_dedupe_key(account_id: str, region: str, model_ref: str, hour: datetime) -> str:
    """One key per account, region, ModelId and hour (the prefix finds a model's rows in a window)."""
    return model_key_prefix(account_id, region, model_ref) + f"{hour:%Y%m%d%H}"


def metric_queries(model_refs: list[str]) -> tuple[list[dict[str, Any]], dict[str, tuple[str, str]]]:
    """GetMetricData queries for every model and metric, and query id -> (model, destination)."""
    queries: list[dict[str, Any]] = []
    index: dict[str, tuple[str, str]] = {}
    for m, model_ref in enumerate(model_refs):
        for k, (metric, stat, destination) in enumerate(METRICS):
            query_id = f"m{m}_{k}"
            index[query_id] = (model_ref, destination)
            queries.append(
                {
                    "Id": query_id,
                    "MetricStat": {
                        "Metric": {
                            "Namespace": NAMESPACE,
                            "MetricName": metric,
                            "Dimensions": [{"Name": DIMENSION, "Value": model_ref}],
                        },
                        "Period": PERIOD_SECONDS,
                        "Stat": stat,
                    },
                    "ReturnData": True,
                }
            )
    return queries, index


def _model_fields(model: CatalogModel | None) -> dict[str, str]:
    if model is None:
        return {"model_id": "", "model_family": "", "model_tier": "", "model_provider": ""}
    return {"model_id": model.model_id, "model_family": model.family, "model_tier": model.tier,
            "model_provider": model.provider}  # fmt: skip


def _count(value: float) -> int:
    return max(0, int(round(value)))


def metric_row(
    *,
    model_ref: str,
    hour: datetime,
    values: dict[str, float],
    account_id: str,
    region: str,
    catalog: Catalog,
    connection_id: int | None,
    float_storage: bool = False,
) -> dict[str, Any]:
    """The ledger row of one model's hour (`values`: destination -> datapoint). ValueError when a value
    cannot be stored (see ingestion.validation)."""
    ref = catalog.resolve_model_id(model_ref)
    fields: dict[str, Any] = {
        "record_kind": SpendEvent.RecordKind.METRIC.value,
        "cost_basis": "",  # no dollars: neither billed nor estimated
        "source": "bedrock",
        "dedupe_key": metric_dedupe_key(account_id, region, model_ref, hour),
        "connection_id": connection_id,
        "usage_start": hour,
        "usage_end": hour + HOUR,
        "usage_date": hour.date(),
        "billing_period": hour.date().replace(day=1),
        "account_id": account_id,
        "region": region,
        "route": ref.route,
        "model_ref": "" if ref.model else model_ref,
        "inference_profile_arn": ref.inference_profile_arn,
        "service_tier": "provisioned" if ref.provisioned else "standard",
        "cost_usd": None,
        "unpriced": False,
        "tags": {},
        **_model_fields(ref.model),
    }
    for destination, value in values.items():
        if destination.startswith(TAG_PREFIX):
            fields["tags"][destination] = str(_count(value))
        elif destination == "latency_ms":
            fields["latency_ms"] = _count(value)
        else:
            fields[destination] = _count(value)
    return validate_event(fields, labels=LABELS, float_storage=float_storage)


@dataclass
class Built:
    rows: list[dict[str, Any]] = field(default_factory=list)
    datapoints: int = 0
    rejected: list[str] = field(default_factory=list)


def metric_rows(
    results: dict[str, tuple[list[datetime], list[float]]],
    index: dict[str, tuple[str, str]],
    *,
    account_id: str,
    region: str,
    catalog: Catalog,
    connection_id: int | None,
    float_storage: bool = False,
) -> Built:
    """GetMetricData results (query id -> timestamps, values) -> one row per model and hour with any data."""
    hours: dict[tuple[str, datetime], dict[str, float]] = {}
    built = Built()
    for query_id, (timestamps, values) in results.items():
        model_ref, destination = index[query_id]
        for timestamp, value in zip(timestamps, values, strict=True):
            built.datapoints += 1
            hours.setdefault((model_ref, floor_hour(timestamp)), {})[destination] = value
    for (model_ref, hour), values in sorted(hours.items(), key=lambda item: (item[0][1], item[0][0])):
        try:
            built.rows.append(
                metric_row(model_ref=model_ref, hour=hour, values=values, account_id=account_id, region=region,
                           catalog=catalog, connection_id=connection_id, float_storage=float_storage)
            )  # fmt: skip
        except ValueError as exc:
            built.rejected.append(f"{model_ref[:200]} {hour:%Y-%m-%d %H:00}: {exc}")
    return built


# --- CloudWatch -----------------------------------------------------------------------------------


def list_model_refs(client: Any) -> list[str]:
    """The ModelId values of AWS/Bedrock metrics (ListMetrics knows those with data in the last two weeks)."""
    found: set[str] = set()
    with aws_errors("cloudwatch:ListMetrics"):
        pages = client.get_paginator("list_metrics").paginate(Namespace=NAMESPACE, Dimensions=[{"Name": DIMENSION}])
        for page in pages:
            for metric in page.get("Metrics", []):
                dimensions = metric.get("Dimensions", [])
                if len(dimensions) == 1 and dimensions[0].get("Name") == DIMENSION and dimensions[0].get("Value"):
                    found.add(dimensions[0]["Value"])
    return sorted(found)


def get_metric_data(
    client: Any, queries: list[dict[str, Any]], start: datetime, end: datetime
) -> dict[str, tuple[list[datetime], list[float]]]:
    """Every query's datapoints over [start, end): calls of at most MAX_QUERIES queries, each followed
    through its NextToken pages."""
    results: dict[str, tuple[list[datetime], list[float]]] = {}
    for offset in range(0, len(queries), MAX_QUERIES):
        batch = queries[offset : offset + MAX_QUERIES]
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"MetricDataQueries": batch, "StartTime": start, "EndTime": end,
                                      "ScanBy": "TimestampAscending"}  # fmt: skip
            if token:
                kwargs["NextToken"] = token
            with aws_errors("cloudwatch:GetMetricData"):
                page = client.get_metric_data(**kwargs)
            for result in page.get("MetricDataResults", []):
                timestamps, values = results.setdefault(result["Id"], ([], []))
                for timestamp, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=True):
                    if start <= utc(timestamp) < end:
                        timestamps.append(utc(timestamp))
                        values.append(float(value))
            token = page.get("NextToken")
            if not token:
                break
    return results


# --- the ledger -----------------------------------------------------------------------------------


def replace_window(
    *,
    tenant_id: int,
    account_id: str,
    region: str,
    model_refs: Iterable[str],
    start: datetime,
    end: datetime,
    rows: list[dict[str, Any]],
) -> tuple[int, int]:
    """Replace the metric rows of these models, account and region in [start, end) by `rows`, with the daily
    rollup, in one transaction. (removed, inserted)."""
    prefixes = Q()
    for model_ref in model_refs:
        prefixes |= Q(dedupe_key__startswith=model_key_prefix(account_id, region, model_ref))
    with transaction.atomic():
        removed = 0
        if prefixes:
            old = SpendEvent.objects.filter(
                prefixes, tenant_id=tenant_id, record_kind=SpendEvent.RecordKind.METRIC, account_id=account_id,
                region=region, usage_start__gte=start, usage_start__lt=end,
            )  # fmt: skip
            values = list(old.values("id", *RAW_FIELDS))
            if values:
                rollup_apply(tenant_id=tenant_id, removed=values)
                removed, _ = SpendEvent.objects.filter(id__in=[v["id"] for v in values]).delete()
        loaded = insert_events(rows, tenant_id=tenant_id, import_run_id=None)
    return removed, loaded.inserted


# --- the source -----------------------------------------------------------------------------------


def _failure(exc: AwsError, target: Target) -> tuple[str, str]:
    if exc.access_denied:
        return (
            f"{exc.summary()} (account {target.account_id}, {target.region})",
            remedy_for("cloudwatch_permission_missing", target.connection, region=target.region),
        )
    return exc.summary(), (
        f"Sync again later; if it keeps failing, check that CloudWatch is reachable in {target.region} from the app "
        "(AWS_ENDPOINT_URL against an emulator)."
    )


def sync_metrics(
    target: Target,
    *,
    watermark: dict[str, Any],
    since: datetime,
    until: datetime,
    checkpoint: Checkpoint,
    say: Progress,
) -> SourceResult:
    """Read AWS/Bedrock hourly metrics of the target's account and region into metric rows."""
    start, end = read_window(watermark, since, until)
    result = SourceResult(watermark=dict(watermark))
    if start >= end:
        result.details = {"note": "no complete hour to read since the last sync"}
        return result
    client = target.client("cloudwatch")
    try:
        model_refs = list_model_refs(client)
    except AwsError as exc:
        error, remedy = _failure(exc, target)
        return SourceResult.failed(error, remedy, watermark)
    say(f"  {len(model_refs)} model id(s) with AWS/Bedrock metrics in {target.region}")
    catalog = catalog_load()
    queries, index = metric_queries(model_refs)
    float_storage = db_connection.vendor == "sqlite"
    replaced = 0
    rejected: list[str] = []
    for chunk_start, chunk_end in chunks(start, end):
        try:
            data = get_metric_data(client, queries, chunk_start, chunk_end) if queries else {}
        except AwsError as exc:
            error, remedy = _failure(exc, target)
            status = "partial" if result.rows_loaded or replaced else "failed"
            return SourceResult(status=status, items_fetched=result.items_fetched, rows_loaded=result.rows_loaded,
                                rows_rejected=result.rows_rejected, watermark=result.watermark, error=error,
                                remedy=remedy, details={"rows_replaced": replaced})  # fmt: skip
        built = metric_rows(data, index, account_id=target.account_id, region=target.region, catalog=catalog,
                            connection_id=target.connection.pk, float_storage=float_storage)  # fmt: skip
        removed, inserted = replace_window(tenant_id=target.tenant.pk, account_id=target.account_id,
                                           region=target.region, model_refs=model_refs, start=chunk_start,
                                           end=chunk_end, rows=built.rows)  # fmt: skip
        result.items_fetched += built.datapoints
        result.rows_loaded += inserted
        result.rows_rejected += len(built.rejected)
        rejected.extend(built.rejected[: max(0, 20 - len(rejected))])
        replaced += removed
        result.watermark = {"last_hour": iso(chunk_end - HOUR)}
        checkpoint(result.watermark)
        say(f"  {chunk_start:%Y-%m-%d %H:00} to {chunk_end:%Y-%m-%d %H:00}: {inserted:,} hourly rows")
    result.details = {
        "models": len(model_refs),
        "from": iso(start),
        "to": iso(end),
        "rows_replaced": replaced,
        **({"rejected": rejected} if rejected else {}),
    }
    if rejected:
        result.status = "partial"
        result.error = f"{result.rows_rejected:,} hourly metric row(s) could not be stored: {rejected[0]}"
    return result


__all__ = ["metric_row", "metric_rows", "read_window", "replace_window", "sync_metrics"]
