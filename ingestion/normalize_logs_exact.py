"""The definition of an invocation-log record's ledger fields: every value worked out and checked for the record
alone. Pure. ingestion.normalize_logs.normalize_log_record gives the same dict with less work for the common
record and falls back on this for any other."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any

from finops.ledger.catalog import Catalog
from ingestion.normalize import DIMENSIONS, _model_fields, _principal_fields, map_dimensions, request_dedupe_key
from ingestion.validation import validate_event

LOG_LABELS = {
    "account_id": "accountId",
    "region": "region",
    "inference_region": "inferenceRegion",
    "model_ref": "modelId",
    "operation": "operation",
    "inference_profile_arn": "modelId",
    "iam_principal": "identity.arn",
    "principal_name": "identity.arn (name)",
    "role_name": "identity.arn (role)",
    "request_id": "requestId",
    "error_code": "errorCode",
    "tags": "requestMetadata",
    "cost_usd": "estimated cost",
    "usage_start": "timestamp",
    **{f: f"requestMetadata ({f} value)" for f in DIMENSIONS},
}
NO_COUNTS = "no token counts in the record: usage unknown, left unpriced"
LOG_TIERS = {"standard", "batch", "flex", "priority", "reserved", "provisioned", "latency_optimized"}
OWN_TEXT = ("request_id", "prompt_hash", "response_hash", "prefix_hash", "stop_reason")  # text each record has
MAX_LATENCY = 2**31 - 1


def normalize_log_record_exact(
    raw: dict[str, Any], *, catalog: Catalog, mapping: Mapping[str, list[str]], float_storage: bool = False
) -> dict[str, Any]:
    """The definition: every value worked out and checked for this record alone."""
    ref = catalog.resolve_model_id(raw["model_id"])
    model = ref.model
    start = raw["timestamp"]
    latency = raw.get("latency_ms")
    tier = raw.get("service_tier") or "standard"
    if tier in {"default", ""}:
        tier = "standard"
    if tier == "standard" and raw.get("performance_latency", "").lower() == "optimized":
        tier = "latency_optimized"  # billed under the -latency-optimized usage types
    region = raw.get("region", "")
    one_hour = raw.get("cache_write_1h_tokens", 0)
    tokens = {
        "input": raw["input_tokens"],
        "output": raw["output_tokens"],
        "cache_read": raw["cache_read_tokens"],
        "cache_write": raw["cache_write_tokens"] - one_hour,  # 5-minute writes
        "cache_write_1h": one_hour,
        "image": raw.get("images", 0),
    }
    cost: Decimal | None = None
    unpriced = False
    issue = ""
    if ref.provisioned:
        # Provisioned throughput is billed by the hour (CUR); a request on it costs nothing more.
        cost, tier = Decimal(0), "provisioned"
    elif raw.get("counts_missing") and not raw.get("error_code"):
        unpriced, issue = True, NO_COUNTS
    elif model is not None:
        cost, missing = catalog.estimate(
            model_id=model.model_id, tokens=tokens, on=start.date(), route=ref.route, service_tier=tier, region=region
        )
        unpriced = bool(missing)
    elif any(tokens.values()):
        unpriced = True
    elif not raw.get("error_code"):
        unpriced = True
    else:
        cost = Decimal(0)  # a failed call with no tokens costs nothing, whatever the model
    metadata = raw.get("request_metadata") or {}
    fields: dict[str, Any] = {
        "record_kind": "request",
        "cost_basis": "estimated",
        "dedupe_key": request_dedupe_key(raw["request_id"]),
        "usage_start": start,
        "usage_end": start + timedelta(milliseconds=latency) if latency else start,
        "usage_date": start.date(),
        "billing_period": start.date().replace(day=1),
        "account_id": raw.get("account_id", ""),
        "region": region,
        "inference_region": raw.get("inference_region") or region,
        "route": ref.route,
        "model_ref": "" if model else raw["model_id"],
        "operation": raw.get("operation", ""),
        "service_tier": tier if tier in LOG_TIERS else "standard",
        "inference_profile_arn": ref.inference_profile_arn,
        "input_tokens": tokens["input"],
        "output_tokens": tokens["output"],
        "cache_read_tokens": tokens["cache_read"],
        "cache_write_tokens": raw["cache_write_tokens"],
        "cache_write_1h_tokens": one_hour,
        "context": catalog.request_context(model.model_id, tokens) if model else "",
        "units": Decimal(tokens["image"]) if tokens["image"] else None,
        "unit": "images" if tokens["image"] else "",
        "requests": 1,
        "latency_ms": latency,
        "cost_usd": cost,
        "unpriced": unpriced,
        "data_issue": issue,
        "request_id": raw["request_id"],
        "tags": metadata,
        "prompt_hash": raw.get("prompt_hash", ""),
        "response_hash": raw.get("response_hash", ""),
        "prefix_hash": raw.get("prefix_hash", ""),
        "prefix_chars": raw.get("prefix_chars"),
        "uses_caching": raw.get("uses_caching", False),
        "stop_reason": raw.get("stop_reason", ""),
        "error_code": raw.get("error_code", ""),
        **_model_fields(model),
        **_principal_fields(raw.get("identity_arn", "")),
    }
    fields.update(map_dimensions(mapping, metadata))
    return validate_event(fields, labels=LOG_LABELS, float_storage=float_storage)


# --- the fast path ------------------------------------------------------------------------------------------
