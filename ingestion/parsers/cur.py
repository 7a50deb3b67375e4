"""CUR 2.0 reader: CSV (plain or gzip) and Parquet files, read in batches so memory stays bounded.

Pure: file in, raw Bedrock rows out. Mapping to ledger fields (catalog, tags, units) is in
ingestion.normalize. Non-Bedrock rows are counted as skipped; broken rows are rejected with the
file and line (CSV: physical line; Parquet: row number) and the rest of the file still loads."""

from __future__ import annotations

import csv
import gzip
import json
import re
import zlib
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from ingestion.parsers.common import (
    Batch,
    FileUnreadable,
    Rejected,
    billing_period_from_path,
    month_start,
    parse_decimal,
    parse_map,
    parse_timestamp,
)

REQUIRED_COLUMNS = ("line_item_usage_type", "line_item_unblended_cost", "line_item_usage_start_date")
MAP_COLUMNS = ("product", "resource_tags", "tags", "cost_category", "discount")
BEDROCK_OPERATIONS = {"InvokeModelInference", "InvokeModelStreamingInference"}
CUR_SUFFIXES = (".csv", ".csv.gz", ".parquet")
# What a damaged gzip raises while it is read: a bad CRC or header (gzip.BadGzipFile, an OSError),
# a cut-off stream (EOFError), a flipped bit inside the deflate data (zlib.error).
DAMAGED = (OSError, EOFError, zlib.error)
# A CUR row is one physical line unless a quoted field holds a line break; a record that would
# swallow more lines than this is a stray quote, not a real row.
MAX_LINES_PER_ROW = 50
NOT_UTF8 = re.compile("[\udc80-\udcff]")  # what surrogateescape makes of bytes that are not UTF-8
# One CUR line of a billion dollars, or of 10^15 units, is a broken value (and would overflow sums).
MAX_LINE_DOLLARS = Decimal(10**9)
MAX_USAGE_AMOUNT = Decimal(10**15)
FIELD_SIZE_LIMIT = 64 * 1024 * 1024  # read over-long cells whole, so they are rejected by name, not split


@dataclass(frozen=True)
class CurFile:
    path: Path
    billing_period: Any  # date | None, from the BILLING_PERIOD= path segment
    manifest: Path | None = None


def _loose(mapping: dict[str, Any], key: str) -> str:
    value = mapping.get(key)
    return value if isinstance(value, str) else ""


def is_bedrock(raw: dict[str, Any], product: dict[str, str]) -> bool:
    """The robust filter of the reference (A.7): family, product code, product name or operation."""
    if _loose(raw, "product_product_family").strip().lower() == "amazon bedrock":
        return True
    if "bedrock" in _loose(raw, "line_item_product_code").lower():
        return True
    for key in ("product_name", "servicename"):
        if "bedrock" in _loose(product, key).lower():
            return True
    if "bedrock" in _loose(raw, "product_servicecode").lower():
        return True
    return _loose(raw, "line_item_operation").strip() in BEDROCK_OPERATIONS


