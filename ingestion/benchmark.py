"""The import benchmark's parts: synthetic CUR and invocation-log files, the import of one file in a process
of its own (so its peak RSS is its own), parse-only figures, and the raw COPY baseline: the rows an import
produced, copied into an empty table with the ledger's columns and indexes by the database's own bulk path."""

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

from django.db import connection

from finops.ledger.models import SpendEvent
from ingestion.parsers.cur import iter_cur_file
from ingestion.parsers.invocation_logs import iter_log_file

RAW_TABLE = "bench_raw_copy"


def peak_rss_mb() -> float:
    """This process's peak resident memory. From /proc (VmHWM) where there is one: ru_maxrss of a process
    started by fork and exec begins at its parent's peak, so it would report the benchmark's own memory."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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


def parse_only(kind: str, path: Path) -> dict[str, float]:
    """Rows/s of the app's parser alone, and of the plain reader under it (pyarrow's CSV reader for CUR,
    json.loads per line for logs): what the stages after parsing could at best keep up with."""
    started = time.perf_counter()
    if kind == "cur":
        rows = sum(batch.read for batch in iter_cur_file(path))
    else:
        rows = sum(batch.read for batch in iter_log_file(path, hash_key=b"bench"))
    app = time.perf_counter() - started
    started = time.perf_counter()
    if kind == "cur":
        import pyarrow.csv as pacsv

        plain_rows = pacsv.read_csv(path).num_rows
    else:
        plain_rows = 0
        with gzip.open(path, "rt") as handle:
            for line in handle:
                json.loads(line)
                plain_rows += 1
    plain = time.perf_counter() - started
    return {"app_parse_rows_s": rows / app, "plain_read_rows_s": plain_rows / plain}


def _names() -> str:
    return ", ".join(f'"{f.column}"' for f in SpendEvent._meta.concrete_fields if not f.primary_key)


def raw_copy(import_run_id: int) -> dict[str, float]:
    """Rows/s of the database's bulk path for exactly the rows an import loaded, into an empty table with the
    ledger's columns and indexes (and once more without its indexes). PostgreSQL: COPY; SQLite: executemany
    of prepared rows. Only the load is timed, not the export of the rows."""
    table = SpendEvent._meta.db_table
    names = _names()
    result: dict[str, float] = {}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with tempfile.TemporaryFile() as spool:
                with cursor.copy(
                    f"COPY (SELECT {names} FROM {table} WHERE import_run_id = %s) TO STDOUT", [import_run_id]
                ) as copy:
                    for chunk in copy:
                        spool.write(chunk)
                for label, like in (
                    ("indexed", "INCLUDING ALL"),
                    ("no_indexes", "INCLUDING DEFAULTS INCLUDING IDENTITY"),
                ):
                    cursor.execute(f"DROP TABLE IF EXISTS {RAW_TABLE}")
                    cursor.execute(f"CREATE TABLE {RAW_TABLE} (LIKE {table} {like})")
                    spool.seek(0)
                    started = time.perf_counter()
                    with cursor.copy(f"COPY {RAW_TABLE} ({names}) FROM STDIN") as copy:
                        while chunk := spool.read(1 << 20):
                            copy.write(chunk)
                    result[label] = time.perf_counter() - started
                    cursor.execute(f"SELECT COUNT(*) FROM {RAW_TABLE}")
                    result["rows"] = cursor.fetchone()[0]
                cursor.execute(f"DROP TABLE IF EXISTS {RAW_TABLE}")
            return result
        cursor.execute(f"SELECT {names} FROM {table} WHERE import_run_id = %s", [import_run_id])
        rows = cursor.fetchall()
        cursor.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = %s AND type = 'index' AND sql IS NOT NULL", [table]
        )
        indexes = [sql for (sql,) in cursor.fetchall()]
        marks = ", ".join("%s" for _ in names.split(", "))
        for label, with_indexes in (("indexed", True), ("no_indexes", False)):
            cursor.execute(f"DROP TABLE IF EXISTS {RAW_TABLE}")
            cursor.execute(f"CREATE TABLE {RAW_TABLE} AS SELECT {names} FROM {table} WHERE 0")
            if with_indexes:
                for number, sql in enumerate(indexes):
                    head, _, rest = sql.partition(" ON ")
                    columns = rest[rest.index("(") :]
                    unique = "UNIQUE " if head.upper().startswith("CREATE UNIQUE") else ""
                    cursor.execute(f'CREATE {unique}INDEX "bench_raw_{number}" ON {RAW_TABLE} {columns}')
            started = time.perf_counter()
            cursor.executemany(f"INSERT INTO {RAW_TABLE} ({names}) VALUES ({marks})", rows)
            result[label] = time.perf_counter() - started
        result["rows"] = len(rows)
        cursor.execute(f"DROP TABLE IF EXISTS {RAW_TABLE}")
    return result


def import_in_child(kind: str, path: Path, tenant_slug: str) -> dict[str, Any]:
    """Import one file into a tenant (run inside its own process: the peak RSS is the import's)."""
    from connections.models import Tenant
    from ingestion.services import import_cur, import_invocation_logs

    tenant = Tenant.objects.get(slug=tenant_slug)
    importer = import_cur if kind == "cur" else import_invocation_logs
    started = time.perf_counter()
    run = importer(tenant=tenant, paths=[path])
    seconds = time.perf_counter() - started
    return {
        "run_id": run.pk,
        "read": run.rows_read,
        "loaded": run.rows_loaded,
        "skipped": run.rows_skipped,
        "seconds": seconds,
        "stages": run.stage_seconds,
        "peak_rss_mb": peak_rss_mb(),
        # The child process a large file is parsed in (FINOPS_IMPORT_FORK_MIN_BYTES), alive beside this one: the
        # import's memory is both. (ru_maxrss counts the pages it shares with this process too: an upper bound.)
        "child_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }
