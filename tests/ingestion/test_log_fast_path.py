"""The fast paths of the invocation-log import (ingestion.parsers.log_fast, normalize_log_record's `_Static`)
give what the implementation before them gave, value for value and reason for reason.

The reference below is that implementation, frozen (parse_record and the body helpers of
ingestion/parsers/invocation_logs.py and bodies.py as they were before the fast paths, docstrings and comments
left out): do not change it to make a test pass. The normaliser's reference is normalize_log_record_exact, the
earlier normalize_log_record kept unchanged in ingestion/normalize_logs_exact.py as the fast path's fallback.
Compared over every invocation-log fixture, a Bedrock-style S3 delivery, a few days of the demo's logs, and
generated dirty records and rows (hypothesis)."""

# ruff: noqa: C901, PLR0911, PLR0912, PLR0915, E501

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finops.ledger.catalog import Catalog, CatalogModel, PriceEntry
from finops.ledger.selectors import catalog_load
from ingestion.normalize_logs import normalize_log_record

# The log normaliser as it was before the fast path, kept word for word in production as its fallback.
from ingestion.normalize_logs_exact import normalize_log_record_exact as ref_normalize_log_record
from ingestion.parsers import invocation_logs
from ingestion.parsers.common import parse_timestamp
from tests.fixtures import make_fixtures as mf
from tests.ingestion.test_parser_properties import JSON_VALUES, LOG_FIELDS, _set

pytestmark = pytest.mark.django_db

# --- the reference (frozen) -----------------------------------------------------------------------------------
CACHE_MARKERS = ("cachePoint", "cache_control")
MAX_DEPTH = 64  # bodies nested deeper than this are not prompts worth measuring


