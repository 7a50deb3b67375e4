"""FOCUS rows -> a CSV or Parquet file, in the FOCUS column order with the FOCUS types."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, BinaryIO

from finops.exports.columns import (
    COLUMNS,
    CUSTOM_DECIMAL_COLUMNS,
    CUSTOM_INTEGER_COLUMNS,
    DATETIME_COLUMNS,
    DECIMAL_COLUMNS,
)
from finops.exports.focus import cell_text

FORMATS = ("csv", "parquet")
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}
# Decimal(38, 18): dollars up to 10^20 and unit prices to 18 places, so that unit price x quantity
# equals the cost to far better than the validator's 1e-9.
DECIMAL_SCALE = 18
QUANTUM = Decimal(1).scaleb(-DECIMAL_SCALE)
PARQUET_BATCH = 5000


class ExportFormatError(ValueError):
    pass


def write_csv(rows: Iterable[dict[str, Any]], handle: BinaryIO) -> None:
    """UTF-8, a header row, nulls as empty cells (the validator and most readers take those as null)."""
    text = io.TextIOWrapper(handle, encoding="utf-8", newline="", write_through=True)
    try:
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow([cell_text(c, row[c]) for c in COLUMNS])
        text.flush()
    finally:
        text.detach()  # leave the caller's file open


def parquet_schema() -> Any:
    import pyarrow as pa

    fields = []
    for name in COLUMNS:
        if name in DECIMAL_COLUMNS or name in CUSTOM_DECIMAL_COLUMNS:
            kind = pa.decimal128(38, DECIMAL_SCALE)
        elif name in DATETIME_COLUMNS:
            kind = pa.timestamp("s", tz="UTC")
        elif name in CUSTOM_INTEGER_COLUMNS:
            kind = pa.int64()
        else:
            kind = pa.string()
        fields.append(pa.field(name, kind, nullable=True))
    return pa.schema(fields)


def _parquet_value(name: str, value: Any) -> Any:
    if isinstance(value, Decimal):
        return value.quantize(QUANTUM)
    return value


def write_parquet(rows: Iterable[dict[str, Any]], handle: BinaryIO) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = parquet_schema()
    with pq.ParquetWriter(handle, schema) as writer:
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append({c: _parquet_value(c, row[c]) for c in COLUMNS})
            if len(batch) >= PARQUET_BATCH:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                batch = []
        # An empty period still writes the schema: a valid, empty FOCUS file.
        writer.write_table(pa.Table.from_pylist(batch, schema=schema))


def write_rows(rows: Iterable[dict[str, Any]], handle: BinaryIO, fmt: str) -> None:
    if fmt == "csv":
        write_csv(rows, handle)
    elif fmt == "parquet":
        write_parquet(rows, handle)
    else:
        raise ExportFormatError(f"Unknown format {fmt!r}: use csv or parquet.")
