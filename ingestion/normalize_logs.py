"""Invocation-log records -> ledger fields. Pure: the catalog snapshot and the tenant's tag mapping come in
as arguments, a dict of SpendEvent fields (or a ValueError naming what is wrong) comes out. (CUR rows are in
ingestion.normalize_cur, with the helpers both share in ingestion.normalize.)

`normalize_log_record_exact` (ingestion.normalize_logs_exact) is the definition. `normalize_log_record` gives
the same dict for the common record with less work per record (`_Static` below: what follows from a record's
model, identity, regions and tier is worked out once per distinct set of them, and what follows from its
requestMetadata once per distinct tag set) and runs the definition for any other record, so every reason, and
which reason a record with two problems gets, is the definition's."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from finops.ledger.catalog import Catalog
from ingestion.normalize import _model_fields, _principal_fields, map_dimensions, request_dedupe_key
from ingestion.normalize_logs_exact import (
    LOG_LABELS,
    LOG_TIERS,
    MAX_LATENCY,
    NO_COUNTS,
    OWN_TEXT,
    normalize_log_record_exact,
)
from ingestion.validation import (
    MAX_ABS_COST,
    MAX_ABS_UNITS,
    MAX_TOKENS,
    MONEY_QUANTUM,
    STRING_LIMITS,
    UNITS_QUANTUM,
    UNSTORABLE,
    validate_event,
)

MAX_STATICS = 20_000  # distinct (model, identity, regions, tier ...) sets kept per catalog; then it starts again
MAX_TAG_SETS = 20_000  # distinct (mapping, requestMetadata) sets kept; then it starts again
TOKEN_KEYS = ("input", "output", "cache_read", "cache_write", "cache_write_1h", "image")
# Known-good stand-ins for a record's own values, so validate_event checks only the values a _Static holds.
_PLACEHOLDER_TIME = datetime(2026, 1, 1, tzinfo=UTC)
_PLACEHOLDERS: dict[str, Any] = {
    "usage_start": _PLACEHOLDER_TIME,
    "usage_end": _PLACEHOLDER_TIME,
    "usage_date": _PLACEHOLDER_TIME.date(),
    "billing_period": _PLACEHOLDER_TIME.date(),
}
_tag_sets: dict[Any, tuple[tuple[tuple[str, str], ...], bool] | None] = {}
_last_mapping: list[tuple[Any, tuple[Any, ...]]] = [(None, ())]


class _Static:
    """What a record's model id, tier, regions, account, operation, identity and error code give: the model
    and route, the tier, the principal, the pricing case, whether validate_event takes their text, and
    prices by (day, context, token type)."""

    def __init__(self, key: tuple[Any, ...], catalog: Catalog) -> None:
        model_id, tier, performance_latency, region, inference_region, account_id, operation, arn, error, missing = key
        ref = catalog.resolve_model_id(model_id)
        model = ref.model
        tier = tier or "standard"
        if tier in {"default", ""}:
            tier = "standard"
        if tier == "standard" and performance_latency.lower() == "optimized":
            tier = "latency_optimized"
        self.catalog = catalog
        self.model_id = model.model_id if model else ""
        self.route = ref.route
        self.region = region
        self.tier = tier  # the tier prices are looked up by
        self.case = "provisioned" if ref.provisioned else "no_counts" if missing and not error else ""
        if not self.case:
            self.case = "estimate" if model is not None else "unknown"
        self.error = bool(error)
        context_model = catalog.models.get(model.model_id) if model else None
        self.threshold = context_model.long_context_threshold if context_model else None
        stored_tier = "provisioned" if ref.provisioned else tier
        self.head = {  # the fields a record takes from these values, in the definition's order
            "account_id": account_id,
            "region": region,
            "inference_region": inference_region or region,
            "route": ref.route,
            "model_ref": "" if model else model_id,
            "operation": operation,
            "service_tier": stored_tier if stored_tier in LOG_TIERS else "standard",
            "inference_profile_arn": ref.inference_profile_arn,
        }
        self.tail = {"error_code": error, **_model_fields(model), **_principal_fields(arn)}
        self.issue = NO_COUNTS if self.case == "no_counts" else ""
        self.unpriced = self.case == "no_counts"
        self.has_model = model is not None
        self.prices: dict[tuple[Any, ...], Any] = {}
        self._text_ok: dict[tuple[str, str], bool] = {}

    def text_ok(self, context: str, unit: str) -> bool:
        """Whether validate_event takes this set's text values with this context and unit."""
        found = self._text_ok.get((context, unit))
        if found is None:
            fields = {"record_kind": "request", "cost_basis": "estimated", **_PLACEHOLDERS, **self.head}
            fields.update(context=context, unit=unit, data_issue=self.issue, tags={}, **self.tail)
            try:
                validate_event(fields, labels=LOG_LABELS)
                found = True
            except ValueError:
                found = False
            self._text_ok[(context, unit)] = found
        return found

    def per_unit(self, on: date, context: str, key: str) -> Decimal | None:
        """Catalog.estimate_by_type's price per token of one token type (None: no price)."""
        found = self.prices.get((on, context, key), self)
        if found is self:
            if len(self.prices) >= MAX_STATICS:
                self.prices.clear()
            token_type, ttl = ("cache_write", "1h") if key == "cache_write_1h" else (key, "")
            entry = self.catalog.price(
                model_id=self.model_id,
                token_type=token_type,
                on=on,
                route=self.route,
                service_tier=self.tier,
                region=self.region,
                context=context,
                cache_ttl=ttl,
            )
            found = self.prices[(on, context, key)] = entry.per_unit if entry is not None else None
        return found


