"""The import's fast path for one invocation-log record: the row `parse_record_exact` gives, for a record with
nothing unusual in it, worked out with less Python per record.

`parse_fast` never raises and never names a problem: for anything it does not handle as the common case (a
count written as 12.0 or "12", a value that is not text, a region that does not look like one, an error of
any kind) it returns None and the caller runs `parse_record_exact`, which gives the row or the reason exactly
as before (tests/ingestion/test_log_fast_path.py holds the two to each other). What it saves:

* one json.JSONEncoder and one HMAC key schedule per tenant key, not per body (log_records.keyed_digest);
* the system prompt and tools are encoded once for both the prompt hash and the prefix hash (the canonical
  JSON of a dict is its sorted items' texts joined, so the prefix's text is put together from the same parts);
* no search for cache markers in a prompt body whose canonical text names none, or (when the body has a
  system prompt or tools, so the whole body is not encoded) whose record's line names none;
* region and account id patterns are matched once per distinct value."""

from __future__ import annotations

from typing import Any

from ingestion.parsers.bodies import reusable_prefix, stop_reason, uses_caching
from ingestion.parsers.common import parse_timestamp
from ingestion.parsers.log_records import (
    ACCOUNT,
    CACHE_READ_KEYS,
    CACHE_WRITE_KEYS,
    MAX_METADATA_TEXT,
    MAX_MODEL_ID,
    MAX_REQUEST_ID,
    MAX_REQUEST_TOKENS,
    REGION,
    _body_usage,
    _latency,
    _one_hour_writes,
    canonical_json,
    keyed_digest,
)

PREFIX_KEYS = ("system", "toolConfig", "tools")  # also their sorted order, as the canonical JSON writes them
MARKER_KEYS = ('"cachePoint"', '"cache_control"')
_BAD = object()  # a value the fast path does not take: parse_record_exact decides
_GOOD_REGIONS: set[str] = set()
_GOOD_ACCOUNTS: set[str] = set()
MAX_GOOD = 4096  # distinct regions / account ids remembered as matching


def _text(value: Any, limit: int) -> Any:
    if value is None:
        return ""
    if type(value) is not str:
        return _BAD
    value = value.strip()
    return value if len(value) <= limit else _BAD


def _matches(value: str, pattern: Any, good: set[str]) -> bool:
    if not value or value in good:
        return True
    if not pattern.match(value):
        return False
    if len(good) >= MAX_GOOD:
        good.clear()
    good.add(value)
    return True


def _section(value: Any) -> Any:
    if value is None:
        return {}
    return value if isinstance(value, dict) else _BAD


def _count(section: dict[str, Any], key: str) -> Any:
    value = section.get(key)
    if value is None:
        return None
    if type(value) is int and 0 <= value <= MAX_REQUEST_TOKENS:
        return value
    return _BAD


