"""CUR rows -> ledger fields. Pure: the catalog snapshot and the tenant's tag mapping come in as arguments, a
dict of SpendEvent fields (or a ValueError naming what is wrong) comes out.

A CUR file repeats the same text on line after line (usage type, product, principal, tags ...); only the
times, amounts and costs change. What follows from the text alone (the model, the price's coordinates, the
dimensions, the checks of every text value, the dedupe key's text around the changing values) is therefore
worked out once per distinct set of text values (`_Static`, kept on the catalog) and each line does only its
own arithmetic. The result is the same, value for value and error for error, as working out everything per
line (tests/ingestion/test_cur_fast_path.py holds it to the earlier implementation)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from json.encoder import encode_basestring_ascii
from operator import itemgetter
from typing import Any

from finops.ledger.catalog import Catalog, PriceEntry
from ingestion.normalize import (
    DIMENSIONS,
    SCALE_LABELS,
    TOKEN_FIELDS,
    USAGE_LINE_TYPES,
    _model_fields,
    _model_reference,
    _principal_fields,
    _usage_type,
    map_dimensions,
    token_scale,
)
from ingestion.parsers.usage_types import UsageType, normalise_model_token
from ingestion.validation import MAX_TOKENS, validate_measures, validate_text

# Ledger field -> the name it has in the delivered file, so a rejection names what the user can find.
CUR_LABELS = {
    "account_id": "line_item_usage_account_id",
    "region": "product_region_code",
    "model_ref": "line_item_usage_type (model)",
    "operation": "line_item_operation",
    "usage_type": "line_item_usage_type",
    "line_item_type": "line_item_line_item_type",
    "inference_profile_arn": "line_item_resource_id",
    "cost_usd": "line_item_unblended_cost",
    "list_cost_usd": "pricing_public_on_demand_cost",
    "units": "line_item_usage_amount",
    "unit": "pricing_unit",
    "iam_principal": "line_item_iam_principal",
    "principal_name": "line_item_iam_principal (name)",
    "role_name": "line_item_iam_principal (role)",
    "user_id": "line_item_user_identifier",
    "tags": "tags",
    "usage_start": "line_item_usage_start_date",
    "usage_end": "line_item_usage_end_date",
    **{f: f"tags ({f} tag value)" for f in DIMENSIONS if f != "user_id"},
    **{f: f"line_item_usage_amount as {f.replace('_', ' ')}" for f in TOKEN_FIELDS.values()},
}
RESOURCE_ARN = re.compile(r":(?:application-)?inference-profile/|:provisioned-model/")
NEGATIVE_USAGE = "negative usage amount on a usage line: cost kept, tokens not counted"
UNPARSED = "usage type not understood: cost and quantity kept, no tokens counted"
MODALITY_TOKEN_TYPES = {"speech": "audio"}
# A row's values that differ from line to line; every other value is part of the line's text (`_Static`).
LINE_VALUES = frozenset(
    {
        "line_item_id",
        "time_interval",
        "usage_start",
        "usage_end",
        "usage_amount",
        "unblended_cost",
        "net_unblended_cost",
        "unblended_rate",
        "public_on_demand_cost",
    }
)
# The ledger fields a line sets itself (all others come from its text).
LINE_FIELDS = frozenset(
    {
        "usage_start",
        "usage_end",
        "usage_date",
        "billing_period",
        "cost_usd",
        "list_cost_usd",
        "units",
        "unit",
        "data_issue",
        "catalog_cost_usd",
        "cache_write_1h_tokens",
        *TOKEN_FIELDS.values(),
    }
)
# The stored fields every line sets (in the key's text as slots); LINE_FIELDS are these and the optional ones.
LINE_SLOTS = ("usage_start", "usage_end", "usage_date", "billing_period", "cost_usd", "list_cost_usd", "units", "unit")
MAX_STATICS = 20_000  # distinct text sets kept per catalog and mapping; then the cache starts again
# The values a signature may hold: their repr names them exactly (a dict's items, in order, included).
SIGNATURE_TYPES = frozenset({str, int, bool, type(None), Decimal, date, datetime, dict})


def _price_token_type(usage: UsageType) -> str:
    """The token type a price is looked up by: input / output / cache_read / cache_write, or with the
    modality when it is not text (input_video, output_audio ...)."""
    if not usage.token_type:
        return ""
    if usage.modality and usage.token_type in {"input", "output"}:
        return f"{usage.token_type}_{MODALITY_TOKEN_TYPES.get(usage.modality, usage.modality)}"
    return usage.token_type


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str, separators=(",", ":"), sort_keys=True)


QUOTED = (Decimal, datetime, date)  # what default=str makes a JSON string of, with nothing to escape


def _template(
    pairs: list[tuple[str, Any]], slots: tuple[str, ...], kinds: tuple[type, ...]
) -> tuple[str, tuple[str, ...]]:
    """The text `_dumps(sorted(pairs))` makes, as a %-format over a mapping: a placeholder where each key of
    `slots` (whose value is of the matching type in `kinds`) has its value; and the slot keys whose value
    must be supplied encoded, under `~key` (text, which may need escaping, and anything unusual)."""
    kind_of = dict(zip(slots, kinds, strict=True))
    parts: list[str] = []
    encoded: list[str] = []
    for key, value in sorted(pairs, key=lambda pair: pair[0]):
        if key not in kind_of:
            parts.append(_dumps([key, value]).replace("%", "%%"))
            continue
        kind = kind_of[key]
        if kind is type(None):
            text = "null"
        elif kind in QUOTED:
            text = f'"%({key})s"'
        elif kind is int:
            text = f"%({key})s"
        else:
            text = f"%(~{key})s"
            encoded.append(key)
        parts.append(f"[{_dumps(key)},{text}]")
    return "[" + ",".join(parts) + "]", tuple(encoded)


def _getter(keys: tuple[str, ...]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """The values of `keys` as a tuple (itemgetter returns a bare value for one key)."""
    if len(keys) > 1:
        return itemgetter(*keys)
    if keys:
        (key,) = keys
        return lambda values: (values[key],)
    return lambda values: ()


def _encoded(value: Any) -> str:
    return encode_basestring_ascii(value) if value.__class__ is str else _dumps(value)


class _Text:
    """One of the two halves of a dedupe key's text for rows of one `_Static`: the sorted items of a dict
    whose values are fixed except at `slots`, one %-format per combination of the slots' value types."""

    def __init__(self, slots: tuple[str, ...], *, leave_out: frozenset[str] = frozenset()) -> None:
        self.slots = slots
        self.leave_out = leave_out
        self.values = _getter(slots)
        self.formats: dict[tuple[type, ...], tuple[str, tuple[str, ...]]] = {}

    def text(self, values: Mapping[str, Any]) -> str:
        kinds = tuple(map(type, self.values(values)))
        found = self.formats.get(kinds)
        if found is None:
            pairs = [(k, v) for k, v in values.items() if k not in self.leave_out]
            found = self.formats[kinds] = _template(pairs, self.slots, kinds)
        form, encoded = found
        if encoded:
            values = {**values, **{f"~{key}": _encoded(values[key]) for key in encoded}}
        return form % values