def _has_marker(value: Any, depth: int = 0) -> bool:
    if depth > MAX_DEPTH:
        return False
    if isinstance(value, dict):
        return any(m in value for m in CACHE_MARKERS) or any(_has_marker(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return any(_has_marker(v, depth + 1) for v in value)
    return False


def text_length(value: Any, depth: int = 0) -> int:
    if depth > MAX_DEPTH:
        return 0
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(
            text_length(v, depth + 1)
            for k, v in value.items()
            if k not in {"type", "role", "cachePoint", "cache_control", "ttl"}
        )
    if isinstance(value, list):
        return sum(text_length(v, depth + 1) for v in value)
    return 0


def _blocks(message: Any) -> list[Any]:
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        return [{"text": content}]
    return list(content) if isinstance(content, list) else []


def reusable_prefix(body: Any) -> tuple[Any, int] | None:
    if not isinstance(body, dict):
        return None
    parts: list[Any] = []
    if body.get("system"):
        parts.append({"system": body["system"]})
    tool_config = body.get("toolConfig")
    tools = body.get("tools") or (tool_config.get("tools") if isinstance(tool_config, dict) else None)
    if tools:
        parts.append({"tools": tools})
    messages = body.get("messages")
    if isinstance(messages, list):
        flat = [(index, block) for index, message in enumerate(messages) for block in _blocks(message)]
        marked = [n for n, (_, block) in enumerate(flat) if _has_marker(block)]
        if marked:
            parts.append({"messages": [block for _, block in flat[: marked[-1] + 1]]})
    if not parts:
        return None
    chars = sum(
        len(json.dumps(part["tools"], ensure_ascii=False)) if "tools" in part else text_length(part) for part in parts
    )
    return parts, chars


def uses_caching(body: Any) -> bool:
    return _has_marker(body)


def stop_reason(body: Any) -> str:
    events = body if isinstance(body, list) else [body]
    found = ""
    for event in events[:10_000]:
        if not isinstance(event, dict):
            continue
        for holder in (event, event.get("messageStop"), event.get("delta"), event.get("message")):
            if isinstance(holder, dict):
                for key in ("stopReason", "stop_reason", "completionReason"):
                    if isinstance(holder.get(key), str) and holder[key]:
                        found = holder[key]
    return found[:32]


MAX_REQUEST_TOKENS = 10**9
MAX_LATENCY_MS = 2**31 - 1
MAX_REQUEST_ID = 1024
MAX_MODEL_ID = 2048  # a model id may be a full inference-profile ARN
MAX_METADATA_TEXT = 256  # requestMetadata keys and values (the Converse API's limit)
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
ACCOUNT = re.compile(r"^\d{12}$")


def keyed_hash(value: Any, key: bytes) -> str:
    if value is None or value == "" or value == {}:
        return ""
    try:
        canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except RecursionError as exc:
        raise ValueError("the request or response body is nested too deeply") from exc
    return hmac.new(key, canonical.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def _prompt_fingerprint(body: Any) -> Any:
    if isinstance(body, dict):
        prefix = {k: body[k] for k in ("system", "toolConfig", "tools") if body.get(k)}
        if prefix:
            return prefix
    return body


def _count(section: dict[str, Any], key: str, label: str) -> int | None:
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
    value = record.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{key} is not a JSON object: {value!r:.60}")
    return value


def _text(section: dict[str, Any], key: str, label: str, *, limit: int = 256) -> str:
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


def ref_parse_record(record: Any, *, hash_key: bytes) -> dict[str, Any]:
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


# --- the comparison ---------------------------------------------------------------------------------------------
HASH_KEY = b"fast-path-test-key"
MAPPINGS = (
    {"team": ["team"], "application": ["application"]},
    {"user_id": ["user"], "agent_id": ["Agent"], "team": ["team", "traceId"], "session_id": ["session"]},
)
FIXTURE_LOGS = sorted(p for p in (Path(mf.__file__).parent / "invocation_logs").iterdir() if p.is_file())


def _outcome(function: Any, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
    """What a call gives: its dict's keys in order and each value's type and repr (so Decimal("1") is not
    Decimal("1.0000000000") and NaN is NaN), or its error's type and text."""
    try:
        result = function(*copy.deepcopy(args), **kwargs)
    except Exception as exc:  # noqa: BLE001 - the error is the outcome being compared
        return ("error", type(exc).__name__, str(exc))
    return ("row", [(key, type(value).__name__, repr(value)) for key, value in result.items()])


def _same_parse(record: Any, line: bytes | None = None) -> tuple[Any, ...]:
    expected = _outcome(ref_parse_record, record, hash_key=HASH_KEY)
    assert _outcome(invocation_logs.parse_record, record, hash_key=HASH_KEY, line=line) == expected
    if line is None:  # the record's own text as the line (what the reader passes)
        text = json.dumps(record).encode("utf-8", "surrogatepass")
        assert _outcome(invocation_logs.parse_record, record, hash_key=HASH_KEY, line=text) == expected
    return expected


def _same_normalise(raw: Any, catalog: Catalog) -> None:
    for mapping in MAPPINGS:
        for float_storage in (False, True):
            kwargs = {"catalog": catalog, "mapping": mapping, "float_storage": float_storage}
            expected = _outcome(ref_normalize_log_record, raw, **kwargs)
            assert _outcome(normalize_log_record, raw, **kwargs) == expected, (raw, mapping, float_storage)
            assert _outcome(normalize_log_record, raw, **kwargs) == expected  # now from the caches


def _check_file(path: Path, catalog: Catalog) -> int:
    """Every record of a log file: the reader's rows and reasons are the reference's, and so is each row's
    normalisation. Returns the number of rows."""
    expected_rows, expected_rejected = [], []
    for line, record, error, _ in invocation_logs._records(path):
        if error is not None:
            expected_rejected.append((line, error))
            continue
        try:
            row = ref_parse_record(record, hash_key=HASH_KEY)
        except ValueError as exc:
            expected_rejected.append((line, str(exc)))
        else:
            expected_rows.append(_outcome(dict, {**row, "file": str(path), "line": line}))
    batches = list(invocation_logs.iter_log_file(path, hash_key=HASH_KEY, batch_size=7))
    assert [_outcome(dict, row) for b in batches for row in b.rows] == expected_rows
    assert [(r.line, r.reason) for b in batches for r in b.rejected] == expected_rejected
    for row in (row for b in batches for row in b.rows):
        _same_normalise(row, catalog)
    return len(expected_rows)


@pytest.mark.parametrize("path", FIXTURE_LOGS, ids=lambda p: p.name)
def test_fixture_logs_give_what_they_gave(path: Path) -> None:
    assert _check_file(path, catalog_load()) or path.name == "invocations.jsonl"


def test_an_s3_delivery_and_the_demo_logs_give_what_they_gave(tmp_path: Path) -> None:
    from finops.demo.generator import generate_demo

    catalog = catalog_load()
    delivery = mf.write_log_delivery(tmp_path / "bucket")
    demo = generate_demo(tmp_path / "demo", end_date=date(2026, 6, 30), days=2).invocation_log_dir
    files, _ = invocation_logs.discover_log_files([delivery, demo])
    assert sum(_check_file(path, catalog) for path in files) > 500


_SHARED: list[Catalog] = []


def _shared_catalog() -> Catalog:
    if not _SHARED:
        _SHARED.append(catalog_load())
    return _SHARED[0]


def _catalog() -> Catalog:
    """A small catalog with what the shared one may lack: a long-context threshold, a provisioned model ARN
    mapped to a model, regional and global prices, a tier with no price."""
    catalog = Catalog()
    sonnet = CatalogModel(
        "anthropic.claude-sonnet-4-6", "Sonnet", "Anthropic", "claude", "frontier", "ACTIVE", False, 200_000
    )
    catalog.add_model(sonnet, ["arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc"])
    catalog.add_model(CatalogModel("amazon.nova-lite-v1:0", "Nova", "Amazon", "nova", "efficient", "ACTIVE", False), [])
    for token_type, usd in (("input", "3"), ("output", "15"), ("cache_read", "0.3"), ("cache_write", "3.75")):
        for route, context in (("", ""), ("global", ""), ("", "long")):
            catalog.add_price(
                PriceEntry(
                    sonnet.model_id,
                    token_type,
                    route,
                    "standard",
                    "",
                    "",
                    Decimal(usd) * (2 if context else 1),
                    "1M tokens",
                    date(2024, 1, 1),
                    None,
                    context,
                )  # fmt: skip
            )
    catalog.add_price(PriceEntry("amazon.nova-lite-v1:0", "input", "", "standard", "us-east-1", "", Decimal("0.06"), "1M tokens", date(2026, 6, 1), None))  # fmt: skip
    return catalog


MODEL_IDS = st.sampled_from([
    "us.anthropic.claude-sonnet-4-6", "global.anthropic.claude-sonnet-4-6", "anthropic.claude-sonnet-4-6",
    "amazon.nova-lite-v1:0", "eu.amazon.nova-lite-v1:0", "unknown.model-v9", "",
    "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc",
    "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/xyz",
    "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-6",
])  # fmt: skip
ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**16),
    st.floats(),
    st.text(max_size=300),
    st.just("x\x00y"),
    st.just({}),
)
ROW_VALUES = {
    "model_id": MODEL_IDS | ODD,
    "timestamp": st.datetimes(timezones=st.just(UTC)) | st.datetimes() | ODD,
    "input_tokens": st.integers(0, 400_000) | ODD,
    "output_tokens": st.integers(0, 5000) | ODD,
    "cache_read_tokens": st.integers(0, 300_000) | ODD,
    "cache_write_tokens": st.integers(0, 300_000) | ODD,
    "cache_write_1h_tokens": st.integers(0, 1000) | ODD,
    "images": st.integers(0, 3) | ODD,
    "latency_ms": st.integers(0, 2**31) | ODD,
    "service_tier": st.sampled_from(["", "default", "flex", "priority", "reserved", "batch", "odd"]) | ODD,
    "performance_latency": st.sampled_from(["", "optimized", "Optimized", "standard"]) | ODD,
    "region": st.sampled_from(["us-east-1", "", "eu-west-3", "US-EAST-1"]) | ODD,
    "inference_region": st.sampled_from(["us-west-2", "", "nowhere"]) | ODD,
    "account_id": st.sampled_from(["123456789012", "", "12345"]) | ODD,
    "identity_arn": st.sampled_from(["arn:aws:iam::123456789012:user/alice", "arn:aws:sts::123456789012:assumed-role/R/s", "x"]) | ODD,
    "error_code": st.sampled_from(["", "ThrottlingException"]) | ODD,
    "counts_missing": st.booleans() | ODD,
    "request_id": st.text(min_size=1, max_size=200) | ODD,
    "request_metadata": st.dictionaries(st.sampled_from(["team", "user", "Agent", "traceId", "session", "x" * 300]), st.text(max_size=20) | ODD, max_size=4) | ODD,
    "prompt_hash": st.sampled_from(["", "a" * 64, "a" * 65]) | ODD,
    "stop_reason": st.sampled_from(["", "end_turn", "x" * 33]) | ODD,
}  # fmt: skip
PROPERTY = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], deadline=None)
BASE_RECORDS = [r for path in FIXTURE_LOGS for _, r, error, _ in invocation_logs._records(path) if isinstance(r, dict)]  # fmt: skip
BASE_ROWS = [dict(row) for path in FIXTURE_LOGS for b in invocation_logs.iter_log_file(path, hash_key=HASH_KEY) for row in b.rows]  # fmt: skip


