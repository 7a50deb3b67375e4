"""cache_write_burn: callers whose cache writes far exceed their cache reads, the pattern behind the
overnight bills of agents that rewrite their whole context to the cache on every step.

Per (agent, else application, else principal) and model, per day: cache-write tokens above cache-read
tokens (write:read above 1) and a net loss above a floor. A written token would have been paid as
input anyway, so what writing costs is its premium over input (writes x (cache-write - input price));
what the reads repaid is reads x (input - cache-read price). Impact = the premium beyond what the reads
repaid, summed over the burning days and scaled to 30 days."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from recommendations.cards import Card, fingerprint, sample_ids
from recommendations.inputs import Inputs, Request
from recommendations.recommenders.common import dollars, monthly, name, per_token

MIN_DAILY_BURN_USD = Decimal(10)


def _subject(request: Request) -> tuple[str, str]:
    if request.agent_id:
        return "agent_id", request.agent_id
    if request.application:
        return "application", request.application
    return "iam_principal", request.iam_principal or "(unknown caller)"


def recommend(inputs: Inputs) -> list[Card]:
    catalog = inputs.catalog
    days: dict[tuple[str, str, str], dict[date, list[Request]]] = defaultdict(lambda: defaultdict(list))
    for request in inputs.window_requests():
        if request.model_id and request.cache_write_tokens:
            days[(*_subject(request), request.model_id)][request.usage_date].append(request)
    cards = []
    for (dimension, value, model_id), by_day in days.items():
        burn = Decimal(0)
        burning: list[tuple[date, Decimal, Decimal, list[Request]]] = []
        for day, requests in sorted(by_day.items()):
            writes = reads = Decimal(0)
            for r in requests:
                write_price = per_token(catalog, model_id, "cache_write", r)
                read_price = per_token(catalog, model_id, "cache_read", r)
                input_price = per_token(catalog, model_id, "input", r)
                if None in (write_price, read_price, input_price):
                    continue
                writes += r.cache_write_tokens * (write_price - input_price)
                reads += r.cache_read_tokens * (input_price - read_price)
            written = sum(r.cache_write_tokens for r in requests)
            read = sum(r.cache_read_tokens for r in requests)
            if written > read and writes - reads >= MIN_DAILY_BURN_USD:
                burn += writes - reads
                burning.append((day, writes, reads, requests))
        if not burning:
            continue
        impact = monthly(burn, inputs.window_days)
        worst = max(burning, key=lambda b: b[1])
        scope = {dimension: value, "model_id": model_id}
        cards.append(
            Card(
                kind="cache_write_burn",
                fingerprint=fingerprint("cache_write_burn", **scope),
                title=(
                    f"{value}: cache writes on {name(catalog, model_id)} outrun their reads — "
                    f"{dollars(burn)} burnt on {len(burning)} day(s)"
                ),
                scope=scope,
                monthly_impact_usd=impact,
                confidence="high" if len(burning) > 1 or worst[1] > 10 * MIN_DAILY_BURN_USD else "medium",
                evidence={
                    "request_ids": sample_ids([r.request_id for r in worst[3]]),
                    "days": [d.isoformat() for d, *_ in burning],
                    "worst_day": worst[0].isoformat(),
                    "worst_day_write_premium_usd": str(worst[1].quantize(Decimal("0.01"))),
                    "worst_day_read_savings_usd": str(worst[2].quantize(Decimal("0.01"))),
                    "write_tokens": sum(r.cache_write_tokens for r in worst[3]),
                    "read_tokens": sum(r.cache_read_tokens for r in worst[3]),
                },
                math=(
                    f"On {len(burning)} day(s) it wrote more tokens to the cache than it read back; writing cost "
                    f"{dollars(sum((b[1] for b in burning), Decimal(0)))} above the input price, the reads saved only "
                    f"{dollars(sum((b[2] for b in burning), Decimal(0)))}: {dollars(burn)} for nothing, "
                    f"{dollars(impact)} a month at this rate."
                ),
                action=(
                    f"Check how {value} places its cache points: cache the stable prefix (system prompt, tools) once, "
                    "not the whole growing conversation on every step; cap the agent's steps per session."
                ),
                chart={
                    "x": [d.isoformat() for d, *_ in burning],
                    "y": [float(w) for _, w, *_ in burning],
                    "label": "Cache-write dollars per day",
                },
            )
        )
    return cards
