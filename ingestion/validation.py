"""The last check before a row reaches the ledger: every value fits its column and every page can
show and sum it. Pure: a dict of SpendEvent fields in, the same dict (money quantised) out, or a
ValueError naming the field as it was delivered.

Nothing is cut to fit: a string longer than its column, a NUL, a number out of range is an error
that rejects the row, never a silently shortened or overflowing value."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Context, Decimal, InvalidOperation
from typing import Any, NamedTuple

from django.db import models

from finops.ledger.models import SpendEvent

# Per row. A single bill line or request of a billion dollars is a broken value; the bounds keep
# every column (Decimal(20, 10), bigint) and every sum over them far from overflowing.
MAX_ABS_COST = Decimal(10**9)
MAX_ABS_UNITS = Decimal(10**15)
MAX_TOKENS = 10**15
MONEY_QUANTUM = Decimal("1e-10")
UNITS_QUANTUM = Decimal("1e-8")
MAX_TAG_KEY = 256  # AWS: 128 characters, plus the source prefix (`iamPrincipal/`, `resource_tags/user_` ...)
MAX_TAG_VALUE = 256  # AWS: 256 characters
MAX_TAGS = 500

STRING_LIMITS: dict[str, int] = {
    f.attname: f.max_length
    for f in SpendEvent._meta.concrete_fields
    if isinstance(f, models.CharField) and f.max_length is not None
}
MONEY_FIELDS = ("cost_usd", "list_cost_usd", "allocated_cost_usd")
TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens")
ASCII_FIELDS = ("iam_principal", "inference_profile_arn", "account_id", "region", "inference_region")
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
PRINTABLE_ASCII = re.compile(r"^[\x21-\x7e]*$")
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
ACCOUNT = re.compile(r"^\d{12}$")


class RegionRule(NamedTuple):
    """What a platform's region codes look like, and how the reason names one that does not."""

    pattern: re.Pattern[str]
    what: str


AWS_REGIONS = RegionRule(REGION, "an AWS region code")
# ARM location names as Cost Management writes them (after the parser folds `East US` to `eastus`): lower-case
# letters and digits, no separators.
AZURE_REGIONS = RegionRule(re.compile(r"^[a-z][a-z0-9]{1,39}$"), "an Azure region name (like eastus or swedencentral)")
# Google Cloud regions (`us-central1`, `northamerica-northeast1`), `global`, and the multi- and dual-regions a
# billing export's location.location may hold when there is no region (`us`, `eu`, `nam4`).
GCP_REGIONS = RegionRule(
    re.compile(r"^(?:[a-z]+-[a-z]+\d{1,2}|global|[a-z]{2,12}\d?)$"),
    "a Google Cloud region (like us-central1, europe-west4 or global)",
)
# Ledger `source` -> its regions. Look the rule up once per file or batch, not per row.
REGION_RULES: dict[str, RegionRule] = {"bedrock": AWS_REGIONS, "azure_openai": AZURE_REGIONS, "vertex": GCP_REGIONS}


def _name(field: str, labels: Mapping[str, str]) -> str:
    return labels.get(field, field)


def check_text(value: str, *, label: str, limit: int) -> None:
    if len(value) > limit:
        raise ValueError(f"{label} is {len(value):,} characters long (at most {limit:,})")
    match = UNSTORABLE.search(value)
    if match:
        what = "a NUL character" if match.group() == "\x00" else "characters that are not valid UTF-8"
        raise ValueError(f"{label} contains {what}")


def _check_tags(tags: Any, label: str) -> None:
    if not isinstance(tags, dict):
        raise ValueError(f"{label} is not a map of text to text")
    if len(tags) > MAX_TAGS:
        raise ValueError(f"{label} has {len(tags):,} entries (at most {MAX_TAGS})")
    for key, value in tags.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ValueError(f"{label} is not a map of text to text")
        # The labels are built only for a value that fails (building them for every tag cost more than the checks).
        if len(key) > MAX_TAG_KEY or UNSTORABLE.search(key):
            check_text(key, label=f"a key of {label} ({key[:40]!r})", limit=MAX_TAG_KEY)
        if len(value) > MAX_TAG_VALUE or UNSTORABLE.search(value):
            check_text(value, label=f"{label}[{key[:60]!r}]", limit=MAX_TAG_VALUE)


def _check_decimal(value: Any, *, label: str, bound: Decimal, quantum: Decimal) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"{label}={value!r} is not a finite number")
    if value.copy_abs() >= bound:  # copy_abs: no arithmetic context, so no Overflow on 1e999999
        raise ValueError(f"{label}={value} is out of range (must be below {bound:,} in absolute value)")
    try:
        return value.quantize(quantum)
    except InvalidOperation as exc:  # pragma: no cover - the bound above keeps quantize in range
        raise ValueError(f"{label}={value} cannot be stored") from exc


