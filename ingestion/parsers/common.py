"""Shared shapes of the pure parsers: a batch of rows, rejected rows with file and line, skip counts."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
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


def parse_timestamp(value: Any) -> datetime:
    """ISO-8601 text (`Z`, `.000Z`, offsets) or a datetime, as an aware UTC datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value or "").strip()
    if not text:
        raise ValueError("empty timestamp")
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    if " " in text and "T" not in text:
        text = text.replace(" ", "T", 1)
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_decimal(value: Any, *, field_name: str, blank_ok: bool = True) -> Decimal | None:
    if value is None or (isinstance(value, str) and value.strip() == ""):
        if blank_ok:
            return None
        raise ValueError(f"{field_name} is empty")
    if isinstance(value, float):
        value = repr(value)  # shortest round-trip text, so 0.069 stays 0.069
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(f"{field_name}={value!r} is not a number") from exc
    if not result.is_finite():
        raise ValueError(f"{field_name}={value!r} is not a finite number")
    return result


def parse_map(value: Any, *, field_name: str) -> dict[str, str]:
    """A CUR map column: a Parquet map (list of pairs or dict), JSON object text, empty, or `{}`."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return {str(k): "" if v is None else str(v) for k, v in value.items()}
    if isinstance(value, list):
        return {str(k): "" if v is None else str(v) for k, v in value}
    text = str(value).strip()
    if not text:
        return {}
    try:
        loaded = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{field_name} is not a JSON object: {exc.msg}") from exc
    if not isinstance(loaded, dict):
        raise ValueError(f"{field_name} is not a JSON object")
    return {str(k): "" if v is None else str(v) for k, v in loaded.items()}


def billing_period_from_path(path: str) -> date | None:
    match = BILLING_PERIOD_IN_PATH.search(path)
    if not match:
        return None
    return date(int(match.group(1)), int(match.group(2)), 1)


def month_start(day: date | datetime) -> date:
    return date(day.year, day.month, 1)
