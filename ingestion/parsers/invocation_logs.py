"""Bedrock model invocation log reader (schema `ModelInvocationLog` 1.0).

Pure: file in, one dict per record out, with prompt and response bodies replaced by keyed hashes
(HMAC-SHA256 with the tenant's key) the moment they are read; bodies are never returned. A record is read by
ingestion.parsers.log_fast when it is the common case, else by ingestion.parsers.log_records (the definition,
which names what is wrong); both give the same row."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from ingestion.parsers.common import Batch, FileUnreadable, Rejected
from ingestion.parsers.log_fast import parse_fast
from ingestion.parsers.log_records import (  # noqa: F401 - the names this module has always had
    ACCOUNT,
    MAX_LATENCY_MS,
    MAX_METADATA_TEXT,
    MAX_MODEL_ID,
    MAX_REQUEST_ID,
    MAX_REQUEST_TOKENS,
    REGION,
    keyed_hash,
    parse_record_exact,
)

LOG_SUFFIXES = (".json", ".jsonl", ".json.gz", ".jsonl.gz", ".ndjson", ".ndjson.gz")
PERMISSION_CHECK = "amazon-bedrock-logs-permission-check"
DAMAGED = (OSError, EOFError, zlib.error)  # bad CRC or header, cut short, flipped bit in the deflate data


def parse_record(record: Any, *, hash_key: bytes, line: bytes | None = None) -> dict[str, Any]:
    """One invocation-log record as typed fields. Raises ValueError naming the broken field.

    `line`: the text the record was decoded from, when it is one line of the file."""
    row = parse_fast(record, hash_key, line)
    return row if row is not None else parse_record_exact(record, hash_key=hash_key)


def _open_binary(path: Path) -> IO[bytes]:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb")  # noqa: SIM115


def _decode(raw: bytes, *, first: bool = False) -> tuple[str | None, str | None]:
    try:
        return raw.decode("utf-8-sig" if first else "utf-8"), None
    except UnicodeDecodeError as exc:
        return None, f"not valid UTF-8 (byte {exc.start + 1} of the line)"


def _loads(text: str) -> tuple[Any, str | None]:
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON: {exc.msg} at column {exc.colno}"
    except RecursionError:
        return None, "not valid JSON: nested too deeply"
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        return None, f"not valid JSON: {exc}"


Found = tuple[int, Any, str | None, bytes | None]  # (line, decoded JSON or None, error, its text if one line)


def _line_record(number: int, raw: bytes, *, first: bool = False) -> Found | None:
    if not raw.strip():
        return None
    text, error = _decode(raw, first=first)
    if error is not None:
        return number, None, error, None
    record, error = _loads(text or "")
    return number, record, error, raw


def _records_in(handle: IO[bytes]) -> Iterator[Found]:
    number = 0
    first = b""
    for first in handle:
        number += 1
        if first.strip():
            break
    if not first.strip():
        return
    text, error = _decode(first, first=True)
    single, json_error = _loads(text) if text is not None else (None, error)
    if text is not None and (isinstance(single, list) or (json_error and text.lstrip()[:1] in ("{", "["))):
        # Not one record per line: a whole JSON document (an object over several lines, or a list).
        whole = first + handle.read()
        document, whole_error = _decode(whole, first=True)
        if whole_error is None:
            document, whole_error = _loads(document or "")
        if whole_error is None:
            items = document if isinstance(document, list) else [document]
            for index, item in enumerate(items, start=1):
                yield index, item, None, None
            return
        # Newline-delimited after all, with a broken first line: line by line.
        for offset, raw in enumerate(whole.split(b"\n")):
            found = _line_record(number + offset, raw, first=offset == 0)
            if found:
                yield found
        return
    yield number, single, json_error, first
    for raw in handle:
        number += 1
        found = _line_record(number, raw)
        if found:
            yield found


def _records(path: Path) -> Iterator[Found]:
    """(line, decoded JSON or None, error, the line's text) for newline-delimited JSON, each line decoded on its own
    (a byte that is not UTF-8 rejects its line only); a file that is one JSON document (an object
    over several lines, or a list) is read whole. A damaged gzip (bad CRC, cut short, flipped bit)
    raises FileUnreadable: none of its records can be trusted."""
    try:
        with _open_binary(path) as handle:
            yield from _records_in(handle)
    except DAMAGED as exc:
        what = "file ends unexpectedly" if isinstance(exc, EOFError) else "damaged or not what its name says"
        raise FileUnreadable(f"{path}: cannot read: {what} ({exc}); nothing from this file is loaded") from exc


def iter_log_file(path: Path, *, hash_key: bytes, batch_size: int = 5000) -> Iterator[Batch]:
    label = str(path)
    batch = Batch()
    for line, record, error, text in _records(path):
        batch.read += 1
        if error is not None:
            batch.rejected.append(Rejected(label, line, error))
        else:
            try:
                row = parse_record(record, hash_key=hash_key, line=text)
            except ValueError as exc:
                batch.rejected.append(Rejected(label, line, str(exc)))
            else:
                row["file"], row["line"] = label, line
                batch.rows.append(row)
        if batch.read >= batch_size:
            yield batch
            batch = Batch()
    if batch.read:
        yield batch


def is_skipped_object(path: Path) -> str | None:
    """Why an object in the S3 log layout is not a log file, or None."""
    if path.name.startswith(PERMISSION_CHECK):
        return "permission-check object"
    if "data" in path.parts[:-1]:
        return "large-payload data object"
    return None


def discover_log_files(paths: list[Path]) -> tuple[list[Path], dict[str, int]]:
    """Log files under the given paths, and counts of the objects skipped (and why)."""
    files: list[Path] = []
    skipped: dict[str, int] = {}
    for path in paths:
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or directory")
        candidates = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for candidate in candidates:
            relative = candidate.relative_to(path) if path.is_dir() else Path(candidate.name)
            reason = is_skipped_object(relative)
            if reason is None and not candidate.name.lower().endswith(LOG_SUFFIXES):
                reason = "not a log file" if path.is_dir() else None
            if reason:
                skipped[reason] = skipped.get(reason, 0) + 1
                continue
            files.append(candidate)
    return files, skipped
