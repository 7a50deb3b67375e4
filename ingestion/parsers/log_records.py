"""One Bedrock invocation-log record (schema `ModelInvocationLog` 1.0) as typed fields: the definition.

`parse_record_exact` checks every field in order and names the first that is wrong; the import's fast path
(ingestion.parsers.log_fast) gives the same row for the common record and falls back to it for any other.
Prompt and response bodies are replaced by keyed hashes (HMAC-SHA256 with the tenant's key) the moment they
are read; bodies are never returned."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any

from ingestion.parsers.bodies import reusable_prefix, stop_reason, uses_caching
from ingestion.parsers.common import parse_timestamp

# A request's token count above this is not a real request (the largest context windows hold a
# few million tokens); it would only overflow the ledger and every total it joins.
MAX_REQUEST_TOKENS = 10**9
MAX_LATENCY_MS = 2**31 - 1
MAX_REQUEST_ID = 1024
MAX_MODEL_ID = 2048  # a model id may be a full inference-profile ARN
MAX_METADATA_TEXT = 256  # requestMetadata keys and values (the Converse API's limit)
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
ACCOUNT = re.compile(r"^\d{12}$")


# json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False), without building the encoder
# for every call. Stored prompt hashes must keep matching across versions: never change this encoding.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_KEYED: dict[bytes, hmac.HMAC] = {}  # hash key -> HMAC-SHA256 with the key already absorbed


def canonical_json(value: Any) -> str:
    """The text a body is hashed as (callers check for None, "" and {} first)."""
    try:
        return _CANONICAL.encode(value)
    except RecursionError as exc:
        raise ValueError("the request or response body is nested too deeply") from exc


def keyed_digest(canonical: str, key: bytes) -> str:
    """HMAC-SHA256 (hex) of canonical text with the tenant's key."""
    # surrogatepass: a body with a lone surrogate escape still hashes (it is never stored).
    data = canonical.encode("utf-8", "surrogatepass")
    if type(key) is not bytes:
        return hmac.new(key, data, hashlib.sha256).hexdigest()
    base = _KEYED.get(key)
    if base is None:
        if len(_KEYED) >= 64:
            _KEYED.clear()
        base = _KEYED[key] = hmac.new(key, digestmod=hashlib.sha256)
    keyed = base.copy()
    keyed.update(data)
    return keyed.hexdigest()


def keyed_hash(value: Any, key: bytes) -> str:
    """HMAC-SHA256 of canonical JSON, so equal prompts give equal hashes within one tenant only."""
    if value is None or value == "" or value == {}:
        return ""
    return keyed_digest(canonical_json(value), key)


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


def parse_record_exact(record: Any, *, hash_key: bytes) -> dict[str, Any]:
    """One invocation-log record as typed fields. Raises ValueError naming the broken field (the first, in
    the order below: which reason a record with two problems gets is part of the behaviour)."""
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
