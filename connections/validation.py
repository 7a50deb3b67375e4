"""Validate a connection against AWS: each check green, amber, red or skipped, with its diagnosis.

run_checks is the orchestration (AWS calls in, CheckResults out; AWS errors become findings, never
exceptions). connection_validate is the service that stores the result, sets the status and audits."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from connections import aws, organizations
from connections.diagnostics import (
    PLACEHOLDER_BACKEND_ACCOUNT,
    Finding,
    cur_root,
    diagnose_stack_error,
    finding,
    log_group_parts,
)
from connections.models import AwsConnection
from connections.services import audit_log_record

__all__ = ["CheckResult", "connection_validate", "diagnose", "diagnose_stack_error", "run_checks"]

GREEN, AMBER, RED, SKIPPED = "green", "amber", "red", "skipped"
REGION_WINDOW = timedelta(days=14)  # CloudWatch lists a metric for two weeks after its last datapoint
MAX_CUR_BYTES = 64 * 1024 * 1024  # read at most this much of a CUR file while validating
MAX_CUR_ROWS = 200_000
CUR_SUFFIXES = (".csv", ".csv.gz", ".parquet")
BEDROCK_OPERATIONS = {"InvokeModelInference", "InvokeModelStreamingInference"}

SessionFactory = Callable[[], boto3.session.Session]


@dataclass
class CheckResult:
    key: str
    label: str
    status: str
    message: str
    findings: list[Finding] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "status": self.status,
            "message": self.message,
            "findings": [f.as_dict() for f in self.findings],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        return cls(
            key=str(data.get("key", "")),
            label=str(data.get("label", "")),
            status=str(data.get("status", "")),
            message=str(data.get("message", "")),
            findings=[Finding.from_dict(f) for f in data.get("findings", []) if isinstance(f, dict)],
        )


def _result(key: str, label: str, message: str, findings: list[Finding], *, warn: bool = False) -> CheckResult:
    """Red when a red finding is present, amber for amber findings (or warn), green otherwise."""
    if any(f.severity == RED for f in findings):
        status = RED
    elif findings or warn:
        status = AMBER
    else:
        status = GREEN
    return CheckResult(key, label, status, message, findings)


@dataclass
class _Facts:
    """What earlier checks learned, for later ones."""

    session: boto3.session.Session
    now: datetime
    lookback: timedelta
    invocations_24h: dict[str, float] = field(default_factory=dict)
    invocations_14d: dict[str, float] = field(default_factory=dict)
    cloudwatch_ok: bool = False
    logging: dict[str, dict[str, Any] | None] = field(default_factory=dict)  # None: could not read


def _backend_account_unset() -> bool:
    backend = (getattr(settings, "FINOPS_BACKEND_ACCOUNT_ID", "") or "").strip()
    return not backend or backend == PLACEHOLDER_BACKEND_ACCOUNT


def _role_account(role_arn: str) -> str:
    parts = role_arn.split(":")
    return parts[4] if len(parts) > 5 else ""


# --- 1. role ARN and AssumeRole ----------------------------------------------------------------


def _check_assume_role(
    connection: AwsConnection, backend: boto3.session.Session
) -> tuple[CheckResult, boto3.session.Session | None]:
    label = "Assume the role with the ExternalId"
    if not connection.role_arn:
        return _result("assume_role", label, "No role ARN yet.", [finding("role_arn_missing", connection)]), None
    role_account = _role_account(connection.role_arn)
    if role_account != connection.account_id:
        item = finding(
            "role_arn_wrong_account",
            connection,
            evidence=f"role ARN {connection.role_arn} is in {role_account}; the connection is {connection.account_id}",
        )
        return _result("assume_role", label, "The role ARN is in another account.", [item]), None
    try:
        session = aws.assume_connection_role(connection, session=backend)
    except aws.AwsError as exc:
        return _result("assume_role", label, exc.summary(), _assume_findings(connection, backend, exc)), None
    return _result("assume_role", label, f"Assumed {connection.role_arn} with the ExternalId.", []), session


def _assume_findings(connection: AwsConnection, backend: boto3.session.Session, exc: aws.AwsError) -> list[Finding]:
    if not exc.access_denied:
        return [finding("assume_role_failed", connection, evidence=exc.summary())]
    if _backend_account_unset():
        evidence = (
            f"Certain: FINOPS_BACKEND_ACCOUNT_ID is not set on the backend, so the template carried the "
            f"{PLACEHOLDER_BACKEND_ACCOUNT} placeholder and the role trusts no real account. AWS said: {exc.message}"
        )
        return [finding("backend_account_placeholder", connection, evidence=evidence)]
    backend_id = settings.FINOPS_BACKEND_ACCOUNT_ID
    note = ""
    try:
        actual = aws.caller_account(backend)
    except aws.AwsError:
        actual = ""
    if actual and actual != backend_id:
        note = (
            f" Note: the backend runs as account {actual}, not FINOPS_BACKEND_ACCOUNT_ID={backend_id}; "
            f"the trust policy must name the account the backend really runs in."
        )
    both = (
        f"AccessDenied on sts:AssumeRole. From outside, two causes look the same: a different ExternalId in "
        f"the trust policy, or a trust policy naming {PLACEHOLDER_BACKEND_ACCOUNT} (or another account) instead "
        f"of the backend account {backend_id}. AWS said: {exc.message}.{note}"
    )
    return [
        finding("external_id_mismatch", connection, evidence=both),
        finding("backend_account_placeholder", connection, evidence=both),
    ]


# --- 2. CloudWatch sample read, and Invocations per region --------------------------------------


def _metric_queries(metrics: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Invocations metrics to sum: the all-models aggregate if listed, else one per ModelId."""
    aggregate = [m for m in metrics if not m.get("Dimensions")]
    per_model = [m for m in metrics if [d.get("Name") for d in m.get("Dimensions", [])] == ["ModelId"]]
    chosen = aggregate or per_model or [{"Namespace": "AWS/Bedrock", "MetricName": "Invocations", "Dimensions": []}]
    return [
        {
            "Id": f"m{index}",
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/Bedrock",
                    "MetricName": "Invocations",
                    "Dimensions": metric.get("Dimensions", []),
                },
                "Period": 3600,
                "Stat": "Sum",
            },
            "ReturnData": True,
        }
        for index, metric in enumerate(chosen[:500])
    ]


