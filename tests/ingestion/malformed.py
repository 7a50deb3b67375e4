"""Builders of malformed inputs for the bad-input tests: the fixture files, replicated and damaged in
one place (a cell, a byte, a line), so a test says what it broke and where."""

from __future__ import annotations

import csv
import gzip
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.fixtures import make_fixtures as mf

USAGE_TYPE = "line_item_usage_type"


def cur_table() -> tuple[list[str], list[dict[str, str]]]:
    """Header and data rows of the June fixture (19 rows: 18 Bedrock, 1 EC2)."""
    return mf.read_cur_csv(mf.CUR_JUNE_CSV)


def bedrock_rows() -> list[dict[str, str]]:
    return [r for r in cur_table()[1] if r["line_item_product_code"] != "AmazonEC2"]


def many_cur_rows(count: int, *, base: list[dict[str, str]] | None = None) -> list[dict[str, str]]:
    """`count` Bedrock rows, distinct (each copy gets its own line item id and cost)."""
    base = base or bedrock_rows()
    rows = []
    for n in range(count):
        row = dict(base[n % len(base)])
        row["identity_line_item_id"] = f"{row['identity_line_item_id']}-{n:05d}"
        row["line_item_unblended_cost"] = str(Decimal(row["line_item_unblended_cost"]) + Decimal(n) / 1000)
        rows.append(row)
    return rows


def cur_text(header: list[str], rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def write_cur(path: Path, rows: list[dict[str, str]], *, header: list[str] | None = None) -> Path:
    header = header or cur_table()[0]
    path.parent.mkdir(parents=True, exist_ok=True)
    data = cur_text(header, rows).encode("utf-8")
    path.write_bytes(gzip.compress(data, mtime=0) if path.name.endswith(".gz") else data)
    return path


def period_path(root: Path, period: str, name: str = "bedrock-cur2-00001.csv") -> Path:
    return root / "cur2" / "bedrock-cur2" / "data" / f"BILLING_PERIOD={period}" / name


def cur_billed_sum(rows: list[dict[str, str]]) -> Decimal:
    return sum((Decimal(r["line_item_unblended_cost"]) for r in rows), Decimal(0))


def good_log_records() -> list[dict[str, Any]]:
    """Five records of the fixture that load (invocations.jsonl also holds broken ones on purpose)."""
    records = []
    for line in mf.LOGS_JSONL.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("requestId") and record.get("modelId") and record["input"].get("inputTokenCount", 0) >= 0:
            records.append(record)
    return records[:5]


def many_log_records(count: int) -> list[dict[str, Any]]:
    base = good_log_records()
    records = []
    for n in range(count):
        record = json.loads(json.dumps(base[n % len(base)]))
        record["requestId"] = f"{record['requestId'][:-12]}{n:012d}"
        records.append(record)
    return records


def jsonl_bytes(records: list[Any]) -> bytes:
    return b"".join(json.dumps(r).encode("utf-8") + b"\n" for r in records)