def _static(raw: Mapping[str, Any], catalog: Catalog) -> _Static | None:
    derived = getattr(catalog, "derived", None)  # emptied by the catalog whenever a model or price is added
    if not isinstance(derived, dict):
        return None
    key = (
        raw["model_id"],
        raw.get("service_tier"),
        raw.get("performance_latency", ""),
        raw.get("region", ""),
        raw.get("inference_region"),
        raw.get("account_id", ""),
        raw.get("operation", ""),
        raw.get("identity_arn", ""),
        raw.get("error_code", ""),
        bool(raw.get("counts_missing")),
    )
    cache: dict[Any, _Static | None] = derived.setdefault("log_static", {})
    found = cache.get(key, catalog)
    if found is catalog:
        if len(cache) >= MAX_STATICS:
            cache.clear()
        found = cache[key] = _Static(key, catalog) if all(type(v) is str for v in key[:-1]) else None
    return found  # type: ignore[return-value]


def _mapping_key(mapping: Mapping[str, list[str]]) -> tuple[Any, ...]:
    """map_dimensions' key of a mapping; the last one's is kept (with a copy to compare: a mapping changed in
    place gets a new key)."""
    copied, key = _last_mapping[0]
    if mapping != copied:
        key = tuple((dimension, tuple(keys)) for dimension, keys in mapping.items())
        _last_mapping[0] = ({dimension: list(keys) for dimension, keys in mapping.items()}, key)
    return key


def _tags(
    mapping: Mapping[str, list[str]], metadata: dict[str, Any]
) -> tuple[tuple[tuple[str, str], ...], bool] | None:
    """(the dimensions, whether validate_event takes them and the tags), once per distinct mapping and tags."""
    key = (_mapping_key(mapping), tuple(metadata.items()))
    found = _tag_sets.get(key, _tag_sets)
    if found is _tag_sets:
        if len(_tag_sets) >= MAX_TAG_SETS:
            _tag_sets.clear()
        dims = map_dimensions(mapping, metadata)
        try:
            validate_event({**_PLACEHOLDERS, "tags": metadata, **dims}, labels=LOG_LABELS)
            ok = True
        except ValueError:
            ok = False
        found = _tag_sets[key] = (tuple(dims.items()), ok)
    return found  # type: ignore[return-value]


def _money(value: Decimal, bound: Decimal, quantum: Decimal) -> Decimal | None:
    """validate_event's money and units check and quantisation (None: let the definition say why)."""
    if not value.is_finite() or value.copy_abs() >= bound:
        return None
    return value.quantize(quantum)


