"""Provisioned throughput: idle capacity, and on-demand traffic that would be cheaper provisioned.

provisioned_idle: a provisioned model (from its CUR provisioned-throughput lines and their resource
ARN) with fewer than IDLE_REQUESTS_PER_DAY invocations a day for 7 days or more. Impact = its hourly
cost x 730 (a month of hours), with its commitment term: "no commitment" can be deleted now; a 1- or
6-month term cannot be deleted before it ends (the end date comes from inventory once the account
syncs).

provisioned_break_even: per (model, application), the on-demand spend against the cost of the model
units its peak throughput would need (peak tokens per minute / the model's tokens per minute per
unit, an admin setting since AWS does not publish it) at the no-commitment hourly price. Flags
on-demand traffic that would be cheaper provisioned (under-commitment), and provisioned capacity the
traffic does not fill (over-commitment; idle capacity is left to provisioned_idle), with the
break-even utilisation."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from recommendations.cards import Card, fingerprint, sample_ids
from recommendations.inputs import BillLine, Inputs, Request
from recommendations.recommenders.common import CENT, dollars, monthly, name, price_request, who

IDLE_DAYS = 7
IDLE_REQUESTS_PER_DAY = 10
HOURS_PER_MONTH = 730
MIN_MONTHLY_GAIN = Decimal(100)  # break-even findings below this are not worth a commitment decision
COMMITMENTS = {"none": "no commitment: it can be deleted now", "1m": "a 1-month term", "6m": "a 6-month term"}


def _commitment(usage_type: str) -> str:
    text = usage_type.lower().replace("-", "").replace("_", "")
    if "nocommit" in text:
        return "none"
    for months in ("6", "1"):
        if f"{months}month" in text:
            return f"{months}m"
    return ""


def idle(inputs: Inputs) -> list[Card]:
    lines: dict[str, list[BillLine]] = defaultdict(list)
    for line in inputs.window_bills():
        if line.usage_category == "provisioned_throughput" and line.resource_arn:
            lines[line.resource_arn].append(line)
    calls: dict[str, list[Request]] = defaultdict(list)
    for request in inputs.window_requests():
        if request.inference_profile_arn in lines:
            calls[request.inference_profile_arn].append(request)
    cards = []
    for arn, billed in lines.items():
        days = sorted({line.usage_date for line in billed})
        recent = [d for d in days if d > inputs.as_of - timedelta(days=IDLE_DAYS * 4)]
        first = recent[0] if recent else days[0]
        span = (inputs.as_of - first).days + 1
        used = [r for r in calls.get(arn, []) if r.usage_date >= first]
        if span < IDLE_DAYS or inputs.as_of not in days or len(used) >= IDLE_REQUESTS_PER_DAY * span:
            continue
        last_day = [line for line in billed if line.usage_date == inputs.as_of]
        day_cost = sum((line.cost_usd for line in last_day), Decimal(0))
        hours = sum((line.units or Decimal(0) for line in last_day), Decimal(0)) or Decimal(24)
        hourly = (day_cost / hours).quantize(CENT) if hours else Decimal(0)
        impact = (hourly * HOURS_PER_MONTH).quantize(CENT)
        commitment = _commitment(last_day[0].usage_type if last_day else billed[-1].usage_type)
        term = COMMITMENTS.get(commitment, "its commitment term is not on the bill")
        model = name(inputs.catalog, billed[-1].model_id) if billed[-1].model_id else "a custom model"
        spent = sum((line.cost_usd for line in billed if line.usage_date >= first), Decimal(0))
        cards.append(
            Card(
                kind="provisioned_idle",
                fingerprint=fingerprint("provisioned_idle", inference_profile_arn=arn),
                title=(
                    f"Idle provisioned throughput ({model}): {len(used)} calls in {span} days, "
                    f"costing {dollars(impact)}/month"
                ),
                scope={"inference_profile_arn": arn, "model_id": billed[-1].model_id, "region": billed[-1].region},
                monthly_impact_usd=impact,
                confidence="high",
                evidence={
                    "request_ids": sample_ids([r.request_id for r in used]),
                    "resource_arn": arn,
                    "billed_since": first.isoformat(),
                    "days": span,
                    "invocations": len(used),
                    "hourly_cost_usd": str(hourly),
                    "billed_in_window_usd": str(spent.quantize(CENT)),
                    "commitment": commitment or "unknown",
                },
                math=(
                    f"It has been billed every hour since {first} ({dollars(spent)} so far, {dollars(hourly)} an "
                    f"hour) while only {len(used)} requests used it; {dollars(hourly)} x {HOURS_PER_MONTH} hours = "
                    f"{dollars(impact)} a month."
                ),
                action=(
                    f"Delete the provisioned model {arn} ({term}), or move its few callers to on-demand "
                    f"{model}. AWS bills provisioned throughput by the hour whether it is used or not."
                ),
                chart={
                    "x": [d.isoformat() for d in days],
                    "y": [
                        float(sum((line.cost_usd for line in billed if line.usage_date == d), Decimal(0))) for d in days
                    ],
                    "label": "Provisioned throughput cost per day (USD)",
                },
            )
        )
    return cards


def _peak_tpm(requests: list[Request]) -> int:
    per_minute: dict[object, int] = defaultdict(int)
    for request in requests:
        per_minute[request.usage_start.replace(second=0, microsecond=0)] += request.input_tokens + request.output_tokens
    return max(per_minute.values(), default=0)


def break_even(inputs: Inputs, *, idle_arns: set[str]) -> list[Card]:
    catalog = inputs.catalog
    groups: dict[tuple[str, str, str], list[Request]] = defaultdict(list)
    for request in inputs.window_requests():
        if request.model_id and request.cost_usd is not None and request.service_tier != "provisioned":
            groups[(request.model_id, *who(request))].append(request)
    cards = []
    for (model_id, dimension, value), requests in groups.items():
        per_unit = inputs.tokens_per_model_unit.get(model_id)
        hourly = catalog.price(
            model_id=model_id,
            token_type="model_unit_hour",
            on=inputs.as_of,
            service_tier="provisioned",
            region=requests[0].region,
            variant="none",
        )
        if not per_unit or hourly is None:
            continue
        peak = _peak_tpm(requests)
        units = max(1, math.ceil(peak / per_unit))
        provisioned = (hourly.price_usd * units * HOURS_PER_MONTH).quantize(CENT)
        on_demand = monthly(sum((r.cost_usd or Decimal(0) for r in requests), Decimal(0)), inputs.window_days)
        if on_demand - provisioned < MIN_MONTHLY_GAIN:
            continue
        utilisation = (provisioned / on_demand * 100).quantize(Decimal("0.1"))
        scope = {dimension: value, "model_id": model_id}
        cards.append(
            Card(
                kind="provisioned_break_even",
                fingerprint=fingerprint("provisioned_break_even", **scope),
                title=(
                    f"{value}: {dollars(on_demand)}/month on-demand on {name(catalog, model_id)} would cost "
                    f"{dollars(provisioned)} as {units} provisioned unit(s)"
                ),
                scope=scope,
                monthly_savings_usd=(on_demand - provisioned).quantize(CENT),
                confidence="low",
                evidence={
                    "request_ids": sample_ids([r.request_id for r in requests]),
                    "peak_tokens_per_minute": peak,
                    "tokens_per_minute_per_unit": per_unit,
                    "units": units,
                    "hourly_price_usd": str(hourly.price_usd),
                    "on_demand_monthly_usd": str(on_demand),
                    "break_even_utilisation_pct": str(utilisation),
                },
                math=(
                    f"Peak {peak:,} tokens a minute needs {units} unit(s) at {per_unit:,} tokens a minute each (the "
                    f"admin setting for this model; AWS does not publish it): {units} x {dollars(hourly.price_usd)} x "
                    f"{HOURS_PER_MONTH} h = {dollars(provisioned)} a month, against {dollars(on_demand)} on-demand. "
                    f"Provisioned pays off above {utilisation}% of today's traffic."
                ),
                action=(
                    f"Consider {units} unit(s) of provisioned throughput for {name(catalog, model_id)} (no "
                    "commitment first, to measure), and check the tokens-per-unit figure with your AWS account team."
                ),
            )
        )
    return cards + over_commitment(inputs, idle_arns=idle_arns)


def over_commitment(inputs: Inputs, *, idle_arns: set[str]) -> list[Card]:
    """Provisioned capacity whose traffic would cost less on-demand (idle capacity: provisioned_idle)."""
    catalog = inputs.catalog
    billed: dict[str, list[BillLine]] = defaultdict(list)
    for line in inputs.window_bills():
        if line.usage_category == "provisioned_throughput" and line.resource_arn and line.resource_arn not in idle_arns:
            billed[line.resource_arn].append(line)
    served: dict[str, list[Request]] = defaultdict(list)
    for request in inputs.window_requests():
        if request.inference_profile_arn in billed:
            served[request.inference_profile_arn].append(request)
    cards = []
    for arn, lines in billed.items():
        model_id = lines[-1].model_id
        requests = served.get(arn, [])
        provisioned = monthly(sum((line.cost_usd for line in lines), Decimal(0)), inputs.window_days)
        priced = [price_request(catalog, model_id, r, cache=False) for r in requests] if model_id else []
        if not requests or any(p is None for p in priced):
            continue
        on_demand = monthly(sum((p for p in priced if p is not None), Decimal(0)), inputs.window_days)
        if provisioned - on_demand < MIN_MONTHLY_GAIN:
            continue
        utilisation = (on_demand / provisioned * 100).quantize(Decimal("0.1")) if provisioned else Decimal(0)
        cards.append(
            Card(
                kind="provisioned_break_even",
                fingerprint=fingerprint("provisioned_break_even", inference_profile_arn=arn),
                title=(
                    f"Over-committed provisioned throughput ({name(catalog, model_id)}): {dollars(provisioned)}/month "
                    f"for traffic worth {dollars(on_demand)} on-demand"
                ),
                scope={"inference_profile_arn": arn, "model_id": model_id},
                monthly_savings_usd=(provisioned - on_demand).quantize(CENT),
                confidence="medium",
                evidence={
                    "request_ids": sample_ids([r.request_id for r in requests]),
                    "requests": len(requests),
                    "provisioned_monthly_usd": str(provisioned),
                    "on_demand_monthly_usd": str(on_demand),
                    "utilisation_pct": str(utilisation),
                },
                math=(
                    f"The capacity costs {dollars(provisioned)} a month; the {len(requests):,} requests it served "
                    f"would cost {dollars(on_demand)} on-demand: it is used at {utilisation}% of its break-even."
                ),
                action=(
                    f"Let the commitment of {arn} lapse (or reduce its model units) and send its traffic on-demand."
                ),
            )
        )
    return cards


def recommend(inputs: Inputs) -> list[Card]:
    idle_cards = idle(inputs)
    arns = {card.scope["inference_profile_arn"] for card in idle_cards}
    return idle_cards + break_even(inputs, idle_arns=arns)
