"""A first sync's throughput and peak memory on a large generated export: a CUR 2.0 export (manifest and
data files) and hourly invocation-log objects are put in a moto server running in its own process (so its
memory is not counted), then the connection is synced through the real sync code (S3 streaming, the same
importers). The same files imported from local disk, measured in the same run, are the baseline."""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection as db

from connections.models import AwsConnection, Tenant
from finops.ledger.models import SpendDaily, SpendEvent
from ingestion.benchmark import write_cur, write_logs
from ingestion.services import import_cur, import_invocation_logs
from ingestion.sync.services import sync_connection

ACCOUNT = "111111111111"
BUCKET, LOG_BUCKET, PREFIX, EXPORT = "bench-cur", "bench-logs", "cur2", "bench"
SINCE, UNTIL = datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)
CUR_ROWS_PER_FILE = 250_000
LOG_RECORDS_PER_OBJECT = 2_000


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _split_logs(source: Path, out_dir: Path) -> list[tuple[str, Path]]:
    """The log records in hourly objects of the S3 layout: (key, local file)."""
    import gzip

    objects: list[tuple[str, Path]] = []
    with gzip.open(source, "rt") as handle:
        batch: list[str] = []
        hour = ""
        for line in handle:
            when = datetime.fromisoformat(json.loads(line)["timestamp"].replace("Z", "+00:00"))
            this_hour = f"{when:%Y/%m/%d/%H}"
            if batch and (this_hour != hour or len(batch) >= LOG_RECORDS_PER_OBJECT):
                objects.append(_write_object(out_dir, hour, batch, len(objects)))
                batch = []
            hour = this_hour
            batch.append(line)
        if batch:
            objects.append(_write_object(out_dir, hour, batch, len(objects)))
    return objects


def _write_object(out_dir: Path, hour: str, lines: list[str], index: int) -> tuple[str, Path]:
    import gzip

    key = f"AWSLogs/{ACCOUNT}/BedrockModelInvocationLogs/us-east-1/{hour}/{hour.replace('/', '')}_{index:06d}.json.gz"
    path = out_dir / f"log-{index:06d}.json.gz"
    with gzip.open(path, "wt", compresslevel=1) as handle:
        handle.writelines(lines)
    return key, path