@PROPERTY
@given(
    which=st.integers(0, 100),
    changes=st.dictionaries(st.sampled_from(sorted(ROW_VALUES)), st.none(), max_size=5),
    data=st.data(),
)
def test_any_row_normalises_as_it_did(which: int, changes: dict[str, Any], data: st.DataObject) -> None:
    raw = dict(BASE_ROWS[which % len(BASE_ROWS)])
    for name in changes:
        if data.draw(st.booleans()):
            raw.pop(name, None)
        else:
            raw[name] = data.draw(ROW_VALUES[name])
    for catalog in (_catalog(), _shared_catalog()):
        _same_normalise(raw, catalog)


BODY_TEXT = st.text(max_size=30) | st.sampled_from(["", "é", "\\u0063achePoint", "cachePoint", "\ud800", "\x00"])
BLOCK = st.fixed_dictionaries({"text": BODY_TEXT}, optional={"cachePoint": st.just({"type": "default"}), "cache_control": st.just({"type": "ephemeral"})})  # fmt: skip
MESSAGES = st.lists(st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant"]), "content": st.lists(BLOCK, max_size=3) | BODY_TEXT}), max_size=3)  # fmt: skip
BODIES = st.fixed_dictionaries(
    {},
    optional={
        "system": st.lists(BLOCK, max_size=2) | BODY_TEXT,
        "tools": st.lists(st.dictionaries(st.text(max_size=5), JSON_VALUES, max_size=2), max_size=2),
        "toolConfig": st.fixed_dictionaries({}, optional={"tools": st.lists(JSON_VALUES, max_size=2)}) | JSON_VALUES,
        "messages": MESSAGES | JSON_VALUES,
        "Z": JSON_VALUES,
    },
) | JSON_VALUES  # fmt: skip


@PROPERTY
@given(
    changes=st.lists(st.tuples(st.sampled_from(LOG_FIELDS), JSON_VALUES), max_size=4),
    body=BODIES,
    out_body=BODIES,
    which=st.integers(0, 100),
    escaped=st.booleans(),
)
def test_any_record_parses_as_it_did(changes: list, body: Any, out_body: Any, which: int, escaped: bool) -> None:
    record = copy.deepcopy(BASE_RECORDS[which % len(BASE_RECORDS)])
    _set(record, "input.inputBodyJson", body)
    _set(record, "output.outputBodyJson", out_body)
    for path, value in changes:
        _set(record, path, value)
    _same_parse(record)
    # The reader's view: the record's line as written (\\u escapes or not), and the rows it gives.
    line = json.dumps(record, ensure_ascii=escaped).encode("utf-8", "surrogatepass")
    if escaped:  # a marker key spelled with an escape: the same record
        line = line.replace(b'"cachePoint"', b'"\\u0063achePoint"')
    assert json.loads(line) == json.loads(json.dumps(record)) or "NaN" in json.dumps(record)
    _same_parse(record, line)
    try:
        row = ref_parse_record(record, hash_key=HASH_KEY)
    except ValueError:
        return
    _same_normalise(row, _catalog())


def test_keyed_hash_is_the_canonical_json_hmac() -> None:
    for value in (
        {"b": [1, 2.5, None], "a": "é\ud800\x00"},
        "x",
        0,
        [],
        [{}],
        {"z": {"y": float("nan")}},
        {},
        "",
        None,
    ):
        assert invocation_logs.keyed_hash(value, HASH_KEY) == keyed_hash(value, HASH_KEY)


def test_a_changed_catalog_is_used_at_once() -> None:
    catalog = _catalog()
    raw = dict(
        BASE_ROWS[0], model_id="amazon.nova-lite-v1:0", region="us-east-1", timestamp=datetime(2026, 6, 2, tzinfo=UTC)
    )
    raw.update(input_tokens=1000, output_tokens=0, cache_read_tokens=0, cache_write_tokens=0, cache_write_1h_tokens=0)
    _same_normalise(raw, catalog)
    catalog.add_price(PriceEntry("amazon.nova-lite-v1:0", "input", "", "standard", "us-east-1", "", Decimal("0.08"), "1M tokens", date(2026, 6, 2), None))  # fmt: skip
    _same_normalise(raw, catalog)
    catalog.add_model(CatalogModel("x.unknown", "X", "X", "x", "efficient", "ACTIVE", False), ["amazon.nova-lite-v1:0"])
    _same_normalise(raw, catalog)
    assert normalize_log_record(raw, catalog=catalog, mapping={})["model_id"] == "x.unknown"


def test_the_comparison_sees_a_difference() -> None:
    raw = dict(BASE_ROWS[0], model_id="anthropic.claude-sonnet-4-6")
    expected = _outcome(ref_normalize_log_record, raw, catalog=_catalog(), mapping={})
    assert expected == _outcome(normalize_log_record, raw, catalog=_catalog(), mapping={})
    row = ref_normalize_log_record(dict(raw), catalog=_catalog(), mapping={})
    row["cost_usd"] = row["cost_usd"].normalize()  # the same number, not the same value
    assert row["cost_usd"] == ref_normalize_log_record(dict(raw), catalog=_catalog(), mapping={})["cost_usd"]
    assert _outcome(dict, row) != expected
