"""restatement: AWS delivered a closed billing period again with different numbers. Every chargeback or
invoice already sent for that month is out by the difference."""

from __future__ import annotations

from decimal import Decimal

from recommendations.cards import Card, fingerprint
from recommendations.inputs import Inputs
from recommendations.recommenders.common import CENT, dollars

MIN_DIFFERENCE = Decimal("0.01")
RECENT_DAYS = 45  # restatements delivered longer ago than this are history, not news


def recommend(inputs: Inputs) -> list[Card]:
    cards = []
    for entry in inputs.restatements:
        difference = (entry.after_usd - entry.before_usd).quantize(CENT)
        if abs(difference) < MIN_DIFFERENCE or (inputs.as_of - entry.delivered_on).days > RECENT_DAYS:
            continue
        period = f"{entry.billing_period:%B %Y}"
        cards.append(
            Card(
                kind="restatement",
                fingerprint=fingerprint("restatement", billing_period=entry.billing_period, after=str(entry.after_usd)),
                title=f"AWS restated {period}: {'+' if difference > 0 else '-'}{dollars(abs(difference))} on the bill",
                scope={"billing_period": entry.billing_period.isoformat()},
                monthly_impact_usd=abs(difference),
                confidence="high",
                evidence={
                    "request_ids": [],
                    "billing_period": entry.billing_period.isoformat(),
                    "delivered_on": entry.delivered_on.isoformat(),
                    "before_usd": str(entry.before_usd),
                    "after_usd": str(entry.after_usd),
                    "rows_removed": entry.rows_removed,
                    "rows_added": entry.rows_added,
                },
                math=(
                    f"The {period} bill was {dollars(entry.before_usd)} when first delivered and is "
                    f"{dollars(entry.after_usd)} now ({entry.rows_removed:,} lines replaced, {entry.rows_added:,} "
                    f"loaded): {dollars(abs(difference))} {'more' if difference > 0 else 'less'}."
                ),
                action=(
                    f"Re-run the {period} chargeback (python manage.py chargeback --period "
                    f"{entry.billing_period:%Y-%m} ...) and send the corrections; the ledger already holds the "
                    "restated lines."
                ),
            )
        )
    return cards