def _text(raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    if value.__class__ is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # an account id written as a number in Parquet
    raise ValueError(f"{key} is not text: {type(value).__name__}")


def _timestamp(raw: dict[str, Any], key: str) -> datetime:
    value = raw.get(key)
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    try:
        return parse_timestamp(value)
    except ValueError as exc:
        raise ValueError(f"{key}: {exc}") from exc


def _money(raw: dict[str, Any], key: str, *, blank_ok: bool = True) -> Decimal | None:
    return parse_decimal(raw.get(key), field_name=key, blank_ok=blank_ok, bound=MAX_LINE_DOLLARS)


def row_billing_period(raw: dict[str, Any]) -> date:
    """The billing period a row says it belongs to: its bill_billing_period_start_date, else the
    month of its usage."""
    period_raw = raw.get("bill_billing_period_start_date")
    if period_raw not in (None, ""):
        return month_start(_timestamp(raw, "bill_billing_period_start_date"))
    return month_start(_timestamp(raw, "line_item_usage_start_date"))


def parse_cur_row(raw: dict[str, Any], *, file: str, line: int) -> dict[str, Any] | None:
    """One CUR record as a dict of typed values; None when it is not a Bedrock row.

    Raises ValueError naming the field when a value is broken."""
    product = parse_map(raw.get("product"), field_name="product") if "product" in raw else {}
    if not is_bedrock(raw, product):
        return None  # rows of other services are skipped whatever their other columns hold
    maps = {
        name: parse_map(raw.get(name), field_name=name) for name in MAP_COLUMNS if name in raw and name != "product"
    }
    usage_start = _timestamp(raw, "line_item_usage_start_date")
    end_raw = raw.get("line_item_usage_end_date")
    usage_end = _timestamp(raw, "line_item_usage_end_date") if end_raw not in (None, "") else usage_start
    if usage_end < usage_start:
        raise ValueError("line_item_usage_end_date is before line_item_usage_start_date")
    billing_period = row_billing_period(raw)
    cost = _money(raw, "line_item_unblended_cost", blank_ok=False)
    return {
        "file": file,
        "line": line,
        "line_item_id": _text(raw, "identity_line_item_id"),
        "time_interval": _text(raw, "identity_time_interval"),
        "line_item_type": _text(raw, "line_item_line_item_type") or "Usage",
        "billing_entity": _text(raw, "bill_billing_entity"),
        "payer_account_id": _text(raw, "bill_payer_account_id"),
        "usage_account_id": _text(raw, "line_item_usage_account_id"),
        "product_code": _text(raw, "line_item_product_code"),
        "usage_type": _text(raw, "line_item_usage_type"),
        "operation": _text(raw, "line_item_operation"),
        "description": _text(raw, "line_item_line_item_description"),
        "usage_start": usage_start,
        "usage_end": usage_end,
        "billing_period": billing_period,
        "usage_amount": parse_decimal(
            raw.get("line_item_usage_amount"), field_name="line_item_usage_amount", bound=MAX_USAGE_AMOUNT
        ),
        "unblended_cost": cost,
        "net_unblended_cost": _money(raw, "line_item_net_unblended_cost"),
        "unblended_rate": _money(raw, "line_item_unblended_rate"),
        "public_on_demand_cost": _money(raw, "pricing_public_on_demand_cost"),
        "pricing_unit": _text(raw, "pricing_unit") or _text(raw, "product_pricing_unit"),
        "currency": _text(raw, "line_item_currency_code") or "USD",
        "iam_principal": _text(raw, "line_item_iam_principal"),
        "user_identifier": _text(raw, "line_item_user_identifier"),
        "resource_id": _text(raw, "line_item_resource_id"),
        "region_code": _text(raw, "product_region_code") or product.get("region", ""),
        "product": product,
        "resource_tags": maps.get("resource_tags", {}),
        "tags": maps.get("tags", {}),
    }


class _Lines:
    """The physical lines of a text file, numbered, with push-back, so a record that turns out to
    be a stray quote can be reduced to its first line and the lines it swallowed read again."""

    def __init__(self, handle: TextIO) -> None:
        self._handle = handle
        self._pushback: deque[tuple[int, str]] = deque()
        self.number = 0
        self.taken: list[tuple[int, str]] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self._pushback:
            item = self._pushback.popleft()
        else:
            text = next(self._handle)
            self.number += 1
            item = (self.number, text)
        self.taken.append(item)
        return item[1]

    def push_back(self, items: list[tuple[int, str]]) -> None:
        self._pushback.extendleft(reversed(items))


def _open_csv(path: Path) -> TextIO:
    # Bytes that are not UTF-8 become lone surrogates instead of stopping the read, so only the
    # row that holds them is rejected, and the line numbers of every other row stay right.
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8-sig", errors="surrogateescape", newline="")  # type: ignore[return-value]
    return open(path, encoding="utf-8-sig", errors="surrogateescape", newline="")  # noqa: SIM115


def _bad_encoding(values: list[str], header: list[str] | None = None) -> str | None:
    if not NOT_UTF8.search("".join(values)):  # the usual case: one search over the row, not one per value
        return None
    for index, value in enumerate(values):
        if NOT_UTF8.search(value):
            column = header[index] if header and index < len(header) else f"column {index + 1}"
            return f"not valid UTF-8 (a byte in {column} is not UTF-8)"
    return None


def _csv_header(reader: Any, path: Path) -> list[str]:
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise FileUnreadable(f"{path}: cannot read the CSV header: {exc}") from exc
    if not header:
        raise FileUnreadable(f"{path}: the file is empty (no header row)")
    header = [h.strip() for h in header]
    if _bad_encoding(header):
        raise FileUnreadable(f"{path}: the header row is not valid UTF-8")
    repeated = sorted(name for name, count in Counter(header).items() if count > 1 and name)
    if repeated:
        raise FileUnreadable(
            f"{path}: column(s) {', '.join(repeated)} appear more than once in the header; "
            "which one holds the data is ambiguous, so the file is not loaded"
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise FileUnreadable(f"{path}: not a CUR 2.0 file: missing column(s) {', '.join(missing)}")
    return header


def _starts_a_row(taken: list[tuple[int, str]], width: int) -> bool:
    """Whether these lines begin with a complete record of the right width (so they were swallowed)."""
    try:
        first = next(csv.reader(text for _, text in taken), None)
    except csv.Error:
        return False
    return first is not None and len(first) == width


def _rows_from_csv(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """(line number, record or None, error) for every data line of a CSV file.

    The whole file is read before anything is trusted: a damaged gzip raises FileUnreadable
    (loading part of it would replace the billing period with part of its rows)."""
    csv.field_size_limit(FIELD_SIZE_LIMIT)
    try:
        handle = _open_csv(path)
        lines = _Lines(handle)
        reader = csv.reader(lines)
        header = _csv_header(reader, path)
    except DAMAGED as exc:
        raise FileUnreadable(f"{path}: cannot read as CSV (damaged or not CSV): {exc}") from exc
    width = len(header)
    with handle:
        while True:
            lines.taken = []
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                first, rest = lines.taken[0], lines.taken[1:]
                lines.push_back(rest)
                yield first[0], None, f"malformed CSV: {exc}"
                continue
            except DAMAGED as exc:
                what = "file ends unexpectedly" if isinstance(exc, EOFError) else "file is damaged"
                raise FileUnreadable(
                    f"{path}: {what} after line {lines.number}: {exc} (nothing from this file is loaded)"
                ) from exc
            taken = lines.taken
            if not taken:
                return
            start = taken[0][0]
            if not values or (len(values) == 1 and not values[0].strip()):
                continue
            if len(values) != width or len(taken) > MAX_LINES_PER_ROW:
                if len(taken) > 1 and _starts_a_row(taken[1:], width):
                    # A stray quote joined this line with rows after it: reject this line and read the
                    # swallowed lines again as rows of their own.
                    lines.push_back(taken[1:])
                    yield start, None, "malformed CSV: a quote opened on this line is not closed"
                    continue
                # One record (maybe over several lines, as a quoted line break allows) of the wrong width.
                yield start, None, f"expected {width} fields, found {len(values)}"
                continue
            encoding_error = _bad_encoding(values, header)
            if encoding_error:
                yield start, None, encoding_error
                continue
            yield start, dict(zip(header, values, strict=True)), None


def _parquet_records(record_batch: Any) -> list[tuple[dict[str, Any] | None, str | None]]:
    """A record batch as Python rows; when a value cannot be converted (a timestamp out of range),
    only its row is rejected."""
    try:
        return [(record, None) for record in record_batch.to_pylist()]
    except Exception:  # noqa: BLE001 - pyarrow raises several types; fall back to row by row
        rows: list[tuple[dict[str, Any] | None, str | None]] = []
        for index in range(record_batch.num_rows):
            try:
                rows.append((record_batch.slice(index, 1).to_pylist()[0], None))
            except Exception as exc:  # noqa: BLE001
                rows.append((None, f"unreadable value: {exc}"))
        return rows


TIME_COLUMNS = (
    "line_item_usage_start_date",
    "line_item_usage_end_date",
    "bill_billing_period_start_date",
    "bill_billing_period_end_date",
)
NUMBER_COLUMNS = (
    "line_item_usage_amount",
    "line_item_unblended_cost",
    "line_item_net_unblended_cost",
    "line_item_unblended_rate",
    "pricing_public_on_demand_cost",
)
TEXT_COLUMNS = (
    "identity_line_item_id",
    "identity_time_interval",
    "line_item_line_item_type",
    "bill_billing_entity",
    "bill_payer_account_id",
    "line_item_usage_account_id",
    "line_item_product_code",
    "line_item_usage_type",
    "line_item_operation",
    "line_item_line_item_description",
    "pricing_unit",
    "product_pricing_unit",
    "line_item_currency_code",
    "line_item_iam_principal",
    "line_item_user_identifier",
    "line_item_resource_id",
    "product_region_code",
    "product_product_family",
    "product_servicecode",
)


def _column_type_error(name: str, arrow_type: Any) -> str | None:
    """Why a Parquet column's type cannot hold what the CUR 2.0 column holds, or None."""
    import pyarrow as pa
    import pyarrow.types as t

    def texty(kind: Any) -> bool:
        if t.is_dictionary(kind):
            kind = kind.value_type
        return t.is_string(kind) or t.is_large_string(kind) or t.is_null(kind)

    if texty(arrow_type):
        return None
    if name in MAP_COLUMNS:
        if t.is_map(arrow_type) and texty(arrow_type.key_type) and texty(arrow_type.item_type):
            return None
        return "a map of text to text"
    if name in TIME_COLUMNS:
        return None if t.is_timestamp(arrow_type) or t.is_date(arrow_type) else "a timestamp"
    if name in NUMBER_COLUMNS:
        ok = t.is_floating(arrow_type) or t.is_integer(arrow_type) or t.is_decimal(arrow_type)
        return None if ok else "a number"
    if name in TEXT_COLUMNS:
        return None if t.is_integer(arrow_type) and arrow_type != pa.bool_() else "text"
    return None


def _rows_from_parquet(path: Path, batch_size: int) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        names = parquet.schema_arrow.names
    except Exception as exc:  # pyarrow raises several types for a corrupt file
        raise FileUnreadable(f"{path}: cannot read as Parquet: {exc}") from exc
    repeated = sorted(name for name, count in Counter(names).items() if count > 1)
    if repeated:
        raise FileUnreadable(f"{path}: column(s) {', '.join(repeated)} appear more than once; the file is not loaded")
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise FileUnreadable(f"{path}: not a CUR 2.0 file: missing column(s) {', '.join(missing)}")
    for field in parquet.schema_arrow:
        expected = _column_type_error(field.name, field.type)
        if expected:
            raise FileUnreadable(
                f"{path}: column {field.name} has type {field.type}, but it holds {expected} in CUR 2.0; "
                "the file is not loaded"
            )
    number = 0
    batches = parquet.iter_batches(batch_size=batch_size)
    while True:
        try:
            record_batch = next(batches, None)
        except Exception as exc:  # corrupt pages surface only while reading; same reason as a damaged gzip
            raise FileUnreadable(f"{path}: cannot read as Parquet after row {number}: {exc}") from exc
        if record_batch is None:
            return
        for record, error in _parquet_records(record_batch):
            number += 1
            yield number, record, error


def iter_cur_file(path: Path, *, batch_size: int = 5000) -> Iterator[Batch]:
    """Batches of Bedrock rows from one CUR file. Raises FileUnreadable when nothing can be read
    or the file is cut short (a partial file must not replace its billing period)."""
    name = path.name.lower()
    if name.endswith(".parquet"):
        source = _rows_from_parquet(path, batch_size)
    elif name.endswith(".csv") or name.endswith(".csv.gz"):
        source = _rows_from_csv(path)
    else:
        raise FileUnreadable(f"{path}: not a CUR data file (expected .csv, .csv.gz or .parquet)")
    label = str(path)
    batch = Batch()
    for line, record, error in source:
        batch.read += 1
        if error is not None or record is None:
            batch.rejected.append(Rejected(label, line, error or "unreadable row"))
        else:
            try:
                row = parse_cur_row(record, file=label, line=line)
            except ValueError as exc:
                batch.rejected.append(Rejected(label, line, str(exc)))
            else:
                if row is None:
                    batch.skipped["not a Bedrock row"] += 1
                else:
                    batch.rows.append(row)
        if batch.read >= batch_size:
            yield batch
            batch = Batch()
    if batch.read or batch.rejected:
        yield batch


def file_billing_periods(path: Path) -> Counter[date]:
    """How many rows of a file name each billing period (its bill_billing_period_start_date, else
    its usage month). Used for a file delivered outside the BILLING_PERIOD= layout: the period it
    replaces is the one most of its rows name, never whatever its first row says."""
    name = path.name.lower()
    if name.endswith(".parquet"):
        source = _rows_from_parquet(path, 5000)
    elif name.endswith(".csv") or name.endswith(".csv.gz"):
        source = _rows_from_csv(path)
    else:
        raise FileUnreadable(f"{path}: not a CUR data file (expected .csv, .csv.gz or .parquet)")
    periods: Counter[date] = Counter()
    for _line, record, error in source:
        if error is None and record is not None:
            try:
                periods[row_billing_period(record)] += 1
            except ValueError:
                continue
    return periods


# --- finding files ----------------------------------------------------------------------------


def _is_data_file(path: Path) -> bool:
    name = path.name.lower()
    return path.is_file() and name.endswith(CUR_SUFFIXES)


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def files_from_manifest(manifest: Path) -> list[CurFile]:
    """The data files a CUR 2.0 manifest lists, found next to it in the S3 layout.

    A listed file must lie inside the export's folder: a manifest is data from outside, and a
    `../` in it must never make the importer read another file on this disk."""
    try:
        document = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise FileUnreadable(f"{manifest}: not a readable manifest: {exc}") from exc
    data_files = document.get("dataFiles") if isinstance(document, dict) else None
    if not isinstance(data_files, list):
        raise FileUnreadable(f"{manifest}: the manifest has no dataFiles list")
    # <root>/<export>/metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json -> <root>/<export>
    export_root = manifest.parent.parent.parent if manifest.parent.parent.name == "metadata" else manifest.parent
    period = billing_period_from_path(str(manifest))
    found: list[CurFile] = []
    for uri in data_files:
        if not isinstance(uri, str) or not uri.strip() or "\x00" in uri:
            raise FileUnreadable(f"{manifest}: a dataFiles entry is not a file name: {uri!r:.200}")
        key = uri.strip()
        marker = key.find("/data/")
        relative = key[marker + 1 :] if marker >= 0 else Path(key).name
        local = export_root / relative
        if not _inside(local, export_root):
            raise FileUnreadable(
                f"{manifest}: listed data file {key!r:.300} points outside the export folder {export_root}; refused"
            )
        if not local.exists():
            name = Path(key).name
            alternative = manifest.parent / name
            if name in ("", ".", "..") or not alternative.is_file() or not _inside(alternative, export_root):
                raise FileUnreadable(f"{manifest}: listed data file {key!r:.300} was not found at {local}")
            local = alternative
        if not local.is_file() or not local.name.lower().endswith(CUR_SUFFIXES):
            raise FileUnreadable(f"{manifest}: listed data file {key!r:.300} is not a CUR data file")
        found.append(CurFile(local, period or billing_period_from_path(str(local)), manifest))
    return found


def discover_cur_files(paths: list[Path]) -> list[CurFile]:
    """Expand paths (files, manifests, directories) into data files. In a directory that holds
    manifests, the manifests say which files are current; otherwise every data file counts."""
    result: list[CurFile] = []
    seen: set[Path] = set()

    def add(item: CurFile) -> None:
        resolved = item.path.resolve()
        if resolved not in seen:
            seen.add(resolved)
            result.append(item)

    for path in paths:
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or directory")
        if path.is_dir():
            manifests = sorted(p for p in path.rglob("*.json") if p.name.lower().endswith("manifest.json"))
            if manifests:
                for manifest in manifests:
                    for item in files_from_manifest(manifest):
                        add(item)
            else:
                for data in sorted(p for p in path.rglob("*") if _is_data_file(p)):
                    add(CurFile(data, billing_period_from_path(str(data))))
        elif path.name.lower().endswith(".json"):
            for item in files_from_manifest(path):
                add(item)
        else:
            add(CurFile(path, billing_period_from_path(str(path))))
    return result
