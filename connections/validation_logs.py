"""Validation checks 5 and 6: the invocation-log destinations, the CloudWatch log group and the S3 log bucket
(connections.validation runs them with the other checks)."""

from __future__ import annotations

from typing import Any

from connections import aws
from connections.diagnostics import finding, log_group_parts
from connections.models import AwsConnection
from connections.validation_results import SKIPPED, CheckResult, _Facts, _logging_on, _result

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