class _Static:
    """What a CUR row's text values give, worked out once for every row that has them."""

    def __init__(self, raw: Mapping[str, Any], catalog: Catalog, mapping: Mapping[str, list[str]]) -> None:
        usage = _usage_type(raw["usage_type"])
        product: dict[str, str] = raw.get("product") or {}
        model = None
        if usage.model_token:
            model = catalog.lookup_spelling(usage.model_token, normalise_model_token)
        if model is None:
            model = catalog.resolve_product_name(product.get("product_name") or product.get("servicename"))
        if model is None and product.get("model"):
            model = catalog.resolve_product_name(product["model"])
        self.line_type = raw["line_item_type"]
        self.usage = usage
        self.model = model
        self.catalog = catalog
        self.region = usage.region or raw.get("region_code") or ""
        resource_id = raw.get("resource_id", "")
        self.context = "long" if usage.context == "long" else ""
        self.price_token_type = _price_token_type(usage)
        # The literal of the earlier per-line implementation, its line values left as None: the key order is
        # the one validate_text walks, so the first bad text value named is the same.
        fields: dict[str, Any] = {
            "record_kind": "billed_line",
            "cost_basis": "billed",
            "usage_start": None,
            "usage_end": None,
            "usage_date": None,
            "billing_period": None,
            "account_id": raw.get("usage_account_id", ""),
            "region": self.region,
            "inference_region": "",
            "route": usage.route if usage.category == "tokens" else "",
            "model_ref": "" if model else _model_reference(usage.model_token, usage.is_marketplace, product),
            "operation": raw.get("operation", ""),
            "usage_type": raw["usage_type"],
            "usage_category": usage.category if raw["usage_type"] else "",
            "token_type": self.price_token_type,
            "context": self.context,
            "line_item_type": self.line_type,
            "service_tier": usage.service_tier,
            "inference_profile_arn": resource_id if RESOURCE_ARN.search(resource_id) else "",
            "cost_usd": None,
            "list_cost_usd": None,
            "units": None,
            "unit": raw.get("pricing_unit", ""),
            "requests": 0,
            "tags": {
                **{f"resource_tags/{k}": v for k, v in raw.get("resource_tags", {}).items()},
                **raw.get("tags", {}),
            },
            **_model_fields(model),
            **_principal_fields(raw.get("iam_principal", "")),
        }
        if raw.get("user_identifier"):
            fields["user_id"] = raw["user_identifier"]
        self.token_field = TOKEN_FIELDS.get(usage.token_type or "")
        self.counts_tokens = bool(self.token_field) and self.line_type in USAGE_LINE_TYPES
        pricing_unit = raw.get("pricing_unit", "")
        if usage.unit_scale and pricing_unit.strip().lower() in {"", "units", "unit"}:
            pricing_unit = SCALE_LABELS.get(Decimal(usage.unit_scale), pricing_unit)  # MillionBatchInputTokens
        self.pricing_unit = pricing_unit
        self.fixed_unit = {"model_unit_hour": "model-unit hours", "image": "images"}.get(usage.token_type or "")
        one_hour_writes = usage.token_type == "cache_write" and usage.cache_ttl == "1h"
        # The fields a line with tokens sets: its token count (and, for 1-hour cache writes, that count again).
        self.token_slots = (self.token_field or "",) + (("cache_write_1h_tokens",) if one_hour_writes else ())
        self.unparsed = bool(usage.unparsed and raw["usage_type"])
        dims = map_dimensions(mapping, raw.get("tags", {}), raw.get("resource_tags", {}))
        fields.update({k: v for k, v in dims.items() if not fields.get(k)})
        self.fields = fields
        self._text_checked: dict[tuple[str, str], str | None] = {}
        self._prices: dict[date, PriceEntry | None] = {}
        self._identity = _Text(tuple(k for k in raw if k in LINE_VALUES), leave_out=frozenset({"file", "line"}))
        self._stored: dict[tuple[str, ...], _Text] = {}

    def text_error(self, unit: str, issue: str) -> str | None:
        """validate_text's reason for the row's text values with this unit and data issue, or None."""
        key = (unit, issue)
        if key not in self._text_checked:
            fields = dict(self.fields)
            fields["unit"] = unit
            if issue:
                fields["data_issue"] = issue
            try:
                validate_text(fields, labels=CUR_LABELS)
                self._text_checked[key] = None
            except ValueError as exc:
                self._text_checked[key] = str(exc)
        return self._text_checked[key]

    def price(self, on: date) -> PriceEntry | None:
        if self.model is None:
            return None
        if on not in self._prices:
            usage = self.usage
            self._prices[on] = self.catalog.price(
                model_id=self.model.model_id,
                token_type=self.price_token_type,
                on=on,
                route=usage.route,
                service_tier=usage.service_tier,
                region=self.region,
                context=self.context,
                cache_ttl=usage.cache_ttl or "",
            )
        return self._prices[on]

    def dedupe_key(self, raw: Mapping[str, Any], fields: dict[str, Any], set_here: tuple[str, ...]) -> str:
        """`cur:` and the sha256 of every delivered value and every stored one, as the per-line implementation
        encoded them (json.dumps of both sorted item lists), with only the line's own values encoded here.
        `set_here`: the optional fields the line set (token counts, catalog cost, data issue)."""
        stored = self._stored.get(set_here)
        if stored is None:
            stored = self._stored[set_here] = _Text(LINE_SLOTS + set_here)
        text = f"[{self._identity.text(raw)},{stored.text(fields)}]"
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        return f"cur:{digest[:48]}"


