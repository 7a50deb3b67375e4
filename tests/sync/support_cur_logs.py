"""Helpers of the CUR and invocation-log sync tests: a moto account, a Target, a recording checkpoint, a client
wrapper that makes AWS misbehave, and the ledger's state for comparisons."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from connections.models import AwsConnection, Tenant
from finops.ledger.models import SpendEvent
from ingestion.sync.base import Target
from tests.fixtures import make_fixtures as mf

ACCOUNT = "123456789012"  # moto's account for the test credentials
REGION = "us-east-1"
LOG_GROUP = "/aws/bedrock/modelinvocations"
LOG_GROUP_ARN = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{LOG_GROUP}"
LOG_BUCKET = "acme-bedrock-logs"
LOG_STREAM = "aws/bedrock/modelinvocations"


def session() -> boto3.session.Session:
    return boto3.session.Session(region_name=REGION)


def make_connection(tenant: Tenant, **fields: Any) -> AwsConnection:
    values: dict[str, Any] = {
        "name": "prod",
        "account_id": ACCOUNT,
        "role_arn": f"arn:aws:iam::{ACCOUNT}:role/BedrockFinOpsReader",
        "regions": [REGION],
    }
    values.update(fields)
    return AwsConnection.objects.create(tenant=tenant, **values)


@dataclass
class WrappedTarget(Target):
    """A Target whose clients pass through `wrap(service, client)`: how a test makes AWS throttle or deny."""

    wrap: Callable[[str, Any], Any] | None = None

    def client(self, service: str, region: str | None = None) -> Any:
        real = super().client(service, region)
        return self.wrap(service, real) if self.wrap else real


def target(connection: AwsConnection, region: str = "", wrap: Callable[[str, Any], Any] | None = None) -> Target:
    return WrappedTarget(connection=connection, account_id=ACCOUNT, region=region, session=session(), wrap=wrap)


class Killed(BaseException):
    """The process died (a BaseException, like SystemExit: nothing in the sync may swallow it)."""


class Checkpoints:
    """A checkpoint that records every watermark; `fail_after=n` raises after the n-th, like a killed process."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.saved: list[dict[str, Any]] = []
        self.fail_after = fail_after

    def __call__(self, watermark: dict[str, Any]) -> None:
        self.saved.append(watermark)
        if self.fail_after is not None and len(self.saved) >= self.fail_after:
            raise Killed(f"killed after checkpoint {len(self.saved)}")

    @property
    def last(self) -> dict[str, Any]:
        return self.saved[-1] if self.saved else {}


def client_error(code: str, operation: str, status: int = 400) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": f"{code} (test)"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        operation,
    )


class Misbehaving:
    """A client that raises `code` for the calls of `operation` that `fails(n)` picks (n counts from 1), and
    passes everything else to the real (moto) client. Records the keyword arguments of each such call."""

    def __init__(self, real: Any, operation: str, code: str, fails: Callable[[int], bool], status: int = 400) -> None:
        self.real = real
        self.operation = operation
        self.code = code
        self.fails = fails
        self.status = status
        self.calls: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.real, name)
        if name != self.operation:
            return attribute

        def call(**kwargs: Any) -> Any:
            self.calls.append(kwargs)
            if self.fails(len(self.calls)):
                raise client_error(self.code, name, self.status)
            return attribute(**kwargs)

        return call


def ledger_state(tenant: Tenant) -> list[tuple]:
    """Everything about the tenant's rows that another tenant loading the same data must match."""
    return sorted(
        SpendEvent.objects.filter(tenant=tenant).values_list(
            "dedupe_key", "record_kind", "billing_period", "usage_type", "request_id", "cost_usd",
            "allocated_cost_usd", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
        ),
        key=repr,
    )  # fmt: skip


def billed(tenant: Tenant, period: Any) -> dict[str, Any]:
    """Rows and exact billed dollars of a period, summed in Python (SQLite cannot round them)."""
    costs = list(
        SpendEvent.objects.filter(tenant=tenant, record_kind="billed_line", billing_period=period).values_list(
            "cost_usd", flat=True
        )
    )
    return {"rows": len(costs), "billed": sum(costs, Decimal(0))}


def md5(path: Path) -> str:
    """An S3 ETag of a single-part upload, computed from the file itself."""
    return hashlib.md5(path.read_bytes()).hexdigest()  # noqa: S324 - the ETag algorithm, not security


def upload_tree(s3: Any, bucket: str, root: Path) -> dict[str, Path]:
    """Upload every file under `root` with its path relative to root as key; {key: local path}."""
    uploaded = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        key = path.relative_to(root).as_posix()
        s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
        uploaded[key] = path
    return uploaded


# --- invocation-log records -------------------------------------------------------------------------


class FakeTime:
    """A clock that moves only when the code sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def lines(*names: str) -> list[str]:
    return [line for name in names for line in (mf.LOG_DIR / name).read_text().splitlines() if line.strip()]


CLEAN = ("cache_usage.jsonl", "reconcile-2026-08.jsonl", "s3_delivery.jsonl")  # 12 loadable records


def redate(raw: list[str], start: datetime, step: timedelta) -> list[tuple[datetime, str]]:
    """Each record re-dated start, start+step, ...; a line that is not JSON is kept as it is."""
    dated = []
    for number, line in enumerate(raw):
        stamp = start + number * step
        try:
            record = json.loads(line)
        except ValueError:
            dated.append((stamp, line))
            continue
        record["timestamp"] = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
        dated.append((stamp, json.dumps(record)))
    return dated


def put_events(events: list[tuple[datetime, str]]) -> None:
    logs = boto3.client("logs", region_name=REGION)
    if LOG_GROUP not in [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]]:
        logs.create_log_group(logGroupName=LOG_GROUP)
        logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=LOG_STREAM)
    logs.put_log_events(
        logGroupName=LOG_GROUP,
        logStreamName=LOG_STREAM,
        logEvents=[{"timestamp": int(stamp.timestamp() * 1000), "message": text} for stamp, text in events],
    )


def as_file(events: list[tuple[datetime, str]], path: Path) -> Path:
    path.write_text("".join(text + "\n" for _, text in events))
    return path


def request_ids(events: list[tuple[datetime, str]]) -> set[str]:
    """The request ids of the records that can load: JSON, with a requestId, no negative token count."""
    found = set()
    for _, text in events:
        try:
            record = json.loads(text)
            request_id = record["requestId"]
        except (ValueError, KeyError):
            continue
        counts = [v for section in ("input", "output") for k, v in record.get(section, {}).items() if "Count" in k]
        if all(isinstance(v, int) and v >= 0 for v in counts):
            found.add(request_id)
    return found


def requests(tenant: Tenant) -> list[str]:
    return list(SpendEvent.objects.filter(tenant=tenant, record_kind="request").values_list("request_id", flat=True))


def to_ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)
