"""Numbers in words for the explorer's pages and CSV files. Pure: values in, strings out.

The page rounds for reading (cents, one decimal of a percent, "1.2M" tokens with the exact count in a
tooltip); the CSV keeps every digit the ledger has, as plain decimal strings (no exponent, no thousands
separators), so a spreadsheet sums it exactly."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
MINUS = "−"  # a real minus sign: a hyphen reads as a dash in tables
NOT_APPLICABLE = "—"


def _grouped(value: Decimal, places: int) -> str:
    quantum = Decimal(1).scaleb(-places)
    return f"{value.quantize(quantum, rounding=ROUND_HALF_UP):,.{places}f}"


def money(value: Decimal | None) -> str:
    """Dollars to the cent; amounts under a cent keep two significant digits, so they never read as $0.00."""
    if value is None:
        return NOT_APPLICABLE
    sign = MINUS if value < 0 else ""
    value = abs(value)
    if value == 0 or value >= CENT:
        return f"{sign}${_grouped(value, 2)}"
    return f"{sign}${_significant(value, 2)}"


def unit_money(value: Decimal | None) -> str:
    """Dollars per 1K tokens or per request: small amounts, so four decimals (two significant digits below)."""
    if value is None:
        return NOT_APPLICABLE
    sign = MINUS if value < 0 else ""
    value = abs(value)
    if value >= 1:
        return f"{sign}${_grouped(value, 2)}"
    if value == 0 or value >= Decimal("0.0001"):
        return f"{sign}${_grouped(value, 4)}"
    return f"{sign}${_significant(value, 2)}"


def _significant(value: Decimal, digits: int) -> str:
    exponent = value.adjusted() - digits + 1
    rounded = value.quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_UP)
    return format(rounded, "f")


def percent(value: Decimal | None, *, fraction: bool = False) -> str:
    """A percentage to one decimal; `fraction` when the value is a rate between 0 and 1."""
    if value is None:
        return NOT_APPLICABLE
    if fraction:
        value = value * 100
    return f"{_grouped(value, 1)}%"


def ratio(value: Decimal | None) -> str:
    if value is None:
        return NOT_APPLICABLE
    return f"{_grouped(value, 2)}×"


LATENCY_OPEN_MS = 300_000  # the lower edge of the open last latency bucket (finops.ledger.models.LATENCY_EDGES_MS)


def approx_ms(value: Decimal | None) -> str:
    """A latency from histogram buckets: approximate, and said so; the open last bucket only says "at least"."""
    if value is None:
        return NOT_APPLICABLE
    if value >= LATENCY_OPEN_MS:
        return f"≥{_grouped(Decimal(LATENCY_OPEN_MS), 0)} ms"
    return f"≈{_grouped(value, 0)} ms"


def count(value: int | None) -> str:
    if value is None:
        return NOT_APPLICABLE
    return f"{value:,}"


def compact(value: int | None) -> str:
    """1,234 / 12.3K / 4.56M / 7.8B: short enough for a wide table (the page puts the exact count in a tooltip)."""
    if value is None:
        return NOT_APPLICABLE
    if abs(value) < 10**4:
        return f"{value:,}"
    for divisor, suffix in ((10**3, "K"), (10**6, "M"), (10**9, "B")):
        scaled = Decimal(value) / divisor
        places = 1 if abs(scaled) >= 10 else 2
        rounded = scaled.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        if abs(rounded) < 1000 or suffix == "B":
            return f"{rounded:,.{places}f}{suffix}"
    raise AssertionError("unreachable")


def shorten(text: str, limit: int = 40) -> str:
    """A long label (an ARN, a long tag) cut in the middle, keeping its start and its distinctive end; the page
    puts the whole value in a tooltip."""
    if len(text) <= limit:
        return text
    head = limit // 3
    return f"{text[:head]}…{text[-(limit - head - 1) :]}"


def plain(value: Decimal | int | None, *, min_places: int = 0) -> str:
    """A number for a CSV cell: every digit kept, no exponent, trailing zeros dropped down to `min_places`."""
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    if value == 0:
        value = Decimal(0)  # no "-0"
    text = format(value, "f")
    if "." in text:
        whole, decimals = text.split(".")
        decimals = decimals.rstrip("0")
        decimals = decimals.ljust(min_places, "0")
        text = f"{whole}.{decimals}" if decimals else whole
    elif min_places:
        text = f"{text}.{'0' * min_places}"
    return text


def plain_money(value: Decimal | None) -> str:
    """Dollars for a CSV cell: at least to the cent, more when the ledger has more."""
    return plain(value, min_places=2)
