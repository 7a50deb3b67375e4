"""Bedrock model invocation log reader (schema `ModelInvocationLog` 1.0).

Pure: file in, one dict per record out, with prompt and response bodies replaced by keyed hashes
(HMAC-SHA256 with the tenant's key) the moment they are read; bodies are never returned."""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from ingestion.parsers.bodies import reusable_prefix, stop_reason, uses_caching
from ingestion.parsers.common import Batch, FileUnreadable, Rejected, parse_timestamp

LOG_SUFFIXES = (".json", ".jsonl", ".json.gz", ".jsonl.gz", ".ndjson", ".ndjson.gz")
PERMISSION_CHECK = "amazon-bedrock-logs-permission-check"
DAMAGED = (OSError, EOFError, zlib.error)  # bad CRC or header, cut short, flipped bit in the deflate data
# A request's token count above this is not a real request (the largest context windows hold a
# few million tokens); it would only overflow the ledger and every total it joins.
MAX_REQUEST_TOKENS = 10**9
MAX_LATENCY_MS = 2**31 - 1
MAX_REQUEST_ID = 1024
MAX_MODEL_ID = 2048  # a model id may be a full inference-profile ARN
MAX_METADATA_TEXT = 256  # requestMetadata keys and values (the Converse API's limit)
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
ACCOUNT = re.compile(r"^\d{12}$")


