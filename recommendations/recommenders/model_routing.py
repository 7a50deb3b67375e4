"""model_routing: flagship or balanced traffic whose shape says an efficient model would do.

A request's shape is (operation, stop reason, input size, output size), sizes in powers of two. Only
classification-like calls are candidates: tiny outputs (a label, a score, yes/no) ended by the model
itself. Generative calls that merely share a size with efficient traffic are left alone: routing them
trades quality the ledger cannot see. Confidence is high when the tenant already runs that very shape
on an efficient model (it works there), medium otherwise. The suggestion is the ACTIVE efficient
model of the same provider priced in the caller's region: the one the tenant already uses most, else
the cheapest. Savings = the matched requests' estimated cost on the current model minus the same
tokens priced on the suggested one, scaled to 30 days."""

from __future__ import annotations

import math
from collections import defaultdict
from decimal import Decimal

from finops.ledger.catalog import Catalog
from recommendations.cards import Card, fingerprint, sample_ids
from recommendations.inputs import Inputs, Request
from recommendations.recommenders.common import dollars, models_of, monthly, name, price_request, who

MIN_REQUESTS = 50  # in the window: below that, a routing change is not worth a review
MIN_MONTHLY_SAVINGS = Decimal(1)
EFFICIENT_MATCH = 20  # requests of a shape on an efficient model that prove the shape works there
CLASSIFICATION_OUTPUT = 16  # tokens: a label, a score, yes/no
NATURAL_STOPS = {"end_turn", "stop", "stop_sequence", ""}

Shape = tuple[str, str, int, int]


def shape(request: Request) -> Shape:
    return (
        request.operation,
        request.stop_reason,
        math.ceil(math.log2(request.input_tokens + 1)),
        math.ceil(math.log2(request.output_tokens + 1)),
    )


def classification_like(request: Request) -> bool:
    return request.output_tokens <= CLASSIFICATION_OUTPUT and request.stop_reason in NATURAL_STOPS


def _suggestion(
    catalog: Catalog, provider: str, region_request: Request, usage: dict[str, int], platform: str = "bedrock"
) -> str | None:
    """The efficient model of the provider (on the same platform) to move to: priced for this request, most
    used, else cheapest."""
    candidates = []
    for model in models_of(catalog, provider=provider, tier="efficient", platform=platform):
        cost = price_request(catalog, model.model_id, region_request, cache=False)
        if cost is not None:
            candidates.append((-usage.get(model.model_id, 0), cost, model.model_id))
    return min(candidates)[2] if candidates else None


def recommend(inputs: Inputs) -> list[Card]:
    catalog = inputs.catalog
    requests = [r for r in inputs.window_requests() if r.model_id and r.cost_usd is not None and not r.error_code]
    efficient_shapes: dict[Shape, int] = defaultdict(int)
    usage: dict[str, int] = defaultdict(int)
    for request in requests:
        if request.model_tier == "efficient":
            efficient_shapes[shape(request)] += 1
            usage[request.model_id] += 1
    groups: dict[tuple[str, str, str, str], list[Request]] = defaultdict(list)
    for request in requests:
        if request.model_tier not in ("flagship", "balanced"):
            continue
        if classification_like(request):
            dimension, value = who(request)
            groups[(dimension, value, request.model_id, request.region)].append(request)
    cards = []
    for (dimension, value, model_id, region), matched in groups.items():
        if len(matched) < MIN_REQUESTS:
            continue
        current_model = catalog.models.get(model_id)
        provider = current_model.provider if current_model else ""
        platform = current_model.platform if current_model else "bedrock"
        target = _suggestion(catalog, provider, matched[0], usage, platform)
        if target is None or target == model_id:
            continue
        current = sum((r.cost_usd or Decimal(0) for r in matched), Decimal(0))
        moved = [price_request(catalog, target, r, cache=False) for r in matched]
        if any(cost is None for cost in moved):
            continue
        suggested = sum((c for c in moved if c is not None), Decimal(0))
        savings = monthly(current - suggested, inputs.window_days)
        if savings < MIN_MONTHLY_SAVINGS:
            continue
        proven = sum(1 for r in matched if efficient_shapes.get(shape(r), 0) >= EFFICIENT_MATCH)
        tiny = sum(1 for r in matched if classification_like(r))
        avg_in = sum(r.input_tokens for r in matched) // len(matched)
        avg_out = sum(r.output_tokens for r in matched) // len(matched)
        scope = {dimension: value, "model_id": model_id, "region": region}
        cards.append(
            Card(
                kind="model_routing",
                fingerprint=fingerprint("model_routing", **scope, target=target),
                title=(
                    f"{value}: move {len(matched):,} short calls from {name(catalog, model_id)} to "
                    f"{name(catalog, target)} — save {dollars(savings)}/month"
                ),
                scope=scope,
                monthly_savings_usd=savings,
                confidence="high" if proven >= len(matched) / 2 else "medium",
                evidence={
                    "request_ids": sample_ids([r.request_id for r in matched]),
                    "requests": len(matched),
                    "window_days": inputs.window_days,
                    "avg_input_tokens": avg_in,
                    "avg_output_tokens": avg_out,
                    "classification_like": tiny,
                    "shapes_proven_on_efficient_models": proven,
                    "current_cost_usd": str(current.quantize(Decimal("0.0001"))),
                    "suggested_cost_usd": str(suggested.quantize(Decimal("0.0001"))),
                    "suggested_model": target,
                },
                math=(
                    f"{len(matched):,} requests in {inputs.window_days} days averaging {avg_in:,} input and "
                    f"{avg_out:,} output tokens cost {dollars(current)} on {name(catalog, model_id)}; the same tokens "
                    f"on {name(catalog, target)} cost {dollars(suggested)}. The difference, scaled to 30 days, is "
                    f"{dollars(savings)}."
                ),
                action=(
                    f"Send these calls from {value} to {name(catalog, target)} instead of {name(catalog, model_id)}: "
                    f"change the modelId from {model_id} to {target} (same prompt, same region), after checking "
                    "the answers on a sample."
                ),
                snippet=f'modelId="{target}"  # was "{model_id}"',
            )
        )
    return cards
