"""Pure date arithmetic for retention: which day data must be younger than to be kept."""

from __future__ import annotations

from datetime import UTC, date, datetime, time


def months_before(day: date, months: int) -> date:
    """The first day of the month `months` months before `day`'s month (months >= 0)."""
    if months < 0:
        raise ValueError("months must be 0 or more")
    index = day.year * 12 + (day.month - 1) - months
    return date(index // 12, index % 12 + 1, 1)


def retention_cutoff(*, today: date, months: int) -> date:
    """Whole billing months are kept: the current month and the `months` months before it. Everything of
    an earlier month goes. E.g. 12 months on 2026-06-15 keeps 2025-06-01 onwards."""
    return months_before(today, months)


def start_of_day(day: date) -> datetime:
    """Midnight UTC of `day`, for comparing timestamps with a cut-off date."""
    return datetime.combine(day, time.min, tzinfo=UTC)