def keyed_hash(value: Any, key: bytes) -> str:
    """HMAC-SHA256 of canonical JSON, so equal prompts give equal hashes within one tenant only."""
    if value is None or value == "" or value == {}:
        return ""
    try:
        canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except RecursionError as exc:
        raise ValueError("the request or response body is nested too deeply") from exc
    # surrogatepass: a body with a lone surrogate escape still hashes (it is never stored).
    return hmac.new(key, canonical.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def _prompt_fingerprint(body: Any) -> Any:
    """The reusable prefix of a prompt (system prompt and tools) when there is one, else the whole
    body: repeated long system prompts then share a hash even when the user turns differ."""
    if isinstance(body, dict):
        prefix = {k: body[k] for k in ("system", "toolConfig", "tools") if body.get(k)}
        if prefix:
            return prefix
    return body


def _count(section: dict[str, Any], key: str, label: str) -> int | None:
    """A token or image count: a whole number from 0 to MAX_REQUEST_TOKENS, or None when absent.

    1.7, "", [], false, NaN and Infinity are errors, never 0 or a rounded number."""
    if key not in section or section[key] is None:
        return None
    value = section[key]
    if isinstance(value, bool):
        raise ValueError(f"{label} is not a whole number: {value!r}")
    if isinstance(value, float):
        if not value.is_integer():  # also NaN and Infinity
            raise ValueError(f"{label} is not a whole number: {value!r}")
        value = int(value)
    elif isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
        value = int(value.strip())
    elif not isinstance(value, int):
        raise ValueError(f"{label} is not a whole number: {value!r:.60}")
    if value < 0:
        raise ValueError(f"{label} is negative: {value}")
    if value > MAX_REQUEST_TOKENS:
        raise ValueError(f"{label}={value} is out of range (at most {MAX_REQUEST_TOKENS:,} per request)")
    return value


def _section(record: dict[str, Any], key: str) -> dict[str, Any]:
    """`input` / `output` / `identity` ...: a JSON object, or absent (null counts as absent)."""
    value = record.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{key} is not a JSON object: {value!r:.60}")
    return value


def _text(section: dict[str, Any], key: str, label: str, *, limit: int = 256) -> str:
    """A text field: a string (or absent), at most `limit` characters, as delivered."""
    value = section.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{label} is not text: {value!r:.60}")
    value = value.strip()
    if len(value) > limit:
        raise ValueError(f"{label} is {len(value):,} characters long (at most {limit:,})")
    return value


def _region(record: dict[str, Any], key: str) -> str:
    value = _text(record, key, key, limit=32)
    if value and not REGION.match(value):
        raise ValueError(f"{key} {value!r} is not an AWS region code")
    return value


def _metadata(record: dict[str, Any]) -> dict[str, str]:
    metadata = _section(record, "requestMetadata")
    result: dict[str, str] = {}
    for key, value in metadata.items():
        if len(key) > MAX_METADATA_TEXT:
            raise ValueError(f"a requestMetadata key is {len(key):,} characters long (at most {MAX_METADATA_TEXT})")
        if value is None:
            value = ""
        elif isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        elif not isinstance(value, str):
            raise ValueError(f"requestMetadata[{key!r:.60}] is not text: {value!r:.60}")
        if len(value) > MAX_METADATA_TEXT:
            raise ValueError(
                f"requestMetadata[{key!r:.60}] is {len(value):,} characters long (at most {MAX_METADATA_TEXT})"
            )
        result[key] = value
    return result


def _latency(out_body: Any) -> int | None:
    if not isinstance(out_body, dict):
        return None
    metrics = out_body.get("metrics")
    if not isinstance(metrics, dict):
        return None
    value = metrics.get("latencyMs")
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if value != value or not 0 <= value <= MAX_LATENCY_MS:  # NaN, negative, or more than 24 days
        raise ValueError(f"output.outputBodyJson.metrics.latencyMs={value!r} is out of range (0 to {MAX_LATENCY_MS})")
    return round(value)


CACHE_READ_KEYS = ("cacheReadInputTokens", "cacheReadInputTokenCount", "cache_read_input_tokens")
CACHE_WRITE_KEYS = ("cacheWriteInputTokens", "cacheWriteInputTokenCount", "cache_creation_input_tokens")


def _body_usage(body: Any) -> dict[str, Any]:
    """The token usage a response body reports, merged: Converse `usage`, Anthropic Messages `usage`
    (InvokeModel), and in streamed bodies (a list of events) `message.usage`, the last `usage` and
    `amazon-bedrock-invocationMetrics`."""
    found: dict[str, Any] = {}
    events = body if isinstance(body, list) else [body]
    for event in events[:10_000]:
        if not isinstance(event, dict):
            continue
        for holder in (event, event.get("message"), event.get("chunk")):
            if isinstance(holder, dict):
                for key in ("usage", "amazon-bedrock-invocationMetrics"):
                    if isinstance(holder.get(key), dict):
                        found.update(holder[key])
    return found


def _one_hour_writes(usage: dict[str, Any]) -> int:
    """Cache-write tokens kept for 1 hour: Converse `cacheDetails` [{ttl, inputTokens}] or Anthropic's
    `cache_creation.ephemeral_1h_input_tokens`."""
    details = usage.get("cacheDetails")
    if isinstance(details, list):
        total = 0
        for item in details:
            if isinstance(item, dict) and str(item.get("ttl", "")).lower() == "1h":
                total += _count(item, "inputTokens", "usage.cacheDetails[ttl=1h].inputTokens") or 0
        return total
    creation = usage.get("cache_creation")
    if isinstance(creation, dict):
        return _count(creation, "ephemeral_1h_input_tokens", "usage.cache_creation.ephemeral_1h_input_tokens") or 0
    return 0


def parse_record(record: Any, *, hash_key: bytes) -> dict[str, Any]:
    """One invocation-log record as typed fields. Raises ValueError naming the broken field."""
    if not isinstance(record, dict):
        raise ValueError("record is not a JSON object")
    schema = record.get("schemaType")
    if schema is not None and schema != "ModelInvocationLog":
        raise ValueError(f"schemaType is {schema!r:.60}, expected 'ModelInvocationLog'")
    request_id = _text(record, "requestId", "requestId", limit=MAX_REQUEST_ID)
    if not request_id:
        raise ValueError("requestId is missing")
    if record.get("timestamp") in (None, ""):
        raise ValueError("timestamp is missing")
    try:
        timestamp = parse_timestamp(record["timestamp"])
    except ValueError as exc:
        raise ValueError(f"timestamp: {exc}") from exc
    model_id = _text(record, "modelId", "modelId", limit=MAX_MODEL_ID)
    if not model_id:
        raise ValueError("modelId is missing")
    account_id = _text(record, "accountId", "accountId", limit=12)
    if account_id and not ACCOUNT.match(account_id):
        raise ValueError(f"accountId {account_id!r} is not a 12-digit AWS account id")
    inp = _section(record, "input")
    out = _section(record, "output")
    identity = _section(record, "identity")
    performance = _section(record, "performanceConfig")
    metadata = _metadata(record)
    out_body = out.get("outputBodyJson")
    usage = _body_usage(out_body)
    counts = {
        "input_tokens": _count(inp, "inputTokenCount", "input.inputTokenCount"),
        "cache_read_tokens": _count(inp, "cacheReadInputTokenCount", "input.cacheReadInputTokenCount"),
        "cache_write_tokens": _count(inp, "cacheWriteInputTokenCount", "input.cacheWriteInputTokenCount"),
        "output_tokens": _count(out, "outputTokenCount", "output.outputTokenCount"),
        "images": _count(out, "outputImageCount", "output.outputImageCount"),
    }
    # InvokeModel records of Claude carry the cache counts only in the response body's usage.
    for name, keys in (("cache_read_tokens", CACHE_READ_KEYS), ("cache_write_tokens", CACHE_WRITE_KEYS)):
        if counts[name] is None:
            counts[name] = next(
                (_count(usage, key, f"output.outputBodyJson usage.{key}") for key in keys if key in usage), None
            )
    cache_write_1h = _one_hour_writes(usage)
    if cache_write_1h and cache_write_1h > (counts["cache_write_tokens"] or 0):
        raise ValueError(
            f"the response body says {cache_write_1h:,} tokens were cached for 1 hour, more than the "
            f"{counts['cache_write_tokens'] or 0:,} cache-write tokens of the record"
        )
    return {
        "request_id": request_id,
        "timestamp": timestamp,
        "account_id": account_id,
        "identity_arn": _text(identity, "arn", "identity.arn", limit=2048),
        "region": _region(record, "region"),
        "inference_region": _region(record, "inferenceRegion"),
        "operation": _text(record, "operation", "operation", limit=128),
        "model_id": model_id,
        **{name: value or 0 for name, value in counts.items()},
        "cache_write_1h_tokens": cache_write_1h,
        # Neither an input nor an output count: what the request used is unknown (not zero).
        "counts_missing": counts["input_tokens"] is None and counts["output_tokens"] is None and not counts["images"],
        "latency_ms": _latency(out_body),
        "request_metadata": metadata,
        "error_code": _text(record, "errorCode", "errorCode", limit=128),
        "status": _text(record, "status", "status", limit=64),
        "service_tier": _text(record, "serviceTier", "serviceTier", limit=64).lower(),
        "performance_latency": _text(performance, "latency", "performanceConfig.latency", limit=64),
        "prompt_hash": keyed_hash(_prompt_fingerprint(inp.get("inputBodyJson")), hash_key)
        or keyed_hash(inp.get("inputBodyS3Path"), hash_key),
        "response_hash": keyed_hash(out_body, hash_key) or keyed_hash(out.get("outputBodyS3Path"), hash_key),
        "large_input": bool(inp.get("inputBodyS3Path")),
        **_body_facts(inp.get("inputBodyJson"), out_body, counts, hash_key),
    }


def _body_facts(body: Any, out_body: Any, counts: dict[str, int | None], hash_key: bytes) -> dict[str, Any]:
    """Prefix hash and length, caching and stop reason: what the recommenders need from the bodies."""
    delivered = isinstance(body, dict)
    try:
        prefix = reusable_prefix(body) if delivered else None
    except RecursionError as exc:
        raise ValueError("the request body is nested too deeply") from exc
    return {
        "prefix_hash": keyed_hash(prefix[0], hash_key) if prefix else "",
        "prefix_chars": (prefix[1] if prefix else 0) if delivered else None,
        "uses_caching": bool(counts["cache_read_tokens"] or counts["cache_write_tokens"]) or uses_caching(body),
        "stop_reason": stop_reason(out_body),
    }


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


def _line_record(number: int, raw: bytes, *, first: bool = False) -> tuple[int, Any, str | None] | None:
    if not raw.strip():
        return None
    text, error = _decode(raw, first=first)
    if error is not None:
        return number, None, error
    record, error = _loads(text or "")
    return number, record, error


def _records_in(handle: IO[bytes]) -> Iterator[tuple[int, Any, str | None]]:
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
                yield index, item, None
            return
        # Newline-delimited after all, with a broken first line: line by line.
        for offset, raw in enumerate(whole.split(b"\n")):
            found = _line_record(number + offset, raw, first=offset == 0)
            if found:
                yield found
        return
    yield number, single, json_error
    for raw in handle:
        number += 1
        found = _line_record(number, raw)
        if found:
            yield found


def _records(path: Path) -> Iterator[tuple[int, Any, str | None]]:
    """(line, decoded JSON or None, error) for newline-delimited JSON, each line decoded on its own
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
