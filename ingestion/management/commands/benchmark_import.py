"""Measure the importers on large synthetic files: rows per second and peak memory, printed."""

from __future__ import annotations

import csv
import gzip
import json
import resource
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from connections.models import Tenant
from finops.ledger.models import SpendDaily, SpendEvent
from ingestion.services import import_cur, import_invocation_logs

CUR_COLUMNS = [
    "identity_line_item_id",
    "identity_time_interval",
    "bill_billing_period_start_date",
    "line_item_line_item_type",
    "line_item_usage_account_id",
    "line_item_product_code",
    "line_item_usage_type",
    "line_item_operation",
    "line_item_usage_start_date",
    "line_item_usage_end_date",
    "line_item_usage_amount",
    "line_item_unblended_cost",
    "line_item_unblended_rate",
    "pricing_unit",
    "line_item_iam_principal",
    "product_product_family",
    "product",
    "tags",
]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_cur(path: Path, rows: int, *, first: int = 0) -> None:
    """`rows` CUR rows numbered from `first` (line item ids stay unique across files)."""
    start = datetime(2026, 6, 1, tzinfo=UTC)
    with gzip.open(path, "wt", newline="", compresslevel=1) as handle:
        writer = csv.writer(handle)
        writer.writerow(CUR_COLUMNS)
        for i in range(first, first + rows):
            day = start + timedelta(days=i % 28)
            amount = 10 + (i % 997) / 10
            writer.writerow(
                [
                    f"li-{i}",
                    f"{day:%Y-%m-%dT%H:%M:%SZ}/{day + timedelta(days=1):%Y-%m-%dT%H:%M:%SZ}",
                    "2026-06-01T00:00:00Z",
                    "Usage",
                    "111111111111",
                    "AmazonBedrockService",
                    "USE1-Claude4.6Sonnet-input-tokens",
                    "InvokeModelInference",
                    f"{day:%Y-%m-%dT%H:%M:%SZ}",
                    f"{day + timedelta(days=1):%Y-%m-%dT%H:%M:%SZ}",
                    f"{amount:.3f}",
                    f"{amount * 0.0033:.10f}",
                    "0.0033",
                    "1K tokens",
                    f"arn:aws:iam::111111111111:user/user-{i % 500}",
                    "Amazon Bedrock",
                    json.dumps({"product_name": "Claude Sonnet 4.6 (Amazon Bedrock Edition)"}),
                    json.dumps({"iamPrincipal/team": f"team-{i % 12}"}),
                ]
            )


def write_logs(path: Path, records: int) -> None:
    start = datetime(2026, 6, 1, tzinfo=UTC)
    with gzip.open(path, "wt", compresslevel=1) as handle:
        for i in range(records):
            record: dict[str, Any] = {
                "schemaType": "ModelInvocationLog",
                "schemaVersion": "1.0",
                "timestamp": f"{start + timedelta(seconds=i * 7):%Y-%m-%dT%H:%M:%SZ}",
                "accountId": "111111111111",
                "identity": {"arn": f"arn:aws:sts::111111111111:assumed-role/AppRole/session-{i % 300}"},
                "region": "us-east-1",
                "requestId": str(uuid.UUID(int=i)),
                "operation": "Converse",
                "modelId": "us.anthropic.claude-sonnet-4-6",
                "input": {
                    "inputContentType": "application/json",
                    "inputBodyJson": {"messages": [{"role": "user", "content": [{"text": f"question {i}"}]}]},
                    "inputTokenCount": 1000 + i % 500,
                    "cacheReadInputTokenCount": i % 3 * 100,
                    "cacheWriteInputTokenCount": 0,
                },
                "output": {
                    "outputContentType": "application/json",
                    "outputBodyJson": {"metrics": {"latencyMs": 800 + i % 400}},
                    "outputTokenCount": 200 + i % 100,
                },
                "requestMetadata": {"team": f"team-{i % 12}", "application": f"app-{i % 30}"},
            }
            handle.write(json.dumps(record) + "\n")


class Command(BaseCommand):
    help = "Import large synthetic CUR and invocation-log files into a throw-away tenant and print the figures."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cur-rows", type=int, default=200_000)
        parser.add_argument("--log-records", type=int, default=100_000)
        parser.add_argument("--keep", action="store_true", help="Keep the benchmark tenant and its rows.")

    def handle(self, *args: Any, **options: Any) -> None:
        say = self.stdout.write
        tenant = Tenant.objects.create(slug=f"bench-{uuid.uuid4().hex[:8]}", name="Benchmark")
        say(f"Database: {connection.vendor}; tenant {tenant.slug}; peak RSS before: {_peak_rss_mb():.0f} MB")
        with tempfile.TemporaryDirectory() as tmp:
            cur_path = Path(tmp) / "bench-00001.csv.gz"
            log_path = Path(tmp) / "bench.jsonl.gz"
            t0 = time.monotonic()
            write_cur(cur_path, options["cur_rows"])
            write_logs(log_path, options["log_records"])
            say(
                f"Wrote {options['cur_rows']:,} CUR rows ({cur_path.stat().st_size / 1e6:.1f} MB gz) and "
                f"{options['log_records']:,} log records ({log_path.stat().st_size / 1e6:.1f} MB gz) "
                f"in {time.monotonic() - t0:.1f}s"
            )
            for label, importer, path in (
                ("CUR", import_cur, cur_path),
                ("invocation logs", import_invocation_logs, log_path),
                ("invocation logs again (all duplicates)", import_invocation_logs, log_path),
            ):
                t0 = time.monotonic()
                run = importer(tenant=tenant, paths=[path])
                elapsed = time.monotonic() - t0
                say(
                    f"{label}: {run.rows_read:,} read, {run.rows_loaded:,} loaded, {run.rows_skipped:,} skipped "
                    f"in {elapsed:.1f}s = {run.rows_read / elapsed:,.0f} rows/s; peak RSS {_peak_rss_mb():.0f} MB"
                )
        if not options["keep"]:
            SpendEvent.objects.filter(tenant=tenant).delete()
            SpendDaily.objects.filter(tenant=tenant).delete()
            tenant.import_runs.all().delete()
            say("Benchmark rows deleted (the tenant and its audit entries stay, as the audit log is append-only).")