SQLITE_DIGITS = Context(prec=15)  # SQLite keeps a decimal column as a double: 15 significant digits come back


def _fits_a_double(value: Decimal, quantum: Decimal) -> bool:
    """Whether the value reads back unchanged from SQLite (as Django reads a REAL decimal column)."""
    back = SQLITE_DIGITS.create_decimal_from_float(float(value))
    return back.quantize(quantum, context=Context(prec=40)) == value


def validate_event(
    fields: dict[str, Any],
    *,
    labels: Mapping[str, str] | None = None,
    float_storage: bool = False,
    regions: RegionRule = AWS_REGIONS,
) -> dict[str, Any]:
    """Raise ValueError when a value cannot be stored as delivered; quantise money and units.

    `labels` maps ledger fields to the names the input used (`iam_principal` ->
    `line_item_iam_principal`), so the reason names what the user can find in their file.
    `float_storage`: the database keeps decimals as doubles (SQLite), so a value with more than 15
    significant digits would come back changed; it is refused with the reason instead.
    `regions`: what `region` and `inference_region` must look like (AWS by default; REGION_RULES has the
    other platforms')."""
    labels = labels or {}
    validate_text(fields, labels=labels, regions=regions)
    validate_measures(fields, labels=labels, float_storage=float_storage)
    return fields


def validate_text(fields: Mapping[str, Any], *, labels: Mapping[str, str], regions: RegionRule = AWS_REGIONS) -> None:
    """validate_event's checks of text: every string fits its column, region and account ids look right,
    AWS identifiers are printable ASCII, tags are a map of text to text. (A CUR import runs these once per
    distinct set of a line's text values, and `validate_measures` per line.)"""
    for field, value in fields.items():
        limit = STRING_LIMITS.get(field)
        if limit is None or field == "dedupe_key":
            continue
        if not isinstance(value, str):
            raise ValueError(f"{_name(field, labels)} is not text")
        if value and (len(value) > limit or UNSTORABLE.search(value)):
            check_text(value, label=_name(field, labels), limit=limit)
    region_pattern, region_what = regions
    for field, pattern, what in (
        ("region", region_pattern, region_what),
        ("inference_region", region_pattern, region_what),
        ("account_id", ACCOUNT, "a 12-digit AWS account id"),
    ):
        value = fields.get(field) or ""
        if value and not pattern.match(value):
            raise ValueError(f"{_name(field, labels)} {value[:80]!r} is not {what}")
    for field in ASCII_FIELDS:
        value = fields.get(field) or ""
        if value and not PRINTABLE_ASCII.match(value):
            raise ValueError(f"{_name(field, labels)} {value[:80]!r} has characters an AWS identifier cannot have")
    _check_tags(fields.get("tags", {}), _name("tags", labels))


def validate_measures(fields: dict[str, Any], *, labels: Mapping[str, str], float_storage: bool = False) -> None:
    """validate_event's checks of numbers, times and dates (money and units quantised in place)."""
    for field in MONEY_FIELDS:
        if fields.get(field) is not None:
            fields[field] = _check_decimal(
                fields[field], label=_name(field, labels), bound=MAX_ABS_COST, quantum=MONEY_QUANTUM
            )
    if fields.get("units") is not None:
        fields["units"] = _check_decimal(
            fields["units"], label=_name("units", labels), bound=MAX_ABS_UNITS, quantum=UNITS_QUANTUM
        )
    if float_storage:
        for field, quantum in (*((f, MONEY_QUANTUM) for f in MONEY_FIELDS), ("units", UNITS_QUANTUM)):
            value = fields.get(field)
            if value is not None and not _fits_a_double(value, quantum):
                raise ValueError(
                    f"{_name(field, labels)}={value.normalize():f} has more significant digits than SQLite stores "
                    "exactly (15); load it into PostgreSQL (DATABASE_URL) to keep every digit"
                )
    for field in TOKEN_FIELDS:
        value = fields.get(field, 0)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TOKENS:
            raise ValueError(f"{_name(field, labels)}={value!r} is out of range (0 to {MAX_TOKENS:,})")
    for field in ("usage_start", "usage_end"):
        if not isinstance(fields.get(field), datetime) or fields[field].tzinfo is None:
            raise ValueError(f"{_name(field, labels)} is not a UTC time")
    for field in ("usage_date", "billing_period"):
        if not isinstance(fields.get(field), date):
            raise ValueError(f"{_name(field, labels)} is not a date")
