"""Shared shapes of the pure parsers: a batch of rows, rejected rows with file and line, skip counts."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

BILLING_PERIOD_IN_PATH = re.compile(r"BILLING_PERIOD=(\d{4})-(\d{2})")


class FileUnreadable(Exception):
    """Nothing in the file can be read (wrong format, corrupt compression, missing columns)."""


@dataclass(frozen=True)
class Rejected:
    file: str
    line: int
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "reason": self.reason}

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass
class Batch:
    rows: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    read: int = 0


# Usage before Bedrock (or any AWS bill) existed, or far in the future, is a broken value, and
# the pages could not draw it; both bounds are well inside what datetime and the databases hold.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
# Characters no database column may hold: NUL (PostgreSQL refuses it) and lone surrogates (not
# encodable as UTF-8; in CSV text they are the bytes that were not valid UTF-8).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def parse_timestamp(value: Any) -> datetime:
    """ISO-8601 text (`Z`, `.000Z`, offsets) or a datetime, as an aware UTC datetime between 2000 and 2100.

    An offset is converted, so `2026-06-03T23:30:00-05:00` is 2026-06-04 04:30 UTC."""
    if type(value) is str:
        return _parse_timestamp_text(value)  # a bill's few distinct times, each parsed once
    return _parse_timestamp(value)


@lru_cache(maxsize=65536)
def _parse_timestamp_text(value: str) -> datetime:
    return _parse_timestamp(value)


def _parse_timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    else:
        if not isinstance(value, str):
            raise ValueError(f"{value!r} is not an ISO-8601 time")
        text = value.strip()
        if not text:
            raise ValueError("empty timestamp")
        if len(text) > 40:
            raise ValueError(f"{text[:40]!r}... is not an ISO-8601 time")
        if text.endswith("Z") or text.endswith("z"):
            text = text[:-1] + "+00:00"
        if " " in text and "T" not in text:
            text = text.replace(" ", "T", 1)
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not an ISO-8601 time") from exc
    try:
        parsed = parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (OverflowError, ValueError) as exc:
        raise ValueError(f"{value!s} is out of range") from exc
    if not EARLIEST <= parsed < LATEST:
        raise ValueError(f"{parsed.isoformat()} is out of range (2000 to 2099)")
    return parsed


DIGITS = frozenset("0123456789")
DIGITS_START = DIGITS | {"-", "."}


def parse_decimal(
    value: Any, *, field_name: str, blank_ok: bool = True, bound: Decimal | None = None
) -> Decimal | None:
    """A number as delivered (text, int, float or Decimal), finite and, with `bound`, below it in
    absolute value; a ValueError naming the field otherwise."""
    if value.__class__ is str and 0 < len(value) <= 64 and value[0] in DIGITS_START and value[-1] in DIGITS:
        # The usual cell, plain decimal text: straight to Decimal (its checks below, in the same order).
        try:
            result = Decimal(value)
        except InvalidOperation:
            pass
        else:
            if bound is not None and result.copy_abs() >= bound:
                raise ValueError(f"{field_name}={value} is out of range (must be below {bound:,} in absolute value)")
            return result
    if value is None or (isinstance(value, str) and value.strip() == ""):
        if blank_ok:
            return None
        raise ValueError(f"{field_name} is empty")
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError(f"{field_name}={value!r} is not a number")
    if isinstance(value, float):
        value = repr(value)  # shortest round-trip text, so 0.069 stays 0.069
    text = str(value).strip()
    if len(text) > 64:
        raise ValueError(f"{field_name}={text[:20]}... is not a number (too long)")
    try:
        result = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(f"{field_name}={value!r} is not a number") from exc
    if not result.is_finite():
        raise ValueError(f"{field_name}={value!r} is not a finite number")
    if bound is not None and result.copy_abs() >= bound:
        raise ValueError(f"{field_name}={text} is out of range (must be below {bound:,} in absolute value)")
    return result


def _map_text(value: Any, *, field_name: str, key: str | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        where = f"{field_name}[{key!r}]" if key is not None else f"a key of {field_name}"
        raise ValueError(f"{where} is not text: {type(value).__name__}")
    return str(value)


def parse_map(value: Any, *, field_name: str) -> dict[str, str]:
    """A CUR map column: a Parquet map (list of pairs or dict), JSON object text, empty, or `{}`.

    Keys and values must be text (numbers are taken as their text); anything else is an error
    naming the column, never a silent conversion."""
    if value.__class__ is str and len(value) <= 4096:
        # The same tag and product texts repeat line after line: each read once (a copy each time).
        return dict(_parse_map_text(value, field_name))
    return _parse_map(value, field_name=field_name)


@lru_cache(maxsize=8192)
def _parse_map_text(value: str, field_name: str) -> dict[str, str]:
    return _parse_map(value, field_name=field_name)


def _parse_map(value: Any, *, field_name: str) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, dict):
        pairs: list[Any] = list(value.items())
    elif isinstance(value, list | tuple):
        pairs = list(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return {}
        try:
            loaded = json.loads(text)
        except RecursionError as exc:
            raise ValueError(f"{field_name} is nested too deeply") from exc
        except ValueError as exc:
            raise ValueError(f"{field_name} is not a JSON object: {getattr(exc, 'msg', exc)}") from exc
        if not isinstance(loaded, dict):
            raise ValueError(f"{field_name} is not a JSON object")
        pairs = list(loaded.items())
    else:
        raise ValueError(f"{field_name} is not a map: {type(value).__name__}")
    result: dict[str, str] = {}
    for pair in pairs:
        if isinstance(pair, dict) and set(pair) == {"key", "value"}:
            pair = (pair["key"], pair["value"])
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise ValueError(f"{field_name} is not a map of text to text")
        key = _map_text(pair[0], field_name=field_name)
        result[key] = _map_text(pair[1], field_name=field_name, key=key)
    return result


def billing_period_from_path(path: str) -> date | None:
    match = BILLING_PERIOD_IN_PATH.search(path)
    if not match:
        return None
    return date(int(match.group(1)), int(match.group(2)), 1)


def month_start(day: date | datetime) -> date:
    return date(day.year, day.month, 1)
