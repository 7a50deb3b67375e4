"""Clean base data and file writers for the fuzz harness.

The bases are the fixture rows of tests/fixtures (a few are added so that every shape the importers must
handle is present, e.g. a CUR row whose description spans two physical lines). Writers turn rows, clean or
mutated, into CSV, gzip CSV, Parquet, JSON lines, gzip JSON lines and single JSON documents and return where
each row starts (CSV: physical line of the row's first line, the header being line 1; Parquet: 1-based row
number; JSON lines: physical line; single document: 1).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.fixtures import make_fixtures as mf

Cell = str | bytes
CurRow = dict[str, Any]  # column -> value (text for CSV, typed for Parquet)

_NEWLINES = re.compile(rb"\r\n|\r|\n")


# --- CUR bases --------------------------------------------------------------------------------------


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    return mf.read_cur_csv(path)


CUR_COLUMNS, _JUNE = _read(mf.CUR_JUNE_CSV)


def _line_item_id(seed: str) -> str:
    return hashlib.sha1(seed.encode()).hexdigest()  # noqa: S324 - an identifier, not security


def _multiline_row() -> dict[str, str]:
    """A June row whose description holds a newline, so the CSV row spans two physical lines."""
    row = dict(_JUNE[0])
    row.update(
        identity_line_item_id=_line_item_id("fuzz-multiline"),
        identity_time_interval="2026-06-11T00:00:00Z/2026-06-12T00:00:00Z",
        line_item_usage_start_date="2026-06-11T00:00:00Z",
        line_item_usage_end_date="2026-06-12T00:00:00Z",
        line_item_iam_principal="arn:aws:iam::123456789012:user/carol",
        line_item_usage_amount="3.5",
        line_item_unblended_cost="0.01155",
        pricing_public_on_demand_cost="0.01155",
        line_item_line_item_description="Claude Sonnet 4.6 input tokens\nsecond line of the description",
        resource_tags='{"user_team":"ml","user_application":"notebook"}',
        tags=json.dumps(
            {
                "iamPrincipal/team": "ml-platform",
                "iamPrincipal/application": "notebook",
                "iamPrincipal/cost-center": "777",
                "accountTag/environment": "dev",
            },
            separators=(",", ":"),
        ),
    )
    return row


def cur_june() -> list[dict[str, str]]:
    """The June 2026 fixture (19 rows, one of them EC2) with a two-line row inserted at index 5."""
    rows = [dict(r) for r in _JUNE]
    rows.insert(5, _multiline_row())
    return rows


def _shift_month(row: dict[str, str], old: str, new: str) -> dict[str, str]:
    return {k: v.replace(old, new) if isinstance(v, str) else v for k, v in row.items()}


def cur_july() -> list[dict[str, str]]:
    """The June base moved to July 2026 (other line item ids)."""
    rows = []
    for number, row in enumerate(cur_june()):
        moved = _shift_month(_shift_month(row, "2026-07", "2026-08"), "2026-06", "2026-07")
        moved["identity_line_item_id"] = _line_item_id(f"july-{number}")
        rows.append(moved)
    return rows


def cur_may() -> list[dict[str, str]]:
    return [dict(r) for r in _read(mf.CUR_MAY_CSV)[1]]


def cur_restated() -> list[dict[str, str]]:
    return [dict(r) for r in _read(mf.CUR_JUNE_RESTATED_CSV)[1]]


def cur_bait() -> list[dict[str, str]]:
    """A valid June CUR file outside the export folder; none of its rows may ever be imported."""
    rows = []
    for number, row in enumerate(_JUNE[:3]):
        bait = dict(row)
        bait.update(
            identity_line_item_id=_line_item_id(f"bait-{number}"),
            line_item_usage_account_id="999999999999",
            line_item_iam_principal="arn:aws:iam::999999999999:user/bait",
            line_item_unblended_cost="777.77",
        )
        rows.append(bait)
    return rows


def cur_big(count: int) -> list[dict[str, str]]:
    """`count` rows: the June fixture rows repeated, each with its own line item id."""
    rows = []
    for number in range(count):
        row = dict(_JUNE[number % len(_JUNE)])
        row["identity_line_item_id"] = _line_item_id(f"big-{number}")
        rows.append(row)
    return rows


def cur_big_template(index: int) -> int:
    """Which cur_june() row has the stored fields of cur_big() row `index` (the big base skips the inserted row)."""
    fixture_index = index % len(_JUNE)
    return fixture_index if fixture_index < 5 else fixture_index + 1


CUR_BASES = {
    "june": cur_june,
    "july": cur_july,
    "may": cur_may,
    "restated": cur_restated,
    "bait": cur_bait,
}


# --- CUR types (Parquet) ----------------------------------------------------------------------------


def cur_kind(column: str) -> str:
    if column in mf.TIMESTAMP_COLUMNS:
        return "timestamp"
    if column in mf.DOUBLE_COLUMNS:
        return "double"
    if column in mf.MAP_COLUMNS:
        return "map"
    return "string"


def typed_value(column: str, text: str) -> Any:
    """A CSV cell as the value a real Parquet export holds (what make_fixtures.csv_to_parquet writes)."""
    kind = cur_kind(column)
    if not text:
        return None
    if kind == "timestamp":
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).replace(tzinfo=None)
    if kind == "double":
        return float(text)
    if kind == "map":
        return list(json.loads(text).items())
    return text


def typed_row(row: dict[str, str]) -> CurRow:
    return {c: typed_value(c, row.get(c, "")) for c in CUR_COLUMNS}


def arrow_type(column: str) -> Any:
    import pyarrow as pa

    kind = cur_kind(column)
    return {
        "timestamp": pa.timestamp("ms"),
        "double": pa.float64(),
        "map": pa.map_(pa.string(), pa.string()),
        "string": pa.string(),
    }[kind]


# --- writers ----------------------------------------------------------------------------------------


def _cell_bytes(cell: Cell) -> bytes:
    data = cell if isinstance(cell, bytes) else cell.encode("utf-8", "surrogatepass")
    if any(ch in data for ch in (b",", b'"', b"\r", b"\n")):
        return b'"' + data.replace(b'"', b'""') + b'"'
    return data


def csv_bytes(header: Sequence[Cell], rows: Sequence[Sequence[Cell] | bytes]) -> tuple[bytes, list[int]]:
    """CSV text (minimal quoting, "\\n" line ends) and the physical start line of every row.

    A row given as bytes is written as is (a raw, possibly malformed line)."""
    out = bytearray(b",".join(_cell_bytes(c) for c in header) + b"\n")
    line = 1 + len(_NEWLINES.findall(bytes(out[:-1])))
    starts = []
    for row in rows:
        data = row if isinstance(row, bytes) else b",".join(_cell_bytes(c) for c in row)
        starts.append(line + 1)
        line += 1 + len(_NEWLINES.findall(data))
        out += data + b"\n"
    return bytes(out), starts


def write_bytes(path: Path, data: bytes, *, gz: bool) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        with gzip.GzipFile(path, "wb", mtime=0) as handle:
            handle.write(data)
    else:
        path.write_bytes(data)
    return path


def parquet_table(columns: Sequence[str], rows: Sequence[CurRow], types: dict[str, Any] | None = None) -> Any:
    import pyarrow as pa

    types = types or {}
    arrays = []
    fields = []
    for column in columns:
        array = pa.array([row.get(column) for row in rows], type=types.get(column) or arrow_type(column))
        arrays.append(array)
        fields.append(pa.field(column, array.type))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def write_parquet(path: Path, table: Any) -> list[int]:
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="snappy")
    return list(range(1, table.num_rows + 1))


def jsonl_bytes(lines: Sequence[bytes]) -> tuple[bytes, list[int]]:
    out = bytearray()
    starts = []
    line = 0
    for data in lines:
        starts.append(line + 1)
        line += 1 + len(_NEWLINES.findall(data))
        out += data + b"\n"
    return bytes(out), starts


def record_bytes(record: Any, *, ascii_only: bool = False, indent: int | None = None) -> bytes:
    """A record as JSON; records holding lone surrogates are always written with escapes."""
    if not ascii_only:
        text = json.dumps(record, ensure_ascii=False, indent=indent)
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:
            pass
    return json.dumps(record, ensure_ascii=True, indent=indent).encode("ascii")


# --- S3 layouts ---------------------------------------------------------------------------------------


def cur_data_dir(root: Path, period: str, export: str = mf.EXPORT) -> Path:
    return root / mf.PREFIX / export / "data" / f"BILLING_PERIOD={period}"


def cur_manifest(root: Path, period: str, data_files: Sequence[str], export: str = mf.EXPORT) -> Path:
    """A CUR 2.0 manifest listing `data_files` (s3:// URIs, written as given)."""
    meta = root / mf.PREFIX / export / "metadata" / f"BILLING_PERIOD={period}"
    meta.mkdir(parents=True, exist_ok=True)
    document = {
        "executionId": mf.EXECUTION_ID,
        "exportArn": mf.EXPORT_ARN,
        "columns": [{"name": c, "type": mf._athena_type(c)} for c in CUR_COLUMNS],
        "dataFiles": list(data_files),
    }
    path = meta / f"{export}-Manifest.json"
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path


def s3_uri(root: Path, path: Path) -> str:
    return f"s3://{mf.BUCKET}/{path.relative_to(root).as_posix()}"


def log_hour_dir(root: Path, region: str = "us-east-1", hour: str = "2026/06/03/14") -> Path:
    """The S3 folder of one hour of invocation logs, with the permission-check object next to it."""
    base = root / mf.LOG_PREFIX / "AWSLogs" / mf.ACCOUNT / "BedrockModelInvocationLogs"
    folder = base / region / hour
    (folder / "data").mkdir(parents=True, exist_ok=True)
    write_bytes(folder / "data" / "0f0e-large_input.json.gz", b'{"messages": []}', gz=True)
    (base / "amazon-bedrock-logs-permission-check").write_text("", encoding="utf-8")
    return folder


# --- invocation-log bases -------------------------------------------------------------------------------


def _fixture_records(path: Path) -> list[dict[str, Any]]:
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(record, dict) or not record.get("requestId"):
            continue
        tokens = [v for section in ("input", "output") for k, v in (record.get(section) or {}).items() if "Count" in k]
        if any(isinstance(t, int) and t < 0 for t in tokens):
            continue  # the fixture's deliberately broken record
        records.append(record)
    return records


def log_records() -> list[dict[str, Any]]:
    """Twelve valid records: invocations.jsonl (its broken lines left out), s3_delivery.jsonl, single-record.json."""
    records = _fixture_records(mf.LOGS_JSONL) + _fixture_records(mf.LOGS_S3_RECORDS)
    records.append(json.loads(mf.LOG_SINGLE_JSON.read_text(encoding="utf-8")))
    return records


def log_big(count: int) -> list[dict[str, Any]]:
    """`count` records: the base records repeated, each with its own requestId."""
    base = log_records()
    records = []
    for number in range(count):
        record = json.loads(json.dumps(base[number % len(base)]))
        record["requestId"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"fuzz-big-{number}"))
        records.append(record)
    return records
