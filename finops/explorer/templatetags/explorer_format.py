"""Template filters for the explorer's numbers (finops/explorer/formatting.py)."""

from __future__ import annotations

from decimal import Decimal

from django import template

from finops.explorer import formatting

register = template.Library()


@register.filter
def money(value: Decimal | None) -> str:
    return formatting.money(value)


@register.filter
def unit_money(value: Decimal | None) -> str:
    return formatting.unit_money(value)


@register.filter
def rate(value: Decimal | None) -> str:
    """A fraction (0..1) as a percentage."""
    return formatting.percent(value, fraction=True)


@register.filter
def pct(value: Decimal | None) -> str:
    return formatting.percent(value)


@register.filter
def ratio(value: Decimal | None) -> str:
    return formatting.ratio(value)


@register.filter
def approx_ms(value: Decimal | None) -> str:
    return formatting.approx_ms(value)


@register.filter
def compact(value: int | None) -> str:
    return formatting.compact(value)


@register.filter
def count(value: int | None) -> str:
    return formatting.count(value)
