"""A budget's settings as plain data: the scope (explorer filters), thresholds and channels, validated and put
into words. No database: the model, the form, the commands and the API all validate through here."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email

from finops.explorer.query import DIMENSIONS, MAX_FILTER_VALUES, DimFilter, describe_filters

THRESHOLD_KINDS = ("actual", "forecast")
DEFAULT_THRESHOLDS = ({"kind": "actual", "pct": 80}, {"kind": "actual", "pct": 100}, {"kind": "forecast", "pct": 100})
MAX_PCT = 1000
MAX_EMAILS = 20
MAX_WEBHOOKS = 10
NONE_TOKEN = "(none)"  # how an empty value (untagged, no account...) is typed in forms and commands


def scope_dimensions() -> dict[str, str]:
    """The dimensions a budget can be scoped by: every explorer filter (dates are the budget's period)."""
    return {name: d.label for name, d in DIMENSIONS.items() if not d.group_only}


def default_thresholds() -> list[dict[str, Any]]:
    return [dict(t) for t in DEFAULT_THRESHOLDS]


def scope_clean(raw: Any) -> list[dict[str, Any]]:
    """The scope as a list of {"dimension", "values", "exclude"}; filters on the same dimension and sense are
    merged. ValidationError says what is wrong and what to send instead."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, list):
        raise ValidationError('The scope is a list of filters like {"dimension": "team", "values": ["search"]}.')
    allowed = scope_dimensions()
    merged: dict[tuple[str, bool], list[str]] = {}
    for index, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            raise ValidationError(f'Filter {index} is not like {{"dimension": "team", "values": ["search"]}}.')
        unknown = set(item) - {"dimension", "values", "exclude"}
        if unknown:
            raise ValidationError(f"Filter {index} has unknown keys {', '.join(sorted(unknown))}.")
        dimension = str(item.get("dimension", "")).strip()
        if dimension not in allowed:
            if dimension in DIMENSIONS:
                raise ValidationError(f"Filter {index}: {dimension} is a time bucket; the budget's period sets dates.")
            raise ValidationError(f"Filter {index}: unknown dimension {dimension!r}; use one of {', '.join(allowed)}.")
        values = item.get("values")
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list) or not values or not all(isinstance(v, str | int) for v in values):
            raise ValidationError(f"Filter {index} ({dimension}) needs a list of one or more values.")
        exclude = item.get("exclude", False)
        if not isinstance(exclude, bool):
            raise ValidationError(f"Filter {index} ({dimension}): exclude is true or false.")
        bucket = merged.setdefault((dimension, exclude), [])
        for value in values:
            value = str(value).strip()
            if "\x00" in value:
                raise ValidationError(f"Filter {index} ({dimension}): a value contains a NUL character.")
            if len(value) > 2048:
                raise ValidationError(f"Filter {index} ({dimension}): a value is longer than any stored one.")
            if value not in bucket:
                bucket.append(value)
        if len(bucket) > MAX_FILTER_VALUES:
            raise ValidationError(f"Filter {index} ({dimension}): at most {MAX_FILTER_VALUES} values.")
    return [{"dimension": d, "values": v, "exclude": e} for (d, e), v in merged.items()]


def scope_filters(scope: list[dict[str, Any]]) -> tuple[DimFilter, ...]:
    return tuple(DimFilter(f["dimension"], tuple(f["values"]), bool(f.get("exclude"))) for f in scope)


def scope_words(scope: list[dict[str, Any]]) -> str:
    """The scope in words: "Team is data-science; Model is not X", or the whole tenant."""
    if not scope:
        return "All spend of the tenant"
    return "; ".join(describe_filters(scope_filters(scope)))


def parse_filter(text: str) -> dict[str, Any]:
    """A command-line filter: `team=search`, `team!=search`, several values with commas (`team=a,b`);
    `(none)` stands for an empty value (untagged)."""
    exclude = "!=" in text
    dimension, sep, raw = text.partition("!=" if exclude else "=")
    if not sep or not dimension.strip() or not raw.strip():
        raise ValidationError(f"{text!r} is not a filter: use DIM=VALUE or DIM!=VALUE, e.g. team=search.")
    values = [v.strip() for v in raw.split(",") if v.strip()]
    values = ["" if v == NONE_TOKEN else v for v in values]
    return {"dimension": dimension.strip(), "values": values, "exclude": exclude}


def thresholds_clean(raw: Any) -> list[dict[str, Any]]:
    """A list of {"kind": "actual"|"forecast", "pct": whole percent}, deduplicated and sorted."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, list):
        raise ValidationError('Thresholds are a list like [{"kind": "actual", "pct": 80}].')
    out: set[tuple[str, int]] = set()
    for item in raw:
        if not isinstance(item, dict) or set(item) - {"kind", "pct"}:
            raise ValidationError('Each threshold is {"kind": "actual" or "forecast", "pct": a whole percent}.')
        kind = item.get("kind")
        if kind not in THRESHOLD_KINDS:
            raise ValidationError(f"Threshold kind {kind!r}: use actual or forecast.")
        pct = item.get("pct")
        if isinstance(pct, bool) or not isinstance(pct, int) or not 1 <= pct <= MAX_PCT:
            raise ValidationError(f"Threshold {kind} {pct!r}: the percent is a whole number from 1 to {MAX_PCT}.")
        out.add((kind, pct))
    return [{"kind": k, "pct": p} for k, p in sorted(out)]


def parse_threshold(text: str) -> dict[str, Any]:
    """A command-line threshold: `actual:80`, `forecast:100` (a trailing % is fine)."""
    kind, sep, pct = text.partition(":")
    pct = pct.strip().rstrip("%")
    if not sep or not pct.isdigit():
        raise ValidationError(f"{text!r} is not a threshold: use actual:PCT or forecast:PCT, e.g. actual:80.")
    return thresholds_clean([{"kind": kind.strip(), "pct": int(pct)}])[0]


def emails_clean(raw: Any) -> list[str]:
    items = _strings(raw, "Emails")
    if len(items) > MAX_EMAILS:
        raise ValidationError(f"At most {MAX_EMAILS} email addresses.")
    for item in items:
        try:
            validate_email(item)
        except ValidationError as exc:
            raise ValidationError(f"{item!r} is not an email address.") from exc
    return items


def webhooks_clean(raw: Any) -> list[str]:
    items = _strings(raw, "Webhooks")
    if len(items) > MAX_WEBHOOKS:
        raise ValidationError(f"At most {MAX_WEBHOOKS} webhooks.")
    validator = URLValidator(schemes=["https"])
    for item in items:
        try:
            validator(item)
        except ValidationError as exc:
            raise ValidationError(f"{item!r} is not an https URL (webhooks are https only).") from exc
    return items


def mask_url(url: str) -> str:
    """https://hooks.example.com/…wxyz: enough to tell webhooks apart, not enough to post to one (a webhook URL
    is a credential: pages, the API for non-admins and the alert history show it masked)."""
    match = re.match(r"^(https?://[^/\s]+)(/\S*)?$", url)
    return f"{match.group(1)}/…{url[-4:]}" if match and match.group(2) and len(match.group(2)) > 1 else url


def mask_urls(text: str) -> str:
    """Every URL in a text masked (channel labels like "Webhook (Slack-compatible): https://...")."""
    return re.sub(r"https?://\S+", lambda m: mask_url(m.group(0)), text)


def _strings(raw: Any, what: str) -> list[str]:
    if raw in (None, ""):
        return []
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise ValidationError(f"{what} are a list of strings.")
    return list(dict.fromkeys(v.strip() for v in raw if v.strip()))
