"""The demo's live sync: put the generated company's files where AWS would deliver them, in an AWS emulator
(a moto server on loopback, AWS_ENDPOINT_URL), point the demo connection at them and sync it through the real
sync code. Refuses to run without an emulator endpoint on loopback: the demo never writes to real AWS."""

from __future__ import annotations

import gzip
import json
import os
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3

from connections.models import AwsConnection

LOG_BUCKET = "acme-bedrock-logs"
ROLE_NAME = "BedrockFinOpsReadOnly"


def emulator_endpoint() -> str:
    """AWS_ENDPOINT_URL when it points at this machine (a moto server); ValueError otherwise."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "").strip()
    host = urlparse(endpoint).hostname or ""
    if not endpoint or host not in {"127.0.0.1", "localhost", "::1"}:
        raise ValueError(
            "The demo sync writes the demo's files into an AWS emulator: set AWS_ENDPOINT_URL to a moto server on "
            "this machine (make demo starts one on http://127.0.0.1:5055)."
        )
    return endpoint


def _account_session(account_id: str) -> boto3.session.Session:
    """A session in `account_id` of the emulator (moto keys resources by the assumed role's account)."""
    base = boto3.session.Session(region_name="us-east-1")
    creds = base.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/{ROLE_NAME}", RoleSessionName="finops-demo-seed"
    )["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name="us-east-1",
    )


def _records(path: Path) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:  # type: ignore[operator]
        for line in handle:
            if line.strip():
                yield json.loads(line)


def _log_files(log_dir: Path, account_id: str, since: datetime) -> Iterator[tuple[str, Path, str]]:
    """(region, file, hour prefix) of the account's log objects from `since` on."""
    root = log_dir / "AWSLogs" / account_id / "BedrockModelInvocationLogs"
    for path in sorted(root.glob("*/*/*/*/*/*.json.gz")):
        region, year, month, day, hour = path.relative_to(root).parts[:5]
        when = datetime(int(year), int(month), int(day), int(hour), tzinfo=UTC)
        if when >= since.replace(minute=0, second=0, microsecond=0):
            yield region, path, f"{year}/{month}/{day}/{hour}"


def seed_emulator(
    *, data_dir: Path, connection: AwsConnection, days: int, now: datetime, say: Callable[[str], None]
) -> dict[str, int]:
    """Upload the demo's CUR export and its last `days` of invocation logs (S3, and the log group for the
    connection's log-group region) and CloudWatch metrics into the connection's account of the emulator."""
    emulator_endpoint()
    session = _account_session(connection.account_id)
    s3 = session.client("s3")
    counts: dict[str, int] = defaultdict(int)
    for bucket in (connection.cur_bucket, LOG_BUCKET):
        try:
            s3.create_bucket(Bucket=bucket)
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
    cur_root = data_dir / "cur"
    for path in sorted(p for p in cur_root.rglob("*") if p.is_file()):
        s3.upload_file(str(path), connection.cur_bucket, path.relative_to(cur_root).as_posix())
        counts["cur_objects"] += 1
    since = now - timedelta(days=days)
    log_dir = data_dir / "invocation-logs"
    events: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for region, path, _ in _log_files(log_dir, connection.account_id, since):
        s3.upload_file(str(path), LOG_BUCKET, path.relative_to(log_dir).as_posix())
        counts["log_objects"] += 1
        for record in _records(path):
            events[region].append(record)
    say(f"  {counts['cur_objects']} CUR objects and {counts['log_objects']} log objects uploaded to the emulator.")

    group_region = connection.log_group_arn.split(":")[3] if connection.log_group_arn.count(":") >= 6 else ""
    if group_region:
        logs = session.client("logs", region_name=group_region)
        group = connection.log_group_arn.split(":log-group:")[1].removesuffix(":*")
        try:
            logs.create_log_group(logGroupName=group)
        except logs.exceptions.ResourceAlreadyExistsException:
            pass
        stream = f"aws/bedrock/modelinvocations/{now:%Y%m%d%H%M%S}"
        try:
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
            batch = sorted(events.get(group_region, []), key=lambda r: r["timestamp"])
        except logs.exceptions.ResourceAlreadyExistsException:
            batch = []  # seeded by an earlier run (the emulator kept running): nothing to add
        for start in range(0, len(batch), 5000):
            chunk = [
                {"timestamp": int(_when(r).timestamp() * 1000), "message": json.dumps(r, separators=(",", ":"))}
                for r in batch[start : start + 5000]
            ]
            logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=chunk)
        counts["log_events"] = len(batch)

    for region in connection.regions or ["us-east-1"]:
        # Metadata-only invocation logging, as the connection page's CLI turns it on.
        session.client("bedrock", region_name=region).put_model_invocation_logging_configuration(
            loggingConfig={
                "s3Config": {"bucketName": LOG_BUCKET, "keyPrefix": ""},
                "textDataDeliveryEnabled": False,
                "imageDataDeliveryEnabled": False,
                "embeddingDataDeliveryEnabled": False,
            }
        )
    for region, records in events.items():
        cloudwatch = session.client("cloudwatch", region_name=region)
        buckets: dict[tuple[str, datetime], dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for record in records:
            hour = _when(record).replace(minute=0, second=0, microsecond=0)
            sums = buckets[(str(record.get("modelId", "")), hour)]
            sums["Invocations"] += 1
            sums["InputTokenCount"] += float((record.get("input") or {}).get("inputTokenCount") or 0)
            sums["OutputTokenCount"] += float((record.get("output") or {}).get("outputTokenCount") or 0)
        data = [
            {"MetricName": metric, "Dimensions": [{"Name": "ModelId", "Value": model}], "Timestamp": hour,
             "Value": value, "Unit": "Count"}
            for (model, hour), sums in buckets.items() for metric, value in sums.items()
        ]  # fmt: skip
        for start in range(0, len(data), 500):
            cloudwatch.put_metric_data(Namespace="AWS/Bedrock", MetricData=data[start : start + 500])
        counts["metric_points"] += len(data)
    say(f"  {counts['log_events']} log events and {counts['metric_points']} metric points put in the emulator.")
    return dict(counts)


def _when(record: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(record["timestamp"]).replace("Z", "+00:00")).astimezone(UTC)


def demo_connection_prepare(connection: AwsConnection) -> AwsConnection:
    """Point the demo connection at the emulator's resources, as a deployed one would be (the role ARN pasted,
    the log bucket set); validating it is the caller's next step."""
    connection.role_arn = f"arn:aws:iam::{connection.account_id}:role/{ROLE_NAME}"
    connection.log_bucket = LOG_BUCKET
    connection.log_prefix = ""
    if connection.status == AwsConnection.Status.PAUSED:
        connection.status = AwsConnection.Status.PENDING
    connection.save()
    return connection