def _usage_count(usage: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if key in usage:
            return _count(usage, key)
    return None


def _metadata(value: Any) -> Any:
    if value is None:
        return {}
    if not isinstance(value, dict):
        return _BAD
    result: dict[str, str] = {}
    for key, text in value.items():
        if text is None:
            text = ""
        elif type(text) is not str:
            return _BAD
        if len(key) > MAX_METADATA_TEXT or len(text) > MAX_METADATA_TEXT:
            return _BAD
        result[key] = text
    return result


def _usage(out_body: Any) -> dict[str, Any]:
    if not isinstance(out_body, dict):
        return _body_usage(out_body)
    found: dict[str, Any] = {}
    for holder in (out_body, out_body.get("message"), out_body.get("chunk")):
        if isinstance(holder, dict):
            for key in ("usage", "amazon-bedrock-invocationMetrics"):
                value = holder.get(key)
                if isinstance(value, dict):
                    found.update(value)
    return found


def _hash(value: Any, key: bytes) -> str:
    if value is None or value == "" or value == {}:
        return ""
    return keyed_digest(canonical_json(value), key)


def may_mark(line: bytes | None) -> bool:
    """Whether a record read from this line could hold a cache marker key: the line names one, or has a \\u00
    escape (the only kind that spells an ASCII letter). None: the line is not known."""
    return line is None or b"cachePoint" in line or b"cache_control" in line or b"\\u00" in line


def _prompt_hashes(body: Any, cached: bool, line: bytes | None, key: bytes) -> tuple[str, str, Any, bool]:
    """(prompt hash, prefix hash, prefix characters, uses caching) of the request body, as _prompt_fingerprint,
    keyed_hash and _body_facts give them."""
    if not isinstance(body, dict):
        prompt = _hash(body, key)
        used = cached or (may_mark(line) and uses_caching(body))
        return prompt, "", None, used
    texts = {k: canonical_json(body[k]) for k in PREFIX_KEYS if body.get(k)}
    if texts:
        prompt = keyed_digest("{" + ",".join(f'"{k}":{text}' for k, text in texts.items()) + "}", key)
        markers = may_mark(line)
    elif body:
        whole = canonical_json(body)
        markers = any(marker in whole for marker in MARKER_KEYS)
        prompt = keyed_digest(whole, key)
    else:
        prompt, markers = "", False
    prefix = reusable_prefix(body, markers=markers)
    prefix_hash = ""
    if prefix:
        parts = []
        for part in prefix[0]:
            (name, value), *_ = part.items()
            if name == "tools" and value is body.get("tools"):
                text = texts["tools"]
            else:
                text = texts["system"] if name == "system" else canonical_json(value)
            parts.append(f'{{"{name}":{text}}}')
        prefix_hash = keyed_digest("[" + ",".join(parts) + "]", key)
    used = cached or (markers and uses_caching(body))
    return prompt, prefix_hash, prefix[1] if prefix else 0, used


def parse_fast(record: Any, hash_key: bytes, line: bytes | None = None) -> dict[str, Any] | None:
    """parse_record_exact's row, or None when the record is not the common case (then run that).

    `line`: the text the record was decoded from, if known (it tells where no cache marker can be)."""
    try:
        return _parse(record, hash_key, line)
    except Exception:  # noqa: BLE001 - whatever it is, parse_record_exact gives the row or the reason
        return None


def _parse(record: Any, hash_key: bytes, line: bytes | None) -> dict[str, Any] | None:  # noqa: C901, PLR0911, PLR0912
    if type(record) is not dict:
        return None
    get = record.get
    schema = get("schemaType")
    if schema is not None and schema != "ModelInvocationLog":
        return None
    request_id = _text(get("requestId"), MAX_REQUEST_ID)
    model_id = _text(get("modelId"), MAX_MODEL_ID)
    account_id = _text(get("accountId"), 12)
    stamp = get("timestamp")
    if _BAD in (request_id, model_id, account_id) or not request_id or not model_id or stamp is None or stamp == "":
        return None
    if not _matches(account_id, ACCOUNT, _GOOD_ACCOUNTS):
        return None
    timestamp = parse_timestamp(stamp)
    inp, out = _section(get("input")), _section(get("output"))
    identity, performance = _section(get("identity")), _section(get("performanceConfig"))
    metadata = _metadata(get("requestMetadata"))
    if _BAD in (inp, out, identity, performance, metadata):
        return None
    out_body = out.get("outputBodyJson")
    usage = _usage(out_body)
    input_tokens = _count(inp, "inputTokenCount")
    cache_read = _count(inp, "cacheReadInputTokenCount")
    cache_write = _count(inp, "cacheWriteInputTokenCount")
    output_tokens = _count(out, "outputTokenCount")
    images = _count(out, "outputImageCount")
    if cache_read is None:
        cache_read = _usage_count(usage, CACHE_READ_KEYS)
    if cache_write is None:
        cache_write = _usage_count(usage, CACHE_WRITE_KEYS)
    if _BAD in (input_tokens, cache_read, cache_write, output_tokens, images):
        return None
    cache_write_1h = _one_hour_writes(usage)
    if cache_write_1h and cache_write_1h > (cache_write or 0):
        return None
    texts = (
        _text(identity.get("arn"), 2048),
        _text(get("region"), 32),
        _text(get("inferenceRegion"), 32),
        _text(get("operation"), 128),
        _text(get("errorCode"), 128),
        _text(get("status"), 64),
        _text(get("serviceTier"), 64),
        _text(performance.get("latency"), 64),
    )
    if _BAD in texts:
        return None
    arn, region, inference_region, operation, error_code, status, tier, performance_latency = texts
    if not _matches(region, REGION, _GOOD_REGIONS) or not _matches(inference_region, REGION, _GOOD_REGIONS):
        return None
    latency = _latency(out_body)
    body = inp.get("inputBodyJson")
    prompt_hash, prefix_hash, prefix_chars, caching = _prompt_hashes(
        body, bool(cache_read or cache_write), line, hash_key
    )
    return {
        "request_id": request_id,
        "timestamp": timestamp,
        "account_id": account_id,
        "identity_arn": arn,
        "region": region,
        "inference_region": inference_region,
        "operation": operation,
        "model_id": model_id,
        "input_tokens": input_tokens or 0,
        "cache_read_tokens": cache_read or 0,
        "cache_write_tokens": cache_write or 0,
        "output_tokens": output_tokens or 0,
        "images": images or 0,
        "cache_write_1h_tokens": cache_write_1h,
        "counts_missing": input_tokens is None and output_tokens is None and not images,
        "latency_ms": latency,
        "request_metadata": metadata,
        "error_code": error_code,
        "status": status,
        "service_tier": tier.lower(),
        "performance_latency": performance_latency,
        "prompt_hash": prompt_hash or _hash(inp.get("inputBodyS3Path"), hash_key),
        "response_hash": _hash(out_body, hash_key) or _hash(out.get("outputBodyS3Path"), hash_key),
        "large_input": bool(inp.get("inputBodyS3Path")),
        "prefix_hash": prefix_hash,
        "prefix_chars": prefix_chars,
        "uses_caching": caching,
        "stop_reason": stop_reason(out_body),
    }