def _invocations(cloudwatch: Any, now: datetime, lookback: timedelta) -> tuple[float, float]:
    """(invocations in the lookback window, in the last 14 days) in the client's region. Raises AwsError."""
    with aws.aws_errors("cloudwatch:ListMetrics"):
        metrics: list[dict[str, Any]] = []
        for page in cloudwatch.get_paginator("list_metrics").paginate(
            Namespace="AWS/Bedrock", MetricName="Invocations"
        ):
            metrics.extend(page.get("Metrics", []))
    queries = _metric_queries(metrics)
    recent = total = 0.0
    since = now - lookback
    with aws.aws_errors("cloudwatch:GetMetricData"):
        for start in range(0, len(queries), 100):
            paginator = cloudwatch.get_paginator("get_metric_data")
            for page in paginator.paginate(
                MetricDataQueries=queries[start : start + 100], StartTime=now - REGION_WINDOW, EndTime=now
            ):
                for series in page.get("MetricDataResults", []):
                    for stamp, value in zip(series.get("Timestamps", []), series.get("Values", []), strict=False):
                        total += value
                        stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
                        if stamp >= since:
                            recent += value
    return recent, total


def _check_cloudwatch(connection: AwsConnection, facts: _Facts, regions: list[str]) -> CheckResult:
    label = "Read CloudWatch metrics in AWS/Bedrock"
    denied: list[str] = []
    errors: list[str] = []
    for region in regions:
        try:
            recent, total = _invocations(aws.client(facts.session, "cloudwatch", region), facts.now, facts.lookback)
        except aws.AwsError as exc:
            (denied if exc.access_denied else errors).append(f"{region}: {exc.summary()}")
            continue
        facts.invocations_24h[region] = recent
        facts.invocations_14d[region] = total
    facts.cloudwatch_ok = bool(facts.invocations_14d)
    if denied:
        item = finding("cloudwatch_permission_missing", connection, evidence="; ".join(denied))
        return _result("cloudwatch_read", label, "CloudWatch read denied.", [item])
    hours = int(facts.lookback.total_seconds() // 3600)
    counts = ", ".join(f"{r} {facts.invocations_24h[r]:,.0f}" for r in regions if r in facts.invocations_24h)
    message = f"Invocations in the last {hours} h: {counts or 'none'}."
    if errors:
        return _result("cloudwatch_read", label, message + " Not read: " + "; ".join(errors), [], warn=True)
    return _result("cloudwatch_read", label, message, [])


# --- 3. logging configuration per region -------------------------------------------------------


def _logging_on(config: dict[str, Any] | None) -> bool:
    return bool(config and (config.get("cloudWatchConfig") or config.get("s3Config")))


def _logging_role(facts: _Facts) -> str | None:
    for config in facts.logging.values():
        role = ((config or {}).get("cloudWatchConfig") or {}).get("roleArn")
        if role:
            return str(role)
    return None


def _check_logging(connection: AwsConnection, facts: _Facts, region: str) -> CheckResult:
    key, label = f"logging_config:{region}", f"Invocation logging in {region}"
    try:
        with aws.aws_errors("bedrock:GetModelInvocationLoggingConfiguration"):
            response = aws.client(facts.session, "bedrock", region).get_model_invocation_logging_configuration()
    except aws.AwsError as exc:
        facts.logging[region] = None
        if exc.access_denied:
            item = finding("logging_config_unreadable", connection, evidence=exc.summary(), region=region)
            return _result(key, label, "Cannot read the logging configuration.", [item])
        if exc.not_implemented or exc.unreachable:
            return CheckResult(key, label, SKIPPED, f"Not available here: {exc.summary()}")
        return _result(key, label, exc.summary(), [], warn=True)
    config = response.get("loggingConfig") or {}
    facts.logging[region] = config
    if not _logging_on(config):
        uses_logs = bool(connection.log_group_arn or connection.log_bucket)
        item = finding(
            "logging_off_in_region",
            connection,
            evidence=f"get-model-invocation-logging-configuration in {region} returned no destination",
            region=region,
            logging_role_arn=_logging_role(facts),
        )
        if not uses_logs:
            # Logs are an optional source and this connection reads none: not a failure, but the
            # remedy is kept for when per-request data is wanted.
            message = "Logging is off; this connection reads no invocation logs, so that is not a failure."
            return CheckResult(key, label, SKIPPED, message, [item])
        return _result(key, label, "Logging is off.", [item])
    parts = []
    group = (config.get("cloudWatchConfig") or {}).get("logGroupName")
    if group:
        parts.append(f"CloudWatch Logs group {group}")
    bucket = (config.get("s3Config") or {}).get("bucketName")
    if bucket:
        parts.append(f"S3 bucket {bucket}")
    bodies = [k for k in ("textDataDeliveryEnabled", "imageDataDeliveryEnabled") if config.get(k)]
    message = "Logging on to " + " and ".join(parts) + "."
    if bodies:
        message += " Bodies are delivered too (prompts are hashed at ingestion and never stored)."
    findings: list[Finding] = []
    lg_region, _, lg_name = log_group_parts(connection.log_group_arn)
    if group and lg_region == region and lg_name and group != lg_name:
        findings.append(
            finding(
                "log_group_not_logging_target",
                connection,
                evidence=f"logging in {region} writes to {group}",
                region=region,
                configured_log_group=group,
            )
        )
    return _result(key, label, message, findings)


# --- 4. regions: invocations vs logging vs configured --------------------------------------------


def _scan_regions(facts: _Facts, regions: Iterable[str]) -> dict[str, float]:
    """Invocations (14 days) in regions outside the connection's list; unreadable regions are left out."""
    regions = list(regions)
    if not regions:
        return {}
    clients = {region: aws.client(facts.session, "cloudwatch", region) for region in regions}

    def one(region: str) -> tuple[str, float | None]:
        try:
            return region, _invocations(clients[region], facts.now, facts.lookback)[1]
        except Exception:  # opt-in regions answer with auth errors; an unreadable region is not a finding
            return region, None

    with ThreadPoolExecutor(max_workers=8) as pool:
        return {region: total for region, total in pool.map(one, regions) if total is not None}


def _check_regions(connection: AwsConnection, facts: _Facts, configured: list[str], scan: Iterable[str]) -> CheckResult:
    label = "Bedrock regions: invocations, logging and configuration"
    if not facts.cloudwatch_ok:
        return CheckResult("regions", label, SKIPPED, "Needs CloudWatch read access.")
    others = _scan_regions(facts, [r for r in scan if r not in configured])
    used = {r: n for r, n in {**facts.invocations_14d, **others}.items() if n > 0}
    logging_regions = sorted(r for r, c in facts.logging.items() if _logging_on(c))
    lg_region = log_group_parts(connection.log_group_arn)[0]
    findings: list[Finding] = []
    days = REGION_WINDOW.days
    for region in sorted(used):
        logging_known = region in facts.logging and facts.logging[region] is not None
        logging_here = _logging_on(facts.logging.get(region))
        elsewhere = [r for r in logging_regions if r != region]
        if not elsewhere and lg_region and lg_region != region and lg_region not in facts.logging:
            elsewhere = [lg_region]  # logging not read there, but the connection's log group is there
        # First: the most common silent failure (sync "succeeds" with zero events forever).
        if not logging_here and elsewhere and (logging_known or region not in configured):
            findings.append(
                finding(
                    "log_group_region_mismatch",
                    connection,
                    evidence=(
                        f"{used[region]:,.0f} Invocations in {region} in {days} days; logging configured in "
                        f"{', '.join(elsewhere)}"
                    ),
                    region=region,
                    logging_regions=", ".join(elsewhere),
                    logging_role_arn=_logging_role(facts),
                )
            )
        if region not in configured:
            findings.append(
                finding(
                    "regions_not_configured",
                    connection,
                    evidence=f"{used[region]:,.0f} Invocations in {region} in {days} days",
                    region=region,
                    days=days,
                )
            )
    summary = ", ".join(f"{r} {n:,.0f}" for r, n in sorted(used.items())) or "none"
    message = f"Invocations in the last {days} days: {summary}. Logging on in: {', '.join(logging_regions) or 'none'}."
    return _result("regions", label, message, findings)


# --- 5. log group ------------------------------------------------------------------------------


def _check_log_group(connection: AwsConnection, facts: _Facts) -> CheckResult:
    label = "Read the invocation log group"
    if not connection.log_group_arn:
        return CheckResult("log_group", label, SKIPPED, "No log group set.")
    region, _, name = log_group_parts(connection.log_group_arn)
    if not region or not name:
        item = finding("log_group_missing", connection, evidence=f"not a log group ARN: {connection.log_group_arn}")
        return _result("log_group", label, "The log group ARN cannot be read.", [item])
    logs = aws.client(facts.session, "logs", region)
    start_ms = int((facts.now - facts.lookback).timestamp() * 1000)
    end_ms = int(facts.now.timestamp() * 1000)
    found = 0
    try:
        with aws.aws_errors("logs:FilterLogEvents"):
            token: str | None = None
            for _ in range(5):  # the API may return empty pages before it reaches events
                kwargs: dict[str, Any] = {"logGroupName": name, "startTime": start_ms, "endTime": end_ms, "limit": 10}
                if token:
                    kwargs["nextToken"] = token
                page = logs.filter_log_events(**kwargs)
                found += len(page.get("events", []))
                token = page.get("nextToken")
                if found or not token:
                    break
    except aws.AwsError as exc:
        if exc.access_denied:
            item = finding("log_group_unreadable", connection, evidence=exc.summary())
            return _result("log_group", label, "Reading the log group was denied.", [item])
        if exc.not_found:
            item = finding("log_group_missing", connection, evidence=exc.summary())
            return _result("log_group", label, "The log group does not exist.", [item])
        return _result("log_group", label, exc.summary(), [], warn=True)
    hours = int(facts.lookback.total_seconds() // 3600)
    if found:
        return _result("log_group", label, f"Events found in {name} in the last {hours} h.", [])
    if region in facts.logging and not _logging_on(facts.logging[region]):
        return _result(
            "log_group", label, f"No events in {name} in the last {hours} h: logging is off in {region}.", [], warn=True
        )
    invoked = facts.invocations_24h.get(region)
    if invoked == 0:
        return _result(
            "log_group",
            label,
            f"No events in the last {hours} h, and CloudWatch counts no invocations in {region}.",
            [],
        )
    counted = f"; CloudWatch counts {invoked:,.0f} invocations there" if invoked else ""
    item = finding(
        "no_events_in_lookback",
        connection,
        evidence=f"filter-log-events on {name} ({region}) found nothing in the last {hours} h{counted}",
        region=region,
        hours=hours,
        lookback_start=(facts.now - facts.lookback).strftime("%Y-%m-%dT%H:%M:%SZ"),
        lookback_end=facts.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    return _result("log_group", label, f"No events in the last {hours} h.", [item])


# --- 6. log bucket -----------------------------------------------------------------------------


def _check_log_bucket(connection: AwsConnection, facts: _Facts) -> CheckResult:
    label = "Read the invocation log bucket"
    if not connection.log_bucket:
        return CheckResult("log_bucket", label, SKIPPED, "No log bucket set.")
    try:
        with aws.aws_errors("s3:ListBucket"):
            response = aws.client(facts.session, "s3").list_objects_v2(
                Bucket=connection.log_bucket, Prefix=connection.log_prefix, MaxKeys=5
            )
    except aws.AwsError as exc:
        if exc.access_denied:
            item = finding("log_bucket_unreadable", connection, evidence=exc.summary())
            return _result("log_bucket", label, "Listing the bucket was denied.", [item])
        if exc.not_found:
            item = finding("log_bucket_missing", connection, evidence=exc.summary())
            return _result("log_bucket", label, "The bucket does not exist.", [item])
        return _result("log_bucket", label, exc.summary(), [], warn=True)
    where = f"s3://{connection.log_bucket}/{connection.log_prefix}"
    if not response.get("KeyCount", len(response.get("Contents", []))):
        return _result("log_bucket", label, f"Readable, but nothing under {where} yet.", [], warn=True)
    return _result("log_bucket", label, f"Readable: objects under {where}.", [])


# --- 7. CUR export -----------------------------------------------------------------------------


@dataclass
class _CurListing:
    data: list[dict[str, Any]] = field(default_factory=list)
    manifests: list[dict[str, Any]] = field(default_factory=list)


def _list_cur(connection: AwsConnection, s3: Any) -> _CurListing:
    root = cur_root(connection)
    listing = _CurListing()
    with aws.aws_errors("s3:ListBucket"):
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=connection.cur_bucket, Prefix=root, PaginationConfig={"MaxItems": 20_000}
        ):
            for item in page.get("Contents", []):
                key = item["Key"]
                relative = key[len(root) :]
                lower = key.lower()
                if relative.startswith("metadata/") and lower.endswith("manifest.json"):
                    listing.manifests.append(item)
                elif relative.startswith("data/") and "billing_period=" in lower and lower.endswith(CUR_SUFFIXES):
                    listing.data.append(item)
    return listing


def _period(key: str) -> str:
    marker = key.find("BILLING_PERIOD=")
    return key[marker + 15 : marker + 22] if marker >= 0 else ""


def _newest_data_files(connection: AwsConnection, s3: Any, listing: _CurListing) -> list[dict[str, Any]]:
    """The data files of the newest billing period: those its manifest lists, else all of that period."""
    newest = max(_period(item["Key"]) for item in listing.data)
    in_period = [item for item in listing.data if _period(item["Key"]) == newest]
    manifests = sorted(
        (m for m in listing.manifests if _period(m["Key"]) == newest), key=lambda m: m["LastModified"], reverse=True
    )
    if manifests:
        try:
            with aws.aws_errors("s3:GetObject"):
                body = s3.get_object(Bucket=connection.cur_bucket, Key=manifests[0]["Key"])["Body"].read()
            listed = {str(uri).split("/", 3)[-1] for uri in json.loads(body).get("dataFiles", [])}
            chosen = [item for item in in_period if item["Key"] in listed]
            if chosen:
                return chosen
        except (aws.AwsError, ValueError, AttributeError):
            pass  # the files of the period are the fallback
    return sorted(in_period, key=lambda item: item["LastModified"], reverse=True)


def _as_map(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(value, list):
        pairs = {}
        for pair in value:
            if isinstance(pair, dict) and "key" in pair:
                pairs[str(pair["key"])] = str(pair.get("value"))
            elif isinstance(pair, list | tuple) and len(pair) == 2:
                pairs[str(pair[0])] = str(pair[1])
        return pairs
    text = str(value).strip()
    if not text:
        return {}
    try:
        loaded = json.loads(text)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}


def _is_bedrock(row: dict[str, Any]) -> bool:
    """The reference's robust filter (A.7): product family, product code, product name, or operation."""
    if str(row.get("product_product_family") or "").strip().lower() == "amazon bedrock":
        return True
    for key in ("line_item_product_code", "product_servicecode"):
        if "bedrock" in str(row.get(key) or "").lower():
            return True
    product = _as_map(row.get("product"))
    if any("bedrock" in product.get(k, "").lower() for k in ("product_name", "servicename")):
        return True
    return str(row.get("line_item_operation") or "").strip() in BEDROCK_OPERATIONS


@dataclass
class _CurSample:
    columns: list[str]
    rows: int = 0
    bedrock_rows: int = 0
    with_principal: int = 0
    with_iam_tags: int = 0
    truncated: bool = False


def _sample_rows(sample: _CurSample, rows: Iterable[dict[str, Any]]) -> None:
    for row in rows:
        sample.rows += 1
        if sample.rows > MAX_CUR_ROWS:
            sample.truncated = True
            return
        if not _is_bedrock(row):
            continue
        sample.bedrock_rows += 1
        if str(row.get("line_item_iam_principal") or "").strip():
            sample.with_principal += 1
        if any(k.lower().startswith("iamprincipal/") for k in _as_map(row.get("tags"))):
            sample.with_iam_tags += 1


PARQUET_COLUMNS = (
    "line_item_product_code",
    "product_product_family",
    "product_servicecode",
    "product",
    "line_item_operation",
    "line_item_iam_principal",
    "tags",
)


def _read_cur_sample(key: str, data: bytes, truncated: bool) -> _CurSample:
    """Columns and Bedrock/principal/tag counts of one CUR data file (or its first MAX_CUR_BYTES)."""
    lower = key.lower()
    if lower.endswith(".parquet"):
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(io.BytesIO(data))
        names = parquet.schema_arrow.names
        sample = _CurSample(columns=list(names))
        wanted = [c for c in PARQUET_COLUMNS if c in names]
        for batch in parquet.iter_batches(batch_size=20_000, columns=wanted):
            _sample_rows(sample, batch.to_pylist())
            if sample.truncated:
                break
        return sample
    raw: io.IOBase = io.BytesIO(data)
    if lower.endswith(".gz"):
        raw = gzip.GzipFile(fileobj=raw)
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    try:
        header = [h.strip() for h in next(reader, [])]
    except (OSError, EOFError, csv.Error):
        header = []
    sample = _CurSample(columns=header, truncated=truncated)

    def rows() -> Iterable[dict[str, Any]]:
        try:
            for values in reader:
                if len(values) == len(header):
                    yield dict(zip(header, values, strict=True))
        except (OSError, EOFError, csv.Error):
            sample.truncated = True  # a partial read of a large file ends mid-line or mid-block

    _sample_rows(sample, rows())
    return sample


def _check_cur(connection: AwsConnection, facts: _Facts) -> list[CheckResult]:
    bucket_label, contents_label = "List the CUR 2.0 export", "CUR 2.0 contents: Bedrock rows and IAM principals"
    if not connection.cur_bucket:
        return [
            CheckResult("cur_bucket", bucket_label, SKIPPED, "No CUR bucket set."),
            CheckResult("cur_contents", contents_label, SKIPPED, "No CUR bucket set."),
        ]
    s3 = aws.client(facts.session, "s3")
    where = f"s3://{connection.cur_bucket}/{cur_root(connection)}"
    skipped = CheckResult("cur_contents", contents_label, SKIPPED, "Needs the CUR export listed.")
    try:
        listing = _list_cur(connection, s3)
    except aws.AwsError as exc:
        if exc.access_denied:
            item = finding("cur_bucket_unreadable", connection, evidence=exc.summary())
            return [_result("cur_bucket", bucket_label, "Listing the CUR bucket was denied.", [item]), skipped]
        if exc.not_found:
            item = finding("cur_bucket_missing", connection, evidence=exc.summary())
            return [_result("cur_bucket", bucket_label, "The CUR bucket does not exist.", [item]), skipped]
        return [_result("cur_bucket", bucket_label, exc.summary(), [], warn=True), skipped]
    if not listing.data:
        evidence = (
            f"{len(listing.manifests)} manifest(s) and no data/BILLING_PERIOD=... files under {where}"
            if listing.manifests
            else f"nothing under {where}metadata/ or {where}data/"
        )
        item = finding("cur_export_missing", connection, evidence=evidence)
        return [_result("cur_bucket", bucket_label, "No export files found.", [item]), skipped]
    periods = sorted({_period(item["Key"]) for item in listing.data})
    bucket_result = _result(
        "cur_bucket",
        bucket_label,
        f"{len(listing.data)} data file(s), {len(listing.manifests)} manifest(s) under {where}; "
        f"billing periods {periods[0]} to {periods[-1]}.",
        [],
    )
    return [bucket_result, _check_cur_contents(connection, s3, listing, contents_label)]


def _merge(total: _CurSample | None, part: _CurSample) -> _CurSample:
    if total is None:
        return part
    total.columns = list(dict.fromkeys([*total.columns, *part.columns]))
    total.rows += part.rows
    total.bedrock_rows += part.bedrock_rows
    total.with_principal += part.with_principal
    total.with_iam_tags += part.with_iam_tags
    total.truncated = total.truncated or part.truncated
    return total


def _check_cur_contents(connection: AwsConnection, s3: Any, listing: _CurListing, label: str) -> CheckResult:
    """Read the newest period's data files, within a byte budget, until Bedrock rows with principals show."""
    files = _newest_data_files(connection, s3, listing)
    key = files[0]["Key"]
    sample: _CurSample | None = None
    budget = MAX_CUR_BYTES
    read: list[str] = []
    for item in files:
        size = int(item.get("Size") or 0)
        if budget <= 0 or (item["Key"].lower().endswith(".parquet") and size > budget):
            if sample is not None:
                sample.truncated = True
                break
            return CheckResult(
                "cur_contents", label, AMBER, f"{item['Key']} is {size:,} bytes: too large to inspect while validating."
            )
        try:
            with aws.aws_errors("s3:GetObject"):
                kwargs: dict[str, Any] = {"Bucket": connection.cur_bucket, "Key": item["Key"]}
                if size > budget:
                    kwargs["Range"] = f"bytes=0-{budget - 1}"
                data = s3.get_object(**kwargs)["Body"].read()
            sample = _merge(sample, _read_cur_sample(item["Key"], data, truncated=size > budget))
        except aws.AwsError as exc:
            if exc.access_denied:
                found = finding("cur_bucket_unreadable", connection, evidence=exc.summary())
                return _result("cur_contents", label, "Reading the CUR file was denied.", [found])
            return _result("cur_contents", label, exc.summary(), [], warn=True)
        except Exception as exc:  # pyarrow and gzip raise several types for a corrupt file
            return _result("cur_contents", label, f"{item['Key']} could not be read: {exc}", [], warn=True)
        budget -= len(data)
        read.append(item["Key"])
        if sample.with_iam_tags or sample.truncated:
            break
    if sample is None:  # not reached: the listing found data files
        return CheckResult("cur_contents", label, SKIPPED, "No data file to read.")
    if len(read) > 1:
        key = f"{read[0]} (and {len(read) - 1} more file(s) of that period)"
    period = _period(key)
    start = date(int(period[:4]), int(period[5:7]), 1) if period else None
    end = (start.replace(day=28) + timedelta(days=4)).replace(day=1) if start else None
    values = {"file": key, "period_start": start.isoformat() if start else None}
    values["period_end"] = end.isoformat() if end else None
    scanned = f"{sample.rows:,} row(s) read" + (" (first part of the file)" if sample.truncated else "")
    findings: list[Finding] = []
    if not sample.bedrock_rows:
        findings.append(
            finding("cur_no_bedrock_rows", connection, evidence=f"{key}: {scanned}, none Bedrock", **values)
        )
        return _result("cur_contents", label, f"No Bedrock rows in {key}.", findings)
    if "line_item_iam_principal" not in sample.columns:
        findings.append(
            finding(
                "cur_no_iam_principal",
                connection,
                evidence=f"{key} has no line_item_iam_principal column",
                detail="the export's query does not select line_item_iam_principal",
            )
        )
    elif not sample.with_principal:
        findings.append(
            finding(
                "cur_no_iam_principal",
                connection,
                evidence=f"line_item_iam_principal is empty on all {sample.bedrock_rows:,} Bedrock rows of {key}",
                detail="the data predates it (usage from 2026-04-08 on, 24-48 h delay)",
            )
        )
    elif not sample.with_iam_tags:
        evidence = (
            f"no iamPrincipal/ key in the tags of {sample.bedrock_rows:,} Bedrock rows of {key}"
            if "tags" in sample.columns
            else f"{key} has no tags column"
        )
        findings.append(finding("cost_allocation_tags_inactive", connection, evidence=evidence))
    message = (
        f"{key}: {scanned}; {sample.bedrock_rows:,} Bedrock row(s), {sample.with_principal:,} with an IAM principal, "
        f"{sample.with_iam_tags:,} with iamPrincipal/ tags."
    )
    return _result("cur_contents", label, message, findings)


# --- 8. provisioned throughput -----------------------------------------------------------------


def _check_provisioned(connection: AwsConnection, facts: _Facts, regions: list[str]) -> CheckResult:
    label = "List provisioned throughput"
    denied: list[str] = []
    unavailable: list[str] = []
    counts: dict[str, int] = {}
    for region in regions:
        try:
            with aws.aws_errors("bedrock:ListProvisionedModelThroughputs"):
                paginator = aws.client(facts.session, "bedrock", region).get_paginator(
                    "list_provisioned_model_throughputs"
                )
                summaries = [
                    summary
                    for page in paginator.paginate(PaginationConfig={"PageSize": 100})
                    for summary in page.get("provisionedModelSummaries", [])
                ]
        except aws.AwsError as exc:
            # Only a denial says something about the role. Anything else (an emulator without the
            # API, a region without Bedrock, a 500) leaves the question open: skipped, not red.
            (denied if exc.access_denied else unavailable).append(f"{region}: {exc.code}")
            continue
        counts[region] = len(summaries)
    if denied:
        items = [
            finding(
                "provisioned_throughput_unreadable",
                connection,
                evidence=f"AccessDenied on ListProvisionedModelThroughputs in {', '.join(denied)}",
                region=denied[0].split(":")[0],
            )
        ]
        return _result("provisioned_throughput", label, "Listing provisioned throughput was denied.", items)
    if not counts:
        return CheckResult("provisioned_throughput", label, SKIPPED, "Not available: " + "; ".join(unavailable))
    message = "Provisioned models: " + ", ".join(f"{r} {n}" for r, n in counts.items()) + "."
    if unavailable:
        message += " Not available: " + "; ".join(unavailable)
    return _result("provisioned_throughput", label, message, [])


# --- 9. organization ---------------------------------------------------------------------------


def _check_organization(connection: AwsConnection, facts: _Facts) -> list[CheckResult]:
    org_label, members_label = "Enumerate member accounts", "Assume the member role in each account"
    skipped = CheckResult("member_roles", members_label, SKIPPED, "Needs the member accounts listed.")
    management = ""
    try:
        management = str(organizations.describe_organization(facts.session).get("MasterAccountId", ""))
    except aws.AwsError as exc:
        if exc.code == organizations.NOT_IN_ORGANIZATION:
            item = finding(
                "org_list_accounts_denied",
                connection,
                evidence=f"account {connection.account_id} is not in an organization ({exc.code})",
                management_account_id="none, it is not in an organization",
            )
            return [_result("organization", org_label, "Not in an organization.", [item]), skipped]
        # Without DescribeOrganization, ListAccounts below still tells.
    if management and management != connection.account_id:
        item = finding(
            "org_list_accounts_denied",
            connection,
            evidence=f"the management account of the organization is {management}, not {connection.account_id}",
            management_account_id=management,
        )
        return [_result("organization", org_label, "Not the management account.", [item]), skipped]
    try:
        members = organizations.sync_member_accounts(connection, facts.session)
    except aws.AwsError as exc:
        if exc.access_denied or exc.code == organizations.NOT_IN_ORGANIZATION:
            item = finding(
                "org_list_accounts_denied",
                connection,
                evidence=exc.summary(),
                management_account_id=management or None,
            )
            return [_result("organization", org_label, "ListAccounts was denied.", [item]), skipped]
        return [_result("organization", org_label, exc.summary(), [], warn=True), skipped]
    org = _result("organization", org_label, f"{len(members)} member account(s) besides {connection.account_id}.", [])
    ok = [m for m in members if m.role_status == m.RoleStatus.OK]
    findings = organizations.member_findings(connection, members)
    others = [m for m in members if m.role_status == m.RoleStatus.NOT_CHECKED]
    message = f"Member role {aws.member_role_arn(connection, '<account>')}: {len(ok)} of {len(members)} reachable."
    if others:
        message += " Not checked: " + "; ".join(m.last_error or m.account_id for m in others)
    return [org, _result("member_roles", members_label, message, findings, warn=bool(others))]


# --- orchestration -----------------------------------------------------------------------------


def _skipped_after_role(connection: AwsConnection, regions: list[str]) -> list[CheckResult]:
    reason = "Skipped: the role could not be assumed."
    keys = [("cloudwatch_read", "Read CloudWatch metrics in AWS/Bedrock")]
    keys += [(f"logging_config:{r}", f"Invocation logging in {r}") for r in regions]
    keys += [
        ("regions", "Bedrock regions: invocations, logging and configuration"),
        ("log_group", "Read the invocation log group"),
        ("log_bucket", "Read the invocation log bucket"),
        ("cur_bucket", "List the CUR 2.0 export"),
        ("cur_contents", "CUR 2.0 contents: Bedrock rows and IAM principals"),
        ("provisioned_throughput", "List provisioned throughput"),
    ]
    if connection.is_organization:
        keys += [
            ("organization", "Enumerate member accounts"),
            ("member_roles", "Assume the member role in each account"),
        ]
    return [CheckResult(key, label, SKIPPED, reason) for key, label in keys]


def run_checks(
    connection: AwsConnection,
    *,
    session_factory: SessionFactory | None = None,
    now: datetime | None = None,
    lookback: timedelta = timedelta(hours=24),
    scan_regions: Iterable[str] | None = None,
) -> list[CheckResult]:
    """Every check, in order. AWS errors become findings; nothing here raises for them.

    session_factory gives the backend's own session (default aws.backend_session). scan_regions are
    the regions searched for Bedrock Invocations outside the connection's list (default: every region
    botocore knows for Bedrock)."""
    moment = now or timezone.now()
    regions = list(dict.fromkeys(connection.regions or [settings.FINOPS_AWS_REGION]))
    backend = (session_factory or aws.backend_session)()
    first, session = _check_assume_role(connection, backend)
    if session is None:
        return [first, *_skipped_after_role(connection, regions)]
    facts = _Facts(session=session, now=moment, lookback=lookback)
    results = [first, _check_cloudwatch(connection, facts, regions)]
    results += [_check_logging(connection, facts, region) for region in regions]
    scan = list(scan_regions) if scan_regions is not None else aws.available_regions("bedrock")
    results.append(_check_regions(connection, facts, regions, scan))
    results.append(_check_log_group(connection, facts))
    results.append(_check_log_bucket(connection, facts))
    results += _check_cur(connection, facts)
    results.append(_check_provisioned(connection, facts, regions))
    if connection.is_organization:
        results += _check_organization(connection, facts)
    return results


def overall_status(results: list[CheckResult]) -> str:
    """connected: all green or skipped; failed: the role cannot be assumed; degraded: anything else."""
    role = next((r for r in results if r.key == "assume_role"), None)
    if role is None or role.status == RED:
        return AwsConnection.Status.FAILED
    if all(r.status in (GREEN, SKIPPED) for r in results):
        return AwsConnection.Status.CONNECTED
    return AwsConnection.Status.DEGRADED


def _first_error(results: list[CheckResult]) -> str:
    for result in results:
        if result.status != RED:
            continue
        for item in result.findings:
            if item.severity == RED:
                return f"{result.label}: {item.title}" + (f" ({item.evidence})" if item.evidence else "")
        return f"{result.label}: {result.message}"
    return ""


def connection_validate(
    *,
    connection: AwsConnection,
    actor: AbstractBaseUser | AnonymousUser | None = None,
    session_factory: SessionFactory | None = None,
    scan_regions: Iterable[str] | None = None,
) -> list[CheckResult]:
    """Run the checks, store them with the time and the status, and audit the result."""
    if connection.status == AwsConnection.Status.PAUSED:
        raise ValueError(f"Connection {connection.name!r} is paused: resume it before validating.")
    # AWS calls run outside the transaction; only the outcome is written atomically.
    results = run_checks(connection, session_factory=session_factory, scan_regions=scan_regions)
    status = overall_status(results)
    with transaction.atomic():
        connection.last_validation = [r.as_dict() for r in results]
        connection.last_validated_at = timezone.now()
        connection.last_error = _first_error(results)[:5000]
        connection.status = status
        connection.save(update_fields=["last_validation", "last_validated_at", "last_error", "status", "updated_at"])
        audit_log_record(
            tenant=connection.tenant,
            actor=actor,
            action="connection.validated",
            target=connection.name,
            details={
                "connection_id": connection.pk,
                "status": status,
                "checks": {r.key: r.status for r in results},
                "findings": [f.code for r in results for f in r.findings],
            },
        )
        if status in (AwsConnection.Status.CONNECTED, AwsConnection.Status.DEGRADED):
            transaction.on_commit(lambda: first_sync_queue(connection))
    return results


def first_sync_queue(connection: AwsConnection) -> bool:
    """After the first green (or degraded) validation, queue the connection's first sync, which backfills 90
    days; later syncs come from the schedules. True when one was queued."""
    if connection.sync_states.exists() or connection.sync_runs.exists():
        return False
    from django_q.tasks import async_task

    async_task("ingestion.tasks.sync_connection_task", connection.pk, None, "validation", group="sync")
    return True


def diagnose(connection: AwsConnection) -> list[Finding]:
    """The findings of the stored validation; before any validation, what the configuration alone shows."""
    if connection.last_validation:
        return [
            item
            for data in connection.last_validation
            if isinstance(data, dict)
            for item in CheckResult.from_dict(data).findings
        ]
    found: list[Finding] = []
    if not connection.role_arn:
        found.append(finding("role_arn_missing", connection))
    elif _role_account(connection.role_arn) != connection.account_id:
        found.append(
            finding(
                "role_arn_wrong_account",
                connection,
                evidence=f"role ARN {connection.role_arn} is not in account {connection.account_id}",
            )
        )
    if _backend_account_unset():
        found.append(
            finding(
                "backend_account_placeholder",
                connection,
                evidence="FINOPS_BACKEND_ACCOUNT_ID is not set on the backend: a template would carry the placeholder",
            )
        )
    return found
