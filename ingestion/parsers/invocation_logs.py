"""Bedrock model invocation log reader (schema `ModelInvocationLog` 1.0).

Pure: file in, one dict per record out, with prompt and response bodies replaced by keyed hashes
(HMAC-SHA256 with the tenant's key) the moment they are read; bodies are never returned."""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ingestion.parsers.common import Batch, FileUnreadable, Rejected, parse_timestamp

LOG_SUFFIXES = (".json", ".jsonl", ".json.gz", ".jsonl.gz", ".ndjson", ".ndjson.gz")
PERMISSION_CHECK = "amazon-bedrock-logs-permission-check"


def keyed_hash(value: Any, key: bytes) -> str:
    """HMAC-SHA256 of canonical JSON, so equal prompts give equal hashes within one tenant only."""
    if value is None or value == "" or value == {}:
        return ""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key, canonical.encode("utf-8"), hashlib.sha256).hexdigest()


def _prompt_fingerprint(body: Any) -> Any:
    """The reusable prefix of a prompt (system prompt and tools) when there is one, else the whole
    body: repeated long system prompts then share a hash even when the user turns differ."""
    if isinstance(body, dict):
        prefix = {k: body[k] for k in ("system", "toolConfig", "tools") if body.get(k)}
        if prefix:
            return prefix
    return body


def _int(section: dict[str, Any], key: str, label: str) -> int:
    value = section.get(key)
    if value is None or value == "":
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{label} is not a whole number: {value!r}")
    try:
        number = int(value)
    except ValueError as exc:
        raise ValueError(f"{label} is not a whole number: {value!r}") from exc
    if number < 0:
        raise ValueError(f"{label} is negative: {number}")
    return number


def parse_record(record: Any, *, hash_key: bytes) -> dict[str, Any]:
    """One invocation-log record as typed fields. Raises ValueError naming the broken field."""
    if not isinstance(record, dict):
        raise ValueError("record is not a JSON object")
    schema = record.get("schemaType")
    if schema is not None and schema != "ModelInvocationLog":
        raise ValueError(f"schemaType is {schema!r}, expected 'ModelInvocationLog'")
    request_id = str(record.get("requestId") or "").strip()
    if not request_id:
        raise ValueError("requestId is missing")
    if not record.get("timestamp"):
        raise ValueError("timestamp is missing")
    try:
        timestamp = parse_timestamp(record["timestamp"])
    except ValueError as exc:
        raise ValueError(f"timestamp {record['timestamp']!r} is not an ISO-8601 time") from exc
    model_id = str(record.get("modelId") or "").strip()
    if not model_id:
        raise ValueError("modelId is missing")
    inp = record.get("input") or {}
    out = record.get("output") or {}
    if not isinstance(inp, dict) or not isinstance(out, dict):
        raise ValueError("input/output is not a JSON object")
    identity = record.get("identity") or {}
    metadata = record.get("requestMetadata") or {}
    if not isinstance(metadata, dict):
        raise ValueError("requestMetadata is not a JSON object")
    out_body = out.get("outputBodyJson")
    latency = None
    if isinstance(out_body, dict):
        metrics = out_body.get("metrics")
        if isinstance(metrics, dict) and isinstance(metrics.get("latencyMs"), int | float):
            latency = int(metrics["latencyMs"])
    performance = record.get("performanceConfig") or {}
    return {
        "request_id": request_id,
        "timestamp": timestamp,
        "account_id": str(record.get("accountId") or "").strip(),
        "identity_arn": str(identity.get("arn") or "").strip() if isinstance(identity, dict) else "",
        "region": str(record.get("region") or "").strip(),
        "inference_region": str(record.get("inferenceRegion") or "").strip(),
        "operation": str(record.get("operation") or "").strip(),
        "model_id": model_id,
        "input_tokens": _int(inp, "inputTokenCount", "input.inputTokenCount"),
        "cache_read_tokens": _int(inp, "cacheReadInputTokenCount", "input.cacheReadInputTokenCount"),
        "cache_write_tokens": _int(inp, "cacheWriteInputTokenCount", "input.cacheWriteInputTokenCount"),
        "output_tokens": _int(out, "outputTokenCount", "output.outputTokenCount"),
        "images": _int(out, "outputImageCount", "output.outputImageCount"),
        "latency_ms": latency,
        "request_metadata": {str(k): "" if v is None else str(v) for k, v in metadata.items()},
        "error_code": str(record.get("errorCode") or "").strip(),
        "status": str(record.get("status") or "").strip(),
        "service_tier": str(record.get("serviceTier") or "").strip().lower(),
        "performance_latency": str(performance.get("latency") or "") if isinstance(performance, dict) else "",
        "prompt_hash": keyed_hash(_prompt_fingerprint(inp.get("inputBodyJson")), hash_key)
        or keyed_hash(inp.get("inputBodyS3Path"), hash_key),
        "response_hash": keyed_hash(out_body, hash_key) or keyed_hash(out.get("outputBodyS3Path"), hash_key),
        "large_input": bool(inp.get("inputBodyS3Path")),
    }


def _open_text(path: Path) -> Any:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def _records(path: Path) -> Iterator[tuple[int, Any, str | None]]:
    """(line, decoded JSON or None, error) for newline-delimited JSON; a file that is one JSON
    document (an object over several lines, or a list) is read whole."""
    position = 0
    try:
        with _open_text(path) as handle:
            first = ""
            for first in handle:
                if first.strip():
                    break
            if not first.strip():
                return
            try:
                single = json.loads(first)
            except json.JSONDecodeError:
                single = None
            if single is None or isinstance(single, list):
                # Not one record per line: a whole JSON document (bounded by the 100 KB body limit
                # per record, so such files are small).
                text = first + handle.read()
                try:
                    document = json.loads(text)
                except json.JSONDecodeError:
                    # Newline-delimited after all, with a broken first line: reject line by line.
                    yield from _lines_from_text(text)
                    return
                items = document if isinstance(document, list) else [document]
                for number, item in enumerate(items, start=1):
                    yield number, item, None
                return
            position = 1
            yield position, single, None
            for line in handle:
                position += 1
                line_number = position
                if not line.strip():
                    continue
                try:
                    yield line_number, json.loads(line), None
                except json.JSONDecodeError as exc:
                    yield line_number, None, f"not valid JSON: {exc.msg} at column {exc.colno}"
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        if position == 0:
            raise FileUnreadable(f"{path}: cannot read: {exc}") from exc
        # A truncated gzip: keep what came before, reject the rest with the reason.
        yield position + 1, None, f"file ends unexpectedly: {exc}"


def _lines_from_text(text: str) -> Iterator[tuple[int, Any, str | None]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line), None
        except json.JSONDecodeError as exc:
            yield number, None, f"not valid JSON: {exc.msg} at column {exc.colno}"


def iter_log_file(path: Path, *, hash_key: bytes, batch_size: int = 5000) -> Iterator[Batch]:
    label = str(path)
    batch = Batch()
    for line, record, error in _records(path):
        batch.read += 1
        if error is not None:
            batch.rejected.append(Rejected(label, line, error))
        else:
            try:
                row = parse_record(record, hash_key=hash_key)
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