class Command(BaseCommand):
    help = (
        "Time a first sync (CUR export + invocation logs from S3, through a local moto server) on generated data, "
        "beside importing the same files from local disk; prints events/s and peak memory."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cur-rows", type=int, default=500_000)
        parser.add_argument("--log-records", type=int, default=200_000)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["cur_rows"] < 1 or options["log_records"] < 1:
            raise CommandError("--cur-rows and --log-records must be at least 1.")
        say = self.stdout.write
        port = _free_port()
        server = subprocess.Popen(  # noqa: S603 - our own interpreter running moto's server module
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        saved = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
        os.environ.update(AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", AWS_ACCESS_KEY_ID="bench",
                          AWS_SECRET_ACCESS_KEY="bench")  # fmt: skip
        tenants: list[Tenant] = []
        try:
            _wait_for(port)
            with tempfile.TemporaryDirectory() as tmp:
                self._run(Path(tmp), options, tenants, say)
        finally:
            server.terminate()
            server.wait(timeout=10)
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            for tenant in tenants:
                SpendEvent.objects.filter(tenant=tenant).delete()
                SpendDaily.objects.filter(tenant=tenant).delete()
            say("Benchmark rows deleted (the tenants and their audit entries stay: the audit log is append-only).")

    def _run(self, tmp: Path, options: dict[str, Any], tenants: list[Tenant], say: Any) -> None:
        cur_rows, log_records = options["cur_rows"], options["log_records"]
        t0 = time.monotonic()
        cur_files = []
        for index, start in enumerate(range(0, cur_rows, CUR_ROWS_PER_FILE), start=1):
            path = tmp / f"{EXPORT}-{index:05d}.csv.gz"
            write_cur(path, min(CUR_ROWS_PER_FILE, cur_rows - start), first=start)
            cur_files.append(path)
        all_logs = tmp / "all.jsonl.gz"
        write_logs(all_logs, log_records)
        log_objects = _split_logs(all_logs, tmp)
        size = sum(p.stat().st_size for p in cur_files) + sum(p.stat().st_size for _, p in log_objects)
        say(f"Generated {cur_rows:,} CUR rows in {len(cur_files)} file(s) and {log_records:,} log records in "
            f"{len(log_objects):,} hourly objects ({size / 1e6:.1f} MB gzip) in "
            f"{time.monotonic() - t0:.1f}s")  # fmt: skip

        s3 = boto3.session.Session(region_name="us-east-1").client("s3")
        for bucket in (BUCKET, LOG_BUCKET):
            s3.create_bucket(Bucket=bucket)
        data_keys = []
        for path in cur_files:
            key = f"{PREFIX}/{EXPORT}/data/BILLING_PERIOD=2026-06/{path.name}"
            s3.upload_file(str(path), BUCKET, key)
            data_keys.append(f"s3://{BUCKET}/{key}")
        manifest = {"executionId": str(uuid.uuid4()), "billingPeriod": {"start": "2026-06-01T00:00:00.000Z"},
                    "dataFiles": data_keys}  # fmt: skip
        s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/{EXPORT}/metadata/BILLING_PERIOD=2026-06/{EXPORT}-Manifest.json",
                      Body=json.dumps(manifest).encode())  # fmt: skip
        for key, path in log_objects:
            s3.upload_file(str(path), LOG_BUCKET, key)

        # Baseline: the same files imported from local disk.
        local = Tenant.objects.create(slug=f"bench-{uuid.uuid4().hex[:8]}", name="Sync benchmark (local import)")
        tenants.append(local)
        t0 = time.monotonic()
        import_cur(tenant=local, paths=cur_files)
        import_invocation_logs(tenant=local, paths=[p for _, p in log_objects])
        baseline = time.monotonic() - t0

        synced = Tenant.objects.create(slug=f"bench-{uuid.uuid4().hex[:8]}", name="Sync benchmark (first sync)")
        tenants.append(synced)
        conn = AwsConnection.objects.create(
            tenant=synced, name="bench", account_id=ACCOUNT, regions=["us-east-1"], status="connected",
            role_arn=f"arn:aws:iam::{ACCOUNT}:role/Bench", cur_bucket=BUCKET, cur_prefix=PREFIX,
            cur_export_name=EXPORT, log_bucket=LOG_BUCKET,
        )  # fmt: skip
        rss_before = _peak_rss_mb()
        t0 = time.monotonic()
        report = sync_connection(
            conn, sources=["cur", "logs"], since=SINCE, until=UNTIL, trigger="benchmark",
            session_factory=lambda c: boto3.session.Session(region_name="us-east-1"),
        )  # fmt: skip
        elapsed = time.monotonic() - t0
        rss_after = _peak_rss_mb()
        events = sum(r.rows_loaded for r in report.runs)
        local_events = SpendEvent.objects.filter(tenant=local).count()
        synced_events = SpendEvent.objects.filter(tenant=synced).count()
        say(f"Database: {db.vendor}")
        say(f"local import (baseline): {local_events:,} events in {baseline:.1f}s = {local_events / baseline:,.0f}/s")
        for run in report.runs:
            rate = run.rows_loaded / run.duration_seconds if run.duration_seconds else 0
            say(f"first sync, {run.source:<4}: {run.status}, {run.items_fetched:,} fetched, {run.rows_loaded:,} "
                f"loaded in {run.duration_seconds or 0:.1f}s = {rate:,.0f} events/s")  # fmt: skip
        say(f"first sync, total: {events:,} events in {elapsed:.1f}s = {events / elapsed:,.0f} events/s "
            f"({baseline / elapsed:.2f}x the local import's speed)")  # fmt: skip
        say(f"peak RSS: {rss_after:.0f} MB after the sync ({rss_before:.0f} MB before it; the emulator runs in "
            f"its own process)")  # fmt: skip
        if synced_events != local_events:
            raise CommandError(f"The sync loaded {synced_events:,} events, the local import {local_events:,}.")


def _wait_for(port: int) -> None:
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise CommandError("The moto server did not start (is moto[server] installed?).")