def _static(raw: Mapping[str, Any], catalog: Catalog, mapping: Mapping[str, list[str]]) -> _Static:
    """The `_Static` of a row's text values (and the tag mapping), made once per catalog."""
    keys = tuple(raw)
    layouts: dict[tuple[str, ...], Callable[..., tuple[Any, ...]]] = catalog.derived.setdefault("cur_layouts", {})
    text_values = layouts.get(keys)
    if text_values is None:
        text_values = layouts[keys] = _getter(
            tuple(k for k in keys if k not in LINE_VALUES and k not in {"file", "line"})
        )
    values = text_values(raw)
    if not SIGNATURE_TYPES.issuperset(map(type, values)):  # something unusual: this row is worked out alone
        return _Static(raw, catalog, mapping)
    # repr tells apart what equality would not (1, 1.0, True; Decimal('1.0') and Decimal('1.00')).
    signature = (keys, repr(values), repr(mapping))
    cache: dict[Any, _Static] = catalog.derived.setdefault("cur_static", {})
    found = cache.get(signature)
    if found is None:
        if len(cache) >= MAX_STATICS:
            cache.clear()
        found = cache[signature] = _Static(raw, catalog, mapping)
    return found


def normalize_cur_row(
    raw: dict[str, Any], *, catalog: Catalog, mapping: Mapping[str, list[str]], float_storage: bool = False
) -> dict[str, Any]:
    static = _static(raw, catalog, mapping)
    amount: Decimal | None = raw.get("usage_amount")
    cost: Decimal = raw["unblended_cost"]
    start = raw["usage_start"]
    fields = dict(static.fields)
    fields["usage_start"] = start
    fields["usage_end"] = raw["usage_end"]
    fields["usage_date"] = usage_date = start.date()
    fields["billing_period"] = raw["billing_period"]
    fields["cost_usd"] = cost
    fields["list_cost_usd"] = raw.get("public_on_demand_cost")
    fields["units"] = amount
    fields["tags"] = dict(fields["tags"])  # each row its own (a caller may change one)
    issue = ""
    set_here: tuple[str, ...] = ()
    if static.counts_tokens and amount is not None and amount < 0:
        # Usage cannot be negative; the dollars are AWS's to state, so they stay, flagged.
        issue = NEGATIVE_USAGE
    elif static.counts_tokens and amount is not None:
        price = static.price(usage_date)
        scale, unit_label = token_scale(
            pricing_unit=static.pricing_unit,
            amount=amount,
            cost=cost,
            catalog_per_token=price.per_unit if price else None,
        )
        fields["unit"] = unit_label
        if scale is not None:
            tokens = (amount * scale).to_integral_value(rounding=ROUND_HALF_UP)
            if tokens > MAX_TOKENS:
                raise ValueError(
                    f"line_item_usage_amount={amount} {SCALE_LABELS[scale]} is {tokens:,} tokens, out of range "
                    f"(at most {MAX_TOKENS:,} per line)"
                )
            count = int(tokens)
            for name in static.token_slots:  # the token type's count (and 1-hour cache writes' own)
                fields[name] = count
            set_here = static.token_slots
            if price is not None:
                fields["catalog_cost_usd"] = price.per_unit * count
                set_here += ("catalog_cost_usd",)
    elif static.fixed_unit:
        fields["unit"] = static.fixed_unit
    if static.unparsed and not issue:
        issue = UNPARSED
    if issue:
        fields["data_issue"] = issue
        set_here += ("data_issue",)
    reason = static.text_error(fields["unit"], issue)
    if reason is not None:
        raise ValueError(reason)
    validate_measures(fields, labels=CUR_LABELS, float_storage=float_storage)
    # Every delivered value and every stored one: a re-delivery that changes anything (a cost, a
    # tag, the tenant's tag mapping) is a different row; an identical one is the same row.
    fields["dedupe_key"] = static.dedupe_key(raw, fields, set_here)
    # What reconciliation gives a bill line no request explains (set after the key, which it is not part
    # of): an import with nothing to allocate then rewrites no row.
    fields["allocated_cost_usd"] = Decimal(0)
    return fields
