"""Reading the other providers' billing files: find them, then read their records one at a time with the
line (CSV: physical line of the record's start; JSON lines: line; Parquet: row number, 1-based) so a bad
record is named by file and line. Pure: paths in, (line, record) out; what a record means is the caller's.

Formats: CSV (plain or gzip, a UTF-8 byte-order mark allowed: Azure writes one), newline-delimited JSON
(plain or gzip; BigQuery's export format for nested rows) and Parquet (read in record batches)."""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ingestion.parsers.common import FileUnreadable

CSV_SUFFIXES = (".csv", ".csv.gz")
JSON_SUFFIXES = (".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz")
PARQUET_SUFFIXES = (".parquet", ".snappy.parquet")
DAMAGED = (OSError, EOFError, zlib.error, UnicodeDecodeError)
FIELD_SIZE_LIMIT = 64 * 1024 * 1024


def file_format(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    if name.endswith(JSON_SUFFIXES):
        return "json"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    return None


def discover_files(paths: list[Path], *, formats: tuple[str, ...] = ("csv", "json", "parquet")) -> list[Path]:
    """Every readable file under `paths` (files as given, directories walked), sorted, each once.
    A path that does not exist is an error naming it; manifests and other files are left out."""
    found: list[Path] = []
    for path in paths:
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or directory")
        if path.is_dir():
            found.extend(p for p in sorted(path.rglob("*")) if p.is_file() and file_format(p) in formats)
        elif file_format(path) in formats:
            found.append(path)
        else:
            raise FileUnreadable(f"{path}: not a .csv, .csv.gz, .json(l)(.gz) or .parquet file")
    seen: set[Path] = set()
    unique = []
    for path in found:
        if path.resolve() not in seen:
            seen.add(path.resolve())
            unique.append(path)
    return unique


def _open_text(path: Path) -> io.TextIOBase:
    raw = gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")  # noqa: SIM115
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def read_columns(path: Path) -> list[str]:
    """The column names of a CSV or Parquet file (JSON lines: the keys of the first record)."""
    kind = file_format(path)
    try:
        if kind == "csv":
            with _open_text(path) as handle:
                return next(csv.reader(handle), [])
        if kind == "parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
        for _line, record in iter_records(path):
            return list(record)
        return []
    except DAMAGED as exc:
        raise FileUnreadable(f"{path}: cannot be read ({exc})") from exc
    except Exception as exc:  # pyarrow's errors have no common base worth naming
        raise FileUnreadable(f"{path}: cannot be read ({type(exc).__name__}: {exc})") from exc


def iter_records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, record) for every record of the file. A file that cannot be read at all (or breaks part-way:
    a cut gzip, bytes that are not UTF-8) raises FileUnreadable naming it."""
    kind = file_format(path)
    try:
        if kind == "csv":
            yield from _csv_records(path)
        elif kind == "json":
            yield from _json_records(path)
        elif kind == "parquet":
            yield from _parquet_records(path)
        else:
            raise FileUnreadable(f"{path}: not a .csv, .csv.gz, .json(l)(.gz) or .parquet file")
    except FileUnreadable:
        raise
    except DAMAGED as exc:
        raise FileUnreadable(f"{path}: cannot be read ({type(exc).__name__}: {exc}); nothing of it is loaded") from exc
    except csv.Error as exc:
        raise FileUnreadable(f"{path}: not valid CSV ({exc})") from exc


def _csv_records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    csv.field_size_limit(FIELD_SIZE_LIMIT)
    with _open_text(path) as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            return
        header = [name.strip() for name in header]
        line = reader.line_num + 1
        for values in reader:
            if values and any(v.strip() for v in values):
                if len(values) != len(header):
                    yield line, {"__error__": f"has {len(values)} fields, the header has {len(header)}"}
                else:
                    yield line, dict(zip(header, values, strict=True))
            line = reader.line_num + 1


def _json_records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with _open_text(path) as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except ValueError as exc:
                yield number, {"__error__": f"not a JSON object ({getattr(exc, 'msg', exc)})"}
                continue
            if not isinstance(record, dict):
                yield number, {"__error__": "not a JSON object"}
                continue
            yield number, record


def _parquet_records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several unrelated types for a bad file
        raise FileUnreadable(f"{path}: not a readable Parquet file ({exc})") from exc
    number = 0
    for batch in parquet.iter_batches(batch_size=5000):
        for record in batch.to_pylist():
            number += 1
            yield number, record


def flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested records (JSON, Parquet structs) as the dotted names BigQuery's CSV export uses
    (`service.description`); lists (labels, credits) are kept as lists."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat
