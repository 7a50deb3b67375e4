"""The oracle: what an import of a malformed file is allowed to do to the ledger.

Every variant is imported into a tenant of its own and classified as

* **crash**: an exception escaped an import service, or reading the tenant back failed (reading the ledger
  rows, `spend_report --format json`, the API report, the overview page: any exception or HTTP status >= 500);
* **silent**: no crash, but the ledger (or the ImportRun's account of it) is not one the rules below allow;
* **ok**: otherwise.

Reference rows. Each clean base row is imported alone, once per file format, into a reference tenant and its
ledger row remembered ("row"), or its fate ("skipped": not a Bedrock row; "rejected"). The clean whole file
is imported once as well and must give exactly the union of those rows. Big bases (hundreds of rows) use the
whole-file import only, rows matched by request id (logs) or by the fixture row they repeat (CUR). Rows are
compared on every stored SpendEvent field that exists today except id, tenant, import_run and dedupe_key;
tenants share one hash secret, so prompt hashes compare too.

Row-level mutations (a row of the file changed, duplicated, deleted, or a blank line added). The row's place
is its start line (CSV: physical line, the header is line 1, a row over several lines counts from its first;
Parquet: 1-based row number; JSON lines: physical line; a single JSON document: 1).

* Every other row must be in the ledger exactly as in the reference: nothing lost, duplicated or changed.
* The mutated row must either be rejected (a rejected sample naming the file and that line) or be loaded
  with values that faithfully represent the input, judged field by field from what the row now says:
  strings stored exactly (surrounding white space and NUL characters may be dropped, a lone surrogate or an
  undecodable byte may be dropped or replaced by U+FFFD); a string slot holding true/false, an object or a
  list must be rejected (a number may be stored as its text); numbers exactly (token counts whole,
  non-negative, equal to the input: 1.7, "", [], false, NaN, Infinity, negatives and counts >= 2**63 must be
  rejected; costs equal to the input to 10 decimal places, usage amounts to 8); timestamps the same instant,
  usage_date its UTC date, a request's billing period the month of that date; an unreadable value in a
  stored field (timestamp, cost, amount, tag map) means the row must be rejected; a CUR tag map value that
  is an object, a list or true/false likewise. Fields the input does not determine (estimates, model
  resolution) are only checked for plausibility (e.g. at most one CUR token count is non-zero and it is the
  usage amount times 1, 1K or 1M; a negative amount gives no tokens; no string field holds a cut-off prefix
  of an input string). A mutation of a CUR Bedrock-filter column may also make the row a skipped row.
  A duplicated row may be skipped or rejected, never loaded twice.
* The ImportRun must add up: rows_read == rows_loaded + rows_skipped + rows_rejected (+ rows_unchanged when
  the model has it); rows_rejected equals the rejected rows; every rejected sample names a mutated line; in
  a fresh tenant rows_loaded equals the ledger's row count.

File-level damage (a gzip with a flipped bit, a bad CRC or cut short; a duplicated or missing required CSV
column; a Parquet file cut short or with a column of the wrong type; a manifest listing files outside its
export folder): nothing of the file (CUR: of its billing period) may load, the error must be reported in
`files[...]["error"]` or the run's message (a wrong-typed Parquet column may instead reject every row), and
the data loaded before in the same tenant must be unchanged. Files outside the export folder are bait: none
of their rows may ever appear.

Re-deliveries: a CUR delivery under BILLING_PERIOD=P may only load rows of period P (a June delivery holding
a July-stamped row must reject it and keep July as loaded before); re-importing an identical delivery leaves
the ledger identical; a restatement replaces its period and nothing else.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

# Stored SpendEvent fields compared between a variant and the reference (those that exist in the model today;
# id, tenant, import_run and dedupe_key are left out on purpose).
COMPARED_FIELDS = (
    "connection_id",
    "source",
    "record_kind",
    "cost_basis",
    "usage_start",
    "usage_end",
    "usage_date",
    "billing_period",
    "account_id",
    "region",
    "inference_region",
    "route",
    "model_id",
    "model_ref",
    "model_family",
    "model_tier",
    "model_provider",
    "operation",
    "usage_type",
    "token_type",
    "line_item_type",
    "service_tier",
    "inference_profile_arn",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "units",
    "unit",
    "requests",
    "latency_ms",
    "cost_usd",
    "list_cost_usd",
    # allocated_cost_usd is left out: reconciliation derives it from the whole bucket (tested on its own
    # in tests/ledger/test_reconciliation.py), so a mutated row may rightly change it.
    "unpriced",
    "iam_principal",
    "principal_type",
    "principal_name",
    "role_name",
    "application",
    "team",
    "environment",
    "cost_center",
    "user_id",
    "agent_id",
    "workflow_id",
    "session_id",
    "request_id",
    "tags",
    "prompt_hash",
    "response_hash",
    "error_code",
)
TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
MODEL_FIELDS = ("model_id", "model_family", "model_tier", "model_provider", "model_ref")
PRINCIPAL_FIELDS = ("iam_principal", "principal_type", "principal_name", "role_name")
DIM_FIELDS = ("team", "application", "environment", "cost_center", "user_id", "agent_id", "workflow_id", "session_id")
PRICE_FIELDS = ("cost_usd", "unpriced")
# Lengths the old code cut strings to; a changed field of exactly such a length that is part of a longer input
# string is reported as truncated. The field's own max_length is added at run time (Harness.lengths).
CUT_LENGTHS = frozenset({12, 32, 64, 128, 255, 512})
_CONTINUES = re.compile(r"[\w.\-]")  # a cut in the middle of a word, not at a delimiter
MAX_BIGINT = 2**63
MAX_INT = 2**31
COST_TOLERANCE = Decimal("0.5E-10")
UNITS_TOLERANCE = Decimal("0.5E-8")

_SURROGATES = re.compile("[\ud800-\udfff]")


class _Invalid:
    def __repr__(self) -> str:
        return "INVALID"


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


INVALID: Any = _Invalid()  # a value the input cannot mean anything by (the row must be rejected)
MISSING: Any = _Missing()  # a JSON key that is not there


# --- canonical rows ---------------------------------------------------------------------------------------


def canon(value: Any) -> Any:
    if isinstance(value, Decimal):
        return "0" if value == 0 else format(value.normalize(), "f")
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=True)
    return value


def fingerprint(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(canon(row.get(f)) for f in COMPARED_FIELDS)


def short(value: Any, width: int = 70) -> str:
    text = repr(value)
    return text if len(text) <= width else f"{text[: width - 20]}...{text[-12:]} ({len(str(value))} chars)"


def row_label(row: dict[str, Any]) -> str:
    if row.get("record_kind") == "request":
        return f"request {short(row.get('request_id'), 50)}"
    usage = short(row.get("usage_type"), 60)
    return f"{row.get('line_item_type')} {usage} {row.get('usage_start')} ${row.get('cost_usd')}"


def diff_fields(expected: dict[str, Any], actual: dict[str, Any], skip: Iterable[str] = ()) -> list[str]:
    skipped = set(skip)
    return [
        f"{f}: expected {short(expected.get(f), 50)}, got {short(actual.get(f), 50)}"
        for f in COMPARED_FIELDS
        if f not in skipped and canon(expected.get(f)) != canon(actual.get(f))
    ]


# --- reading input values -----------------------------------------------------------------------------------


def faithful_forms(value: str) -> set[str]:
    """The stored strings that faithfully represent `value`."""
    forms: set[str] = set()
    for base in (value, value.replace("\x00", "")):
        for variant in (base, _SURROGATES.sub("", base), _SURROGATES.sub("\ufffd", base)):
            forms.add(variant)
            forms.add(variant.strip())
    return forms


def json_text(value: Any, *, required: bool) -> set[str] | Any:
    """What a JSON value in a string slot may be stored as: a set of strings, or INVALID (must reject)."""
    if value is MISSING or value is None:
        return INVALID if required else {""}
    if isinstance(value, str):
        forms = faithful_forms(value)
        if required and not value.strip():
            return INVALID
        return forms
    if isinstance(value, bool) or not isinstance(value, int | float):
        return INVALID
    if isinstance(value, float) and not math.isfinite(value):
        return INVALID
    return {str(value), json.dumps(value), repr(value)}


def as_decimal(value: Any) -> Decimal | None | Any:
    """A numeric cell: None when blank, INVALID when it is not a finite number."""
    if value is None or value is MISSING:
        return None
    if isinstance(value, bool):
        return INVALID
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else INVALID
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            number = Decimal(text)
        except (InvalidOperation, ValueError):
            return INVALID
        return number if number.is_finite() else INVALID
    return INVALID


def as_instant(value: Any) -> datetime | None | Any:
    """A timestamp cell as an aware UTC datetime (naive means UTC); None when blank, INVALID when unreadable."""
    if value is None or value is MISSING:
        return None
    try:
        if isinstance(value, datetime):
            return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        if not isinstance(value, str):
            return INVALID
        text = value.strip()
        if not text:
            return None
        if text[-1] in "zZ":
            text = text[:-1] + "+00:00"
        parsed = datetime.fromisoformat(text)
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        return INVALID


def local_month(value: Any) -> date | None:
    """The month of a timestamp text as written (before conversion to UTC)."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().rstrip("zZ"))
        except ValueError:
            return None
        return date(parsed.year, parsed.month, 1)
    return None


def as_map(value: Any) -> dict[str, set[str]] | Any:
    """A CUR map cell (JSON object text or Parquet pairs): key -> faithful stored values, or INVALID."""
    if value is None or value is MISSING:
        return {}
    if isinstance(value, list):
        pairs = value
    elif isinstance(value, str):
        if not value.strip():
            return {}
        try:
            loaded = json.loads(value)
        except (ValueError, RecursionError):
            return INVALID
        if not isinstance(loaded, dict):
            return INVALID
        pairs = list(loaded.items())
    else:
        return INVALID
    result: dict[str, set[str]] = {}
    for key, item in pairs:
        if item is None:
            forms: set[str] | Any = {""}
        else:
            forms = json_text(item, required=False)
        if forms is INVALID or not isinstance(key, str):
            return INVALID
        result[key] = forms
    return result


def month_start(day: date) -> date:
    return date(day.year, day.month, 1)


def same_value(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return repr(a) == repr(b)
    return bool(a == b)


# --- expectations for one mutated row -------------------------------------------------------------------------

Check = Callable[[dict[str, Any]], str | None]


@dataclass
class RowExpect:
    """What a mutated row may become. `checks` run on the loaded row; `touched` fields may differ from the reference."""

    description: str
    must_reject: str = ""  # why the row can only be rejected
    may_skip: bool = False
    touched: set[str] = field(default_factory=set)
    checks: list[Check] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)  # strings now in the row, for the truncation detector

    def reject(self, why: str) -> None:
        if not self.must_reject:
            self.must_reject = why

    def touch(self, *fields: str) -> None:
        self.touched.update(fields)


def _stored_str(row: dict[str, Any], name: str) -> str:
    value = row.get(name)
    return "" if value is None else str(value)


def check_str(name: str, forms: set[str], label: str) -> Check:
    def check(row: dict[str, Any]) -> str | None:
        stored = _stored_str(row, name)
        if stored in forms:
            return None
        expected = max(forms, key=len) if forms else ""
        return f"{name} is {short(stored)} but {label} is {short(expected)}"

    return check


def check_str_or(name: str, forms: set[str], alternatives: set[str], label: str) -> Check:
    return check_str(name, forms | alternatives, label)


def check_decimal(name: str, expected: Decimal | None, tolerance: Decimal, label: str) -> Check:
    def check(row: dict[str, Any]) -> str | None:
        stored = row.get(name)
        if expected is None:
            return None if stored is None else f"{name} is {stored} but {label} is blank"
        if stored is None:
            return f"{name} is blank but {label} is {expected}"
        if abs(Decimal(stored) - expected) > tolerance:
            return f"{name} is {stored} but {label} is {expected}"
        return None

    return check


def check_instant(name: str, expected: datetime, label: str) -> Check:
    def check(row: dict[str, Any]) -> str | None:
        stored = row.get(name)
        if not isinstance(stored, datetime) or stored != expected:
            return f"{name} is {stored} but {label} is the instant {expected.isoformat()}"
        return None

    return check


def check_in(name: str, allowed: set[Any], label: str) -> Check:
    def check(row: dict[str, Any]) -> str | None:
        stored = row.get(name)
        return None if stored in allowed else f"{name} is {short(stored)}; {label} allows {sorted(map(str, allowed))}"

    return check


def check_count(name: str, expected: int, label: str) -> Check:
    def check(row: dict[str, Any]) -> str | None:
        stored = row.get(name)
        return None if stored == expected else f"{name} is {stored} but {label} is {expected}"

    return check


def check_tags(entries: dict[str, set[str]], label: str) -> Check:
    """Every key of a tag map is in the stored tags (under its name, possibly prefixed) with a faithful value."""

    def check(row: dict[str, Any]) -> str | None:
        tags = row.get("tags")
        if not isinstance(tags, dict):
            return f"tags is {short(tags)}, not an object"
        for key, forms in entries.items():
            names = faithful_forms(key)
            found = [v for k, v in tags.items() if any(k == n or k.endswith("/" + n) for n in names if n)]
            if not any(n for n in names):
                continue
            if not found:
                if forms == {""}:
                    continue  # an empty value may be left out
                return f"tags has no key {short(key, 40)} ({label})"
            if not any(isinstance(v, str) and v in forms for v in found):
                return f"tags[{short(key, 40)}] is {short(found[0])} but {label} is {short(max(forms, key=len))}"
        return None

    return check


def dims_check(reference: dict[str, Any] | None, sources: list[str], carries: dict[str, set[str]]) -> Check:
    """Dimensions (team, application, ...): a carried value must follow its tag; any changed one must be a tag value."""
    allowed: set[str] = set()
    for source in sources:
        allowed |= faithful_forms(source)

    def check(row: dict[str, Any]) -> str | None:
        for name in DIM_FIELDS:
            stored = _stored_str(row, name)
            if name in carries and stored not in carries[name]:
                return f"{name} is {short(stored)} but its tag now says {short(max(carries[name], key=len))}"
            before = _stored_str(reference, name) if reference else ""
            if stored and stored != before and stored not in allowed:
                return f"{name} is {short(stored)}, which is none of the row's tag values"
        return None

    return check


def check_tokens(amount: Decimal | None, label: str) -> Check:
    """CUR: at most one token count, non-negative, the usage amount times 1, 1K or 1M (0 for a negative amount)."""

    def check(row: dict[str, Any]) -> str | None:
        values = {f: row.get(f) for f in TOKEN_FIELDS}
        for name, value in values.items():
            if not isinstance(value, int) or value < 0:
                return f"{name} is {value}: token counts must be whole and non-negative"
        nonzero = {k: v for k, v in values.items() if v}
        if not nonzero:
            return None
        if len(nonzero) > 1:
            return f"several token counts on one CUR line: {nonzero}"
        name, value = next(iter(nonzero.items()))
        if amount is None:
            return f"{name} is {value} but {label} has no usage amount"
        if amount < 0:
            return f"{name} is {value} from a negative usage amount {amount}"
        for scale in (1, 1000, 1_000_000):
            if abs(Decimal(value) - amount * scale) < 1:
                return None
        return f"{name} is {value}, not the usage amount {amount} times 1, 1K or 1M"

    return check


def check_latency(value: Any) -> Check:
    """Logs: latencyMs stored as the number it is (within 1 ms), or left blank when it is not a usable number."""
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    representable = number is not None and math.isfinite(number) and 0 <= number < MAX_INT

    def check(row: dict[str, Any]) -> str | None:
        stored = row.get("latency_ms")
        if representable:
            if stored is None or abs(stored - number) >= 1:  # type: ignore[operator]
                return f"latency_ms is {stored} but latencyMs is {number}"
            return None
        if stored is None:
            return None
        if number is not None and math.isfinite(number) and abs(stored - number) < 1:
            return None
        return f"latency_ms is {stored} but latencyMs is {short(value)}"

    return check


# --- invariants every ledger row must satisfy -------------------------------------------------------------------


def invariants(row: dict[str, Any]) -> list[str]:
    problems = []
    start, day = row.get("usage_start"), row.get("usage_date")
    if isinstance(start, datetime) and isinstance(day, date) and start.astimezone(UTC).date() != day:
        problems.append(f"usage_date {day} is not the UTC date of usage_start {start.isoformat()}")
    period = row.get("billing_period")
    if isinstance(period, date) and period.day != 1:
        problems.append(f"billing_period {period} is not the first of a month")
    if row.get("record_kind") == "request" and isinstance(day, date) and period != month_start(day):
        problems.append(f"billing_period {period} is not the month of usage_date {day}")
    for name in TOKEN_FIELDS:
        value = row.get(name)
        if not isinstance(value, int) or value < 0:
            problems.append(f"{name} is {value}")
    latency, end = row.get("latency_ms"), row.get("usage_end")
    if row.get("record_kind") == "request" and isinstance(start, datetime) and isinstance(end, datetime):
        if latency is not None and abs((end - start) - timedelta(milliseconds=latency)) > timedelta(milliseconds=1):
            problems.append(f"usage_end - usage_start is {end - start}, latency_ms is {latency}")
    return problems


def truncation(
    row: dict[str, Any], reference: dict[str, Any] | None, inputs: list[str], lengths: dict[str, set[int]]
) -> list[str]:
    """Changed string fields of exactly a cut length that are part of a longer input string."""
    problems = []
    for name in COMPARED_FIELDS:
        stored = row.get(name)
        if not isinstance(stored, str) or len(stored) < 8:
            continue
        if reference is not None and reference.get(name) == stored:
            continue
        if len(stored) not in CUT_LENGTHS | lengths.get(name, set()):
            continue
        for text in inputs:
            if len(text) <= len(stored) or stored in faithful_forms(text):
                continue
            position = text.find(stored)
            while position >= 0:
                after = text[position + len(stored) : position + len(stored) + 1]
                if after and _CONTINUES.match(after):
                    problems.append(
                        f"{name} holds {len(stored)} characters of a {len(text)}-character input (truncated)"
                    )
                    break
                position = text.find(stored, position + 1)
            if problems:
                break
    return problems


# --- CUR: what a changed row says -----------------------------------------------------------------------------

CUR_FILTER_COLUMNS = {
    "product_product_family",
    "line_item_product_code",
    "product",
    "product_servicecode",
    "line_item_operation",
}
CUR_TOUCHES: dict[str, tuple[str, ...]] = {
    "bill_billing_period_start_date": ("billing_period",),
    "line_item_line_item_type": ("line_item_type", *TOKEN_FIELDS, "unit"),
    "line_item_usage_start_date": ("usage_start", "usage_date", "usage_end", "billing_period", *TOKEN_FIELDS, "unit"),
    "line_item_usage_end_date": ("usage_end",),
    "line_item_usage_account_id": ("account_id",),
    "line_item_usage_type": (
        "usage_type",
        *MODEL_FIELDS,
        "route",
        "token_type",
        "service_tier",
        "region",
        *TOKEN_FIELDS,
        "unit",
    ),
    "line_item_operation": ("operation",),
    "line_item_resource_id": ("inference_profile_arn",),
    "line_item_iam_principal": PRINCIPAL_FIELDS,
    "line_item_user_identifier": ("user_id",),
    "line_item_usage_amount": ("units", *TOKEN_FIELDS, "unit"),
    "line_item_unblended_cost": ("cost_usd", *TOKEN_FIELDS, "unit"),
    "pricing_unit": ("unit", *TOKEN_FIELDS),
    "product_pricing_unit": ("unit", *TOKEN_FIELDS),
    "pricing_public_on_demand_cost": ("list_cost_usd",),
    "product_region_code": ("region", *TOKEN_FIELDS, "unit"),
    "product": (*MODEL_FIELDS, "region", *TOKEN_FIELDS, "unit"),
    "resource_tags": ("tags", *DIM_FIELDS),
    "tags": ("tags", *DIM_FIELDS),
}
CUR_CARRIES = {
    "line_item_usage_type": "usage_type",
    "line_item_operation": "operation",
    "line_item_iam_principal": "iam_principal",
    "line_item_usage_account_id": "account_id",
}


def bases_kind(column: str) -> str:
    return "map" if column in ("product", "resource_tags", "tags", "cost_category", "discount") else "other"


def _text_value(value: Any) -> str:
    if value is None or value is MISSING:
        return ""
    return value if isinstance(value, str) else str(value)


def _map_strings(entries: dict[str, set[str]]) -> list[str]:
    out = []
    for key, forms in entries.items():
        out.append(key)
        out.extend(forms)
    return out


def cur_expect(
    base: dict[str, Any], new: dict[str, Any] | None, reference: dict[str, Any] | None, description: str
) -> RowExpect:
    """What a CUR row changed from `base` to `new` (None: the row is malformed) may load as."""
    expect = RowExpect(description)
    if new is None:
        expect.reject("the row is malformed")
        expect.touch(*COMPARED_FIELDS)
        return expect
    changed = [c for c in sorted(set(base) | set(new)) if not same_value(base.get(c), new.get(c))]
    if not changed:
        return expect
    if any(c in CUR_FILTER_COLUMNS for c in changed):
        expect.may_skip = True
    for column in changed:
        expect.touch(*CUR_TOUCHES.get(column, ()))
        value = new.get(column)
        if isinstance(value, str) and bases_kind(column) != "map":  # map texts are added key by key below
            expect.inputs.append(value)
    # stored timestamps
    start = as_instant(new.get("line_item_usage_start_date"))
    if "line_item_usage_start_date" in changed:
        if start is None or start is INVALID:
            expect.reject("line_item_usage_start_date is unreadable or blank")
        else:
            expect.checks.append(check_instant("usage_start", start, "line_item_usage_start_date"))
    if "line_item_usage_end_date" in changed:
        end = as_instant(new.get("line_item_usage_end_date"))
        if end is INVALID:
            expect.reject("line_item_usage_end_date is unreadable")
        elif end is not None:
            expect.checks.append(check_instant("usage_end", end, "line_item_usage_end_date"))
    if {"bill_billing_period_start_date", "line_item_usage_start_date"} & set(changed):
        raw_period = new.get("bill_billing_period_start_date")
        period = as_instant(raw_period)
        if period is INVALID:
            expect.reject("bill_billing_period_start_date is unreadable")
        elif period is not None:
            allowed = {month_start(period.date())}
            local = local_month(raw_period)
            if local:
                allowed.add(local)
            expect.checks.append(check_in("billing_period", allowed, "bill_billing_period_start_date"))
        elif isinstance(start, datetime):
            expect.checks.append(check_in("billing_period", {month_start(start.date())}, "the usage start"))
    # stored numbers
    cost = as_decimal(new.get("line_item_unblended_cost"))
    if "line_item_unblended_cost" in changed:
        if cost is None or cost is INVALID:
            expect.reject("line_item_unblended_cost is not a number")
        else:
            expect.checks.append(check_decimal("cost_usd", cost, COST_TOLERANCE, "line_item_unblended_cost"))
    amount = as_decimal(new.get("line_item_usage_amount"))
    if "line_item_usage_amount" in changed:
        if amount is INVALID:
            expect.reject("line_item_usage_amount is not a number")
        else:
            expect.checks.append(check_decimal("units", amount, UNITS_TOLERANCE, "line_item_usage_amount"))
    if "pricing_public_on_demand_cost" in changed:
        listed = as_decimal(new.get("pricing_public_on_demand_cost"))
        if listed is INVALID:
            expect.reject("pricing_public_on_demand_cost is not a number")
        else:
            expect.checks.append(
                check_decimal("list_cost_usd", listed, COST_TOLERANCE, "pricing_public_on_demand_cost")
            )
    if set(TOKEN_FIELDS) & expect.touched:
        expect.checks.append(check_tokens(amount if amount is not INVALID else None, "the row"))
    # strings
    for column, name in CUR_CARRIES.items():
        if column in changed:
            expect.checks.append(check_str(name, faithful_forms(_text_value(new.get(column))), column))
    if "line_item_user_identifier" in changed:
        text = _text_value(new.get("line_item_user_identifier"))
        if text.strip():
            expect.checks.append(check_str("user_id", faithful_forms(text), "line_item_user_identifier"))
    if "line_item_line_item_type" in changed:
        text = _text_value(new.get("line_item_line_item_type"))
        forms = faithful_forms(text) if text.strip() else {"", "Usage"}
        expect.checks.append(check_str("line_item_type", forms, "line_item_line_item_type"))
    if "line_item_resource_id" in changed:
        text = _text_value(new.get("line_item_resource_id"))
        expect.checks.append(check_str_or("inference_profile_arn", faithful_forms(text), {""}, "line_item_resource_id"))
    if "product_region_code" in changed and reference is not None:
        text = _text_value(new.get("product_region_code"))
        expect.checks.append(
            check_str_or("region", faithful_forms(text), {str(reference.get("region"))}, "product_region_code")
        )
    # maps
    maps: dict[str, dict[str, set[str]]] = {}
    for column in ("product", "resource_tags", "tags", "cost_category", "discount"):
        if column not in new and column not in base:
            continue
        parsed = as_map(new.get(column))
        if parsed is INVALID:
            if column in changed:
                expect.reject(f"{column} is not a map of strings")
            continue
        maps[column] = parsed
        if column in changed:
            expect.inputs.extend(_map_strings(parsed))
    for column in ("resource_tags", "tags"):
        if column in changed and column in maps:
            expect.checks.append(check_tags(maps[column], column))
    if {"resource_tags", "tags", "line_item_user_identifier"} & set(changed):
        sources = [v for column in ("resource_tags", "tags") for forms in maps.get(column, {}).values() for v in forms]
        sources.append(_text_value(new.get("line_item_user_identifier")))
        carries = _dimension_carries(reference, base, new, ("resource_tags", "tags"), as_map)
        expect.checks.append(dims_check(reference, sources, carries))
    return expect


def _dimension_carries(
    reference: dict[str, Any] | None,
    base: dict[str, Any],
    new: dict[str, Any],
    columns: tuple[str, ...],
    reader: Callable[[Any], Any],
) -> dict[str, set[str]]:
    """Dimensions whose clean value came from exactly one tag that the mutation changed: they must follow it."""
    carries: dict[str, set[str]] = {}
    if reference is None:
        return carries
    before: list[tuple[str, str, str]] = []  # (column, key, clean value)
    after: dict[tuple[str, str], set[str]] = {}
    for column in columns:
        old_map = reader(base.get(column))
        new_map = reader(new.get(column))
        if isinstance(old_map, dict):
            for key, forms in old_map.items():
                before.append((column, key, max(forms, key=len) if forms else ""))
        if isinstance(new_map, dict):
            for key, forms in new_map.items():
                after[(column, key)] = forms
    for name in DIM_FIELDS:
        clean = _stored_str(reference, name)
        if not clean:
            continue
        sources = [(c, k) for c, k, v in before if v == clean]
        if len(sources) != 1:
            continue
        forms = after.get(sources[0])
        if forms is None or not any(f.strip() for f in forms):
            continue
        if clean in forms:
            continue
        carries[name] = forms
    return carries


# --- invocation logs: what a changed record says -----------------------------------------------------------------

LOG_COUNTS = {
    ("input", "inputTokenCount"): "input_tokens",
    ("input", "cacheReadInputTokenCount"): "cache_read_tokens",
    ("input", "cacheWriteInputTokenCount"): "cache_write_tokens",
    ("output", "outputTokenCount"): "output_tokens",
    ("output", "outputImageCount"): "units",
}
LATENCY_PATH = ("output", "outputBodyJson", "metrics", "latencyMs")
LOG_STRINGS = {
    ("accountId",): "account_id",
    ("identity", "arn"): "iam_principal",
    ("region",): "region",
    ("operation",): "operation",
    ("errorCode",): "error_code",
}


def _get(record: Any, path: tuple[str, ...]) -> Any:
    value = record
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return MISSING
        value = value[key]
    return value


def diff_record(old: Any, new: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any, Any]]:
    """Changed leaves between two records; request and response bodies are leaves (they are only hashed)."""
    if path == ("output", "outputBodyJson"):
        changes = []
        if not _same_json(old, new):
            changes.append((path, old, new))
        old_latency, new_latency = _get(old, LATENCY_PATH[2:]), _get(new, LATENCY_PATH[2:])
        if not _same_json(old_latency, new_latency):
            changes.append((LATENCY_PATH, old_latency, new_latency))
        return changes
    if isinstance(old, dict) and isinstance(new, dict) and path != ("input", "inputBodyJson"):
        changes = []
        for key in sorted(set(old) | set(new), key=str):
            changes.extend(diff_record(old.get(key, MISSING), new.get(key, MISSING), (*path, key)))
        return changes
    return [] if _same_json(old, new) else [(path, old, new)]


def _same_json(a: Any, b: Any) -> bool:
    try:
        return type(a) is type(b) and json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    except (TypeError, ValueError, RecursionError):
        return a is b


def _count_value(value: Any) -> int | None | Any:
    """A token count: the whole number it is, None when absent/null, INVALID otherwise."""
    if value is MISSING or value is None:
        return None
    if isinstance(value, bool):
        return INVALID
    if isinstance(value, int):
        return value if 0 <= value < MAX_BIGINT else INVALID
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and 0 <= value < MAX_BIGINT:
            return int(value)
        return INVALID
    if isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
        number = int(value.strip())
        return number if number < MAX_BIGINT else INVALID
    return INVALID


def log_expect(base: dict[str, Any], new: Any, reference: dict[str, Any] | None, description: str) -> RowExpect:
    """What an invocation-log record changed from `base` to `new` (INVALID: undecodable) may load as."""
    expect = RowExpect(description)
    if new is INVALID or not isinstance(new, dict):
        expect.reject("the line is not a JSON object")
        expect.touch(*COMPARED_FIELDS)
        return expect
    for path, _old, value in diff_record(base, new):
        _log_effect(expect, path, value, new, base, reference)
    return expect


def _log_effect(
    expect: RowExpect,
    path: tuple[str, ...],
    value: Any,
    record: dict[str, Any],
    base: dict[str, Any],
    reference: dict[str, Any] | None,
) -> None:
    if isinstance(value, str):
        expect.inputs.append(value)
    top = path[0] if path else ""
    if path == ("requestId",):
        expect.touch("request_id")
        forms = json_text(value, required=True)
        if forms is INVALID or isinstance(value, float):
            expect.reject("requestId is missing or not a string")
        else:
            expect.checks.append(check_str("request_id", forms, "requestId"))
    elif path == ("timestamp",):
        expect.touch("usage_start", "usage_end", "usage_date", "billing_period", *PRICE_FIELDS)
        instant = as_instant(value) if isinstance(value, str) else INVALID
        if instant is None or instant is INVALID:
            expect.reject("timestamp is missing or unreadable")
        else:
            expect.checks.append(check_instant("usage_start", instant, "timestamp"))
            expect.checks.append(check_in("billing_period", {month_start(instant.date())}, "the timestamp"))
    elif path == ("modelId",):
        expect.touch(*MODEL_FIELDS, "route", "inference_profile_arn", *PRICE_FIELDS)
        forms = json_text(value, required=True)
        if forms is INVALID:
            expect.reject("modelId is missing or not a string")
        else:
            resolved_or_ref = check_str("model_ref", forms, "modelId")
            expect.checks.append(lambda row, c=resolved_or_ref: None if row.get("model_id") else c(row))
    elif path in (("identity",),) or path in LOG_STRINGS or path == ("inferenceRegion",):
        _log_string(expect, path, value, record)
    elif top in ("input", "output") and len(path) == 1:
        expect.touch(*TOKEN_FIELDS, "units", "unit", "latency_ms", "usage_end", "prompt_hash", "response_hash")
        expect.touch(*PRICE_FIELDS)
        if value is not MISSING and value is not None and not isinstance(value, dict):
            expect.reject(f"{top} is {short(value, 30)}, not an object")
        elif not isinstance(value, dict):
            for count_path, name in LOG_COUNTS.items():
                if count_path[0] == top and name != "units":
                    expect.checks.append(check_count(name, 0, f"{top} (absent)"))
    elif path in LOG_COUNTS:
        name = LOG_COUNTS[path]
        expect.touch(name, *PRICE_FIELDS, *(("unit",) if name == "units" else ()))
        number = _count_value(value)
        label = ".".join(path)
        if number is INVALID:
            expect.reject(f"{label} is {short(value, 30)}, not a whole non-negative count")
        elif name == "units":
            expected = Decimal(number) if number else None
            expect.checks.append(check_decimal("units", expected, UNITS_TOLERANCE, label))
        else:
            expect.checks.append(check_count(name, number or 0, label))
    elif path == LATENCY_PATH:
        expect.touch("latency_ms", "usage_end", "response_hash")
        expect.checks.append(check_latency(value))
    elif path[:2] in (("input", "inputBodyJson"), ("input", "inputBodyS3Path")):
        expect.touch("prompt_hash")
    elif path[:2] in (("output", "outputBodyJson"), ("output", "outputBodyS3Path")):
        expect.touch("response_hash")
    elif top == "requestMetadata":
        _log_metadata(expect, path, value, record, base, reference)
    elif top == "serviceTier":
        expect.touch("service_tier", *PRICE_FIELDS)
    elif top == "errorCode":
        _log_string(expect, ("errorCode",), value, record)


def _log_string(expect: RowExpect, path: tuple[str, ...], value: Any, record: dict[str, Any]) -> None:
    if path == ("identity",):
        expect.touch(*PRINCIPAL_FIELDS)
        if value is MISSING or value is None:
            expect.checks.append(check_str("iam_principal", {""}, "identity (absent)"))
        elif not isinstance(value, dict):
            expect.reject("identity is not an object")
        return
    if path == ("inferenceRegion",):
        expect.touch("inference_region")
        forms = json_text(value, required=False)
        if forms is INVALID:
            expect.reject("inferenceRegion is not a string")
        elif not any(f.strip() for f in forms):
            region = json_text(record.get("region", MISSING), required=False)
            if region is not INVALID:
                expect.checks.append(check_str("inference_region", region, "region (no inferenceRegion)"))
        else:
            expect.checks.append(check_str("inference_region", forms, "inferenceRegion"))
        return
    name = LOG_STRINGS[path]
    label = ".".join(path)
    expect.touch(name)
    if name == "iam_principal":
        expect.touch(*PRINCIPAL_FIELDS)
    if name in ("region", "error_code"):
        expect.touch(*PRICE_FIELDS)
    forms = json_text(value, required=False)
    if forms is INVALID:
        expect.reject(f"{label} is {short(value, 30)}, not a string")
        return
    expect.checks.append(check_str(name, forms, label))
    if name == "region":
        expect.touch("inference_region")
        own = json_text(record.get("inferenceRegion", MISSING), required=False)
        if own is not INVALID and not any(f.strip() for f in own):
            expect.checks.append(check_str("inference_region", forms, "region (no inferenceRegion)"))


def _metadata_map(value: Any) -> dict[str, set[str]] | Any:
    if value is MISSING or value is None:
        return {}
    if not isinstance(value, dict):
        return INVALID
    result: dict[str, set[str]] = {}
    for key, item in value.items():
        forms = json_text(item, required=False)
        if forms is INVALID:
            return INVALID
        result[key] = forms
    return result


def _log_metadata(
    expect: RowExpect,
    path: tuple[str, ...],
    value: Any,
    record: dict[str, Any],
    base: dict[str, Any],
    reference: dict[str, Any] | None,
) -> None:
    expect.touch("tags", *DIM_FIELDS)
    entries = _metadata_map(record.get("requestMetadata", MISSING))
    if entries is INVALID:
        expect.reject("requestMetadata is not a map of strings")
        return
    expect.inputs.extend(_map_strings(entries))
    expect.checks.append(check_tags(entries, "requestMetadata"))
    sources = [v for forms in entries.values() for v in forms]
    wrapped_base = {"m": base.get("requestMetadata", MISSING)}
    wrapped_new = {"m": record.get("requestMetadata", MISSING)}
    carries = _dimension_carries(reference, wrapped_base, wrapped_new, ("m",), _metadata_map)
    expect.checks.append(dims_check(reference, sources, carries))


# --- judging a variant -----------------------------------------------------------------------------------------


@dataclass
class RefRow:
    """The fate of one clean base row imported alone: "row" (with its ledger row), "skipped" or "rejected"."""

    status: str
    row: dict[str, Any] | None = None


@dataclass
class Change:
    """A base row as the mutated file now has it (CUR: column -> value or None when malformed; logs: the decoded
    record or INVALID)."""

    kind: str  # "cur" | "log"
    base: Any
    new: Any
    description: str
    must_reject: str = ""  # a reason the scenario demands rejection (e.g. a July row in a June delivery)

    def expect(self, reference: dict[str, Any] | None) -> RowExpect:
        make = cur_expect if self.kind == "cur" else log_expect
        expect = make(self.base, self.new, reference, self.description)
        if self.must_reject:
            expect.must_reject = self.must_reject
        return expect


@dataclass
class Plan:
    """One row written into a data file: which base row it comes from, where it starts, what became of it."""

    ref: tuple[str, str, str]  # (importer, base, format) of the reference
    index: int  # base row index
    line: int = 0  # start line (or row number) in the file, filled in by the writer
    change: Change | None = None  # None: the clean row
    duplicate: bool = False  # an exact copy of an earlier row


@dataclass
class DataFile:
    path: Path
    plans: list[Plan] = field(default_factory=list)
    whole_file_rejected: bool = False  # file-level damage: nothing of it may load
    all_rows_rejected_ok: bool = False  # ... or every row rejected (a Parquet column of the wrong type)
    period: date | None = None  # CUR delivery under BILLING_PERIOD=: loaded rows must be of this period
    # A single JSON document: when it is broken, rejecting each of its physical lines (the importer cannot tell a
    # broken document from broken JSON lines) is accepted as long as nothing of it loads.
    single_document: bool = False


@dataclass
class Verdict:
    status: str  # "ok" | "silent"
    detail: str  # how it was ok: "loaded", "rejected", "skipped", "file rejected", "clean", "mixed"
    complaints: list[str]


@dataclass
class RunFacts:
    """The ImportRun fields the oracle reads (stable public fields only)."""

    rows_read: int
    rows_loaded: int
    rows_skipped: int
    rows_rejected: int
    rows_unchanged: int
    status: str
    message: str
    files: list[dict[str, Any]]
    rejected_samples: list[dict[str, Any]]
    skipped_objects: int = 0  # S3 objects that are not log files (permission check, large payloads)

    @classmethod
    def of(cls, run: Any) -> RunFacts:
        reasons = getattr(run, "skipped_reasons", None) or {}
        objects = sum(int(v) for k, v in reasons.items() if str(k).endswith("(file)") and isinstance(v, int))
        return cls(
            skipped_objects=objects,
            rows_read=run.rows_read,
            rows_loaded=run.rows_loaded,
            rows_skipped=run.rows_skipped,
            rows_rejected=run.rows_rejected,
            rows_unchanged=int(getattr(run, "rows_unchanged", 0) or 0),
            status=str(run.status),
            message=run.message or "",
            files=list(run.files or []),
            rejected_samples=list(run.rejected_samples or []),
        )


SAMPLE_CAP = 200


def judge(
    *,
    keep: list[DataFile],
    main: list[DataFile],
    refs: Callable[[tuple[str, str, str]], list[RefRow]],
    ledger: list[dict[str, Any]],
    run: RunFacts,
    fresh: bool,
    lengths: dict[str, set[int]],
) -> Verdict:
    """Classify the ledger after the main import against the rules in the module docstring."""
    complaints: list[str] = []
    # rows_skipped also counts S3 objects that are not log files ("... (file)" reasons); they are not rows.
    parts = run.rows_loaded + run.rows_skipped - run.skipped_objects + run.rows_rejected + run.rows_unchanged
    if run.rows_read != parts:
        complaints.append(
            f"counters do not add up: read {run.rows_read} != loaded {run.rows_loaded} + skipped {run.rows_skipped}"
            f" + rejected {run.rows_rejected}" + (f" + unchanged {run.rows_unchanged}" if run.rows_unchanged else "")
        )
    if fresh and run.rows_loaded != len(ledger):
        complaints.append(f"rows_loaded is {run.rows_loaded} but the ledger holds {len(ledger)} rows")
    for row in ledger:
        for problem in invariants(row):
            complaints.append(f"{row_label(row)}: {problem}")

    expected: list[tuple[dict[str, Any], str]] = []
    for data in keep:
        for plan in data.plans:
            ref = refs(plan.ref)[plan.index]
            if ref.status == "row" and ref.row is not None:
                expected.append((ref.row, f"{data.path.name} line {plan.line} (loaded before)"))

    samples: dict[str, dict[int, str]] = {}
    for sample in run.rejected_samples:
        name = Path(str(sample.get("file", ""))).name
        samples.setdefault(name, {})[_as_int(sample.get("line"))] = str(sample.get("reason", ""))
    capped = len(run.rejected_samples) >= SAMPLE_CAP

    mutated: list[tuple[DataFile, Plan, RefRow, RowExpect]] = []
    duplicates: list[tuple[DataFile, Plan]] = []
    clean_rejected: list[tuple[DataFile, Plan]] = []
    clean_skips = 0
    allowed_lines: dict[str, set[int]] = {}
    file_rejections = 0
    lenient_counts = False
    for data in main:
        name = data.path.name
        if data.whole_file_rejected:
            file_rejections += 1
            reported = run.message.strip() or any(
                entry.get("error") for entry in run.files if Path(str(entry.get("path", ""))).name == name
            )
            reported = reported or any(entry.get("error") for entry in run.files)
            if not reported and not (data.all_rows_rejected_ok and run.rows_rejected > 0):
                complaints.append(f"{name}: the damaged file was not reported as an error")
            continue
        lines = allowed_lines.setdefault(name, set())
        if data.single_document and any(p.change for p in data.plans):
            allowed_lines.pop(name)  # any of its lines may be named when the document is rejected
            lenient_counts = True
        for plan in data.plans:
            ref = refs(plan.ref)[plan.index]
            if plan.duplicate:
                duplicates.append((data, plan))
                lines.add(plan.line)
            elif plan.change is None:
                if ref.status == "row" and ref.row is not None:
                    expected.append((ref.row, f"{name} line {plan.line}"))
                elif ref.status == "skipped":
                    clean_skips += 1
                else:
                    clean_rejected.append((data, plan))
                    lines.add(plan.line)
            else:
                mutated.append((data, plan, ref, plan.change.expect(ref.row)))
                lines.add(plan.line)

    by_print: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in ledger:
        by_print.setdefault(fingerprint(row), []).append(row)
    missing: list[tuple[dict[str, Any], str]] = []
    for row, label in expected:
        bucket = by_print.get(fingerprint(row))
        if bucket:
            bucket.pop()
        else:
            missing.append((row, label))
    extra = [row for bucket in by_print.values() for row in bucket]

    rejected_plans = len(clean_rejected)
    skipped_plans = clean_skips
    outcomes: list[str] = []
    # Rows that can be recognised first: with a reference, not to be rejected, fewest fields touched.
    mutated.sort(key=lambda item: (item[2].status != "row", bool(item[3].must_reject), len(item[3].touched)))
    for data, plan, ref, expect in mutated:
        name = data.path.name
        where = f"{name} line {plan.line} ({expect.description})"
        was_rejected = plan.line in samples.get(name, {})
        candidate = _candidate(extra, ref, expect)
        if candidate is not None:
            extra.remove(candidate)
            if expect.must_reject:
                complaints.append(f"{where}: loaded although {expect.must_reject}: {row_label(candidate)}")
                outcomes.append("loaded")
                continue
            problems = [c(candidate) for c in expect.checks]
            problems += truncation(candidate, ref.row, expect.inputs, lengths)
            if data.period is not None and candidate.get("billing_period") != data.period:
                problems.append(
                    f"billing_period {candidate.get('billing_period')} in a delivery for {data.period:%Y-%m}"
                )
            for problem in problems:
                if problem:
                    complaints.append(f"{where}: {problem}")
            if was_rejected:
                complaints.append(f"{where}: both loaded and listed as rejected")
            outcomes.append("loaded")
        elif was_rejected or (capped and run.rows_rejected > len(run.rejected_samples)) or lenient_counts:
            rejected_plans += 1
            outcomes.append("rejected")
        elif expect.may_skip or ref.status == "skipped":
            skipped_plans += 1
            outcomes.append("skipped")
        else:
            hint = ""
            if ref.row is not None and extra:
                closest = min(extra, key=lambda r: len(diff_fields(ref.row or {}, r, expect.touched)))
                hint = "; closest row differs in " + "; ".join(diff_fields(ref.row, closest, expect.touched)[:4])
            if expect.must_reject:
                complaints.append(f"{where}: not rejected (must be: {expect.must_reject}) and not in the ledger{hint}")
            else:
                complaints.append(f"{where}: neither rejected nor loaded faithfully{hint}")
            outcomes.append("lost")
    for data, plan in duplicates:
        if plan.line in samples.get(data.path.name, {}):
            rejected_plans += 1
        else:
            skipped_plans += 1
    for data, plan in clean_rejected:
        if plan.line not in samples.get(data.path.name, {}) and not capped:
            complaints.append(f"{data.path.name} line {plan.line}: rejected in the reference but not here")

    for row in extra:
        bait = "bait " if "bait" in str(row.get("iam_principal")) else ""
        hint = ""
        if missing:
            closest_row, closest_label = min(missing, key=lambda item: len(diff_fields(item[0], row)))
            hint = f" (closest expected: {closest_label}: " + "; ".join(diff_fields(closest_row, row)[:4]) + ")"
        complaints.append(f"unexpected {bait}row in the ledger: {row_label(row)}{hint}")
    for row, label in missing:
        complaints.append(f"row of {label} lost or changed: {row_label(row)}")

    for name, lines in samples.items():
        if name not in allowed_lines:
            continue
        for line, reason in sorted(lines.items()):
            if line not in allowed_lines[name]:
                complaints.append(f"{name}: rejected sample names line {line}, which holds a clean row: {reason[:120]}")
    if not capped and not file_rejections and not lenient_counts and run.rows_rejected != rejected_plans:
        complaints.append(f"rows_rejected is {run.rows_rejected}, the file has {rejected_plans} rejected rows")
    if not file_rejections and run.rows_skipped < skipped_plans:
        complaints.append(f"rows_skipped is {run.rows_skipped}, expected at least {skipped_plans}")

    if complaints:
        return Verdict("silent", "", complaints)
    if file_rejections:
        detail = "file rejected"
    elif not outcomes:
        detail = "clean"
    elif len(set(outcomes)) == 1:
        detail = outcomes[0]
    else:
        detail = "mixed"
    return Verdict("ok", detail, [])


def _as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _candidate(extra: list[dict[str, Any]], ref: RefRow, expect: RowExpect) -> dict[str, Any] | None:
    """The unexpected ledger row that is the mutated row: equal to the reference on every untouched field."""
    if ref.status == "row" and ref.row is not None:
        untouched = [f for f in COMPARED_FIELDS if f not in expect.touched]
        wanted = [canon(ref.row.get(f)) for f in untouched]
        for row in extra:
            if [canon(row.get(f)) for f in untouched] == wanted:
                return row
        return None
    return extra[0] if len(extra) == 1 else None