def _fast(  # noqa: C901, PLR0911, PLR0912
    raw: dict[str, Any], catalog: Catalog, mapping: Mapping[str, list[str]], float_storage: bool
) -> dict[str, Any] | None:
    static = _static(raw, catalog)
    if static is None:
        return None
    start = raw["timestamp"]
    latency = raw.get("latency_ms")
    one_hour = raw.get("cache_write_1h_tokens", 0)
    counts = (
        raw["input_tokens"],
        raw["output_tokens"],
        raw["cache_read_tokens"],
        raw["cache_write_tokens"],
        one_hour,
        raw.get("images", 0),
    )
    if type(start) is not datetime or start.tzinfo is None:
        return None
    if latency is not None and (type(latency) is not int or not 0 <= latency <= MAX_LATENCY):
        return None
    for count in counts:
        if type(count) is not int or not 0 <= count <= MAX_TOKENS:
            return None
    input_tokens, output_tokens, cache_read, cache_write, _, images = counts
    if one_hour > cache_write:
        return None
    tokens = (input_tokens, output_tokens, cache_read, cache_write - one_hour, one_hour, images)
    context = ""
    if static.threshold and input_tokens + cache_read + cache_write > static.threshold:
        context = "long"
    unit = "images" if images else ""
    if not static.text_ok(context, unit):
        return None
    request_id = raw["request_id"]
    own = (
        request_id,
        raw.get("prompt_hash", ""),
        raw.get("response_hash", ""),
        raw.get("prefix_hash", ""),
        raw.get("stop_reason", ""),
    )
    for name, value in zip(OWN_TEXT, own, strict=True):
        if type(value) is not str or len(value) > STRING_LIMITS[name]:
            return None
    if UNSTORABLE.search("".join(own)):
        return None
    metadata = raw.get("request_metadata") or {}
    if type(metadata) is not dict:
        return None
    tags = _tags(mapping, metadata)
    if tags is None or not tags[1]:
        return None
    on = start.date()
    cost: Decimal | None = None
    unpriced = static.unpriced
    case = static.case
    if case == "provisioned" or (case == "unknown" and static.error and not any(tokens)):
        cost = Decimal(0)
    elif case == "estimate":
        total = Decimal(0)
        for key, count in zip(TOKEN_KEYS, tokens, strict=True):
            if count:
                per_unit = static.per_unit(on, context, key)
                if per_unit is None:
                    unpriced = True
                    continue
                total = total + per_unit * count
        cost = None if unpriced else total
    elif case == "unknown":
        unpriced = True
    if cost is not None:
        cost = _money(cost, MAX_ABS_COST, MONEY_QUANTUM)
        if cost is None:
            return None
    units = _money(Decimal(images), MAX_ABS_UNITS, UNITS_QUANTUM) if images else None
    if float_storage and not _fits_sqlite(cost, units):
        return None
    fields: dict[str, Any] = {
        "record_kind": "request",
        "cost_basis": "estimated",
        "dedupe_key": request_dedupe_key(request_id),
        "usage_start": start,
        "usage_end": start + timedelta(milliseconds=latency) if latency else start,
        "usage_date": on,
        "billing_period": on.replace(day=1),
        **static.head,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_read_tokens": cache_read,
        "cache_write_tokens": cache_write,
        "cache_write_1h_tokens": one_hour,
        "context": context,
        "units": units,
        "unit": unit,
        "requests": 1,
        "latency_ms": latency,
        "cost_usd": cost,
        "unpriced": unpriced,
        "data_issue": static.issue,
        "request_id": request_id,
        "tags": metadata,
        "prompt_hash": own[1],
        "response_hash": own[2],
        "prefix_hash": own[3],
        "prefix_chars": raw.get("prefix_chars"),
        "uses_caching": raw.get("uses_caching", False),
        "stop_reason": own[4],
        **static.tail,
    }
    fields.update(tags[0])
    return fields


def _fits_sqlite(cost: Decimal | None, units: Decimal | None) -> bool:
    """validate_event's float_storage check of the cost and units (already quantised)."""
    try:
        validate_event({**_PLACEHOLDERS, "cost_usd": cost, "units": units}, float_storage=True)
    except ValueError:
        return False
    return True


def normalize_log_record(
    raw: dict[str, Any], *, catalog: Catalog, mapping: Mapping[str, list[str]], float_storage: bool = False
) -> dict[str, Any]:
    """normalize_log_record_exact's dict (or its error), worked out once per distinct value where it can be."""
    try:
        fields = _fast(raw, catalog, mapping, float_storage)
    except Exception:  # noqa: BLE001 - whatever it is, the definition gives the dict or the reason
        fields = None
    if fields is not None:
        return fields
    return normalize_log_record_exact(raw, catalog=catalog, mapping=mapping, float_storage=float_storage)
