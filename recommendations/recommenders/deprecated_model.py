"""deprecated_model: spend on a LEGACY model, and who sends it. LEGACY as the inventory lists the model in the
request's region (ListFoundationModels of the tenant's accounts), else as the catalog says.

The card names the principals and applications, the last 30 days' spend, the suggested successor (the
ACTIVE model of the same provider and family, same tier when there is one, the one the tenant uses most,
else the cheapest for these tokens) and what the same tokens would cost on it."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from decimal import Decimal

from finops.ledger.catalog import Catalog
from recommendations.cards import Card, fingerprint, sample_ids
from recommendations.inputs import Inputs, Request
from recommendations.recommenders.common import CENT, dollars, monthly, name, price_request

MIN_MONTHLY_SPEND = Decimal("0.01")  # any real use is a risk: the model will be retired


def successor(
    catalog: Catalog,
    model_id: str,
    requests: list[Request],
    usage: Counter[str],
    lifecycle: Callable[[str], str] | None = None,
) -> str | None:
    """`lifecycle(model_id)`: the lifecycle to judge candidates by (default: the catalog's)."""
    old = catalog.models[model_id]
    state = lifecycle or (lambda m: catalog.models[m].lifecycle)
    family = [
        m
        for m in catalog.models.values()
        if m.provider == old.provider
        and m.family == old.family
        and m.platform == old.platform  # the successor is bought where the old model was
        and state(m.model_id) == "ACTIVE"
    ]
    same_tier = [m for m in family if m.tier == old.tier] or family
    priced = []
    for model in same_tier:
        costs = [price_request(catalog, model.model_id, r) for r in requests[:200]]
        if all(c is not None for c in costs):
            priced.append(
                (-usage[model.model_id], sum((c for c in costs if c is not None), Decimal(0)), model.model_id)
            )
    return min(priced)[2] if priced else None


def recommend(inputs: Inputs) -> list[Card]:
    catalog = inputs.catalog
    usage: Counter[str] = Counter()
    legacy: dict[str, list[Request]] = defaultdict(list)
    for request in inputs.window_requests():
        usage[request.model_id] += 1
        if request.model_id in catalog.models and inputs.lifecycle(request.model_id, request.region) == "LEGACY":
            legacy[request.model_id].append(request)
    cards = []
    for model_id, requests in legacy.items():
        spend = monthly(sum((r.cost_usd or Decimal(0) for r in requests), Decimal(0)), inputs.window_days)
        if spend < MIN_MONTHLY_SPEND:
            continue
        regions = {r.region for r in requests}

        def state(candidate: str, regions: set[str] = regions) -> str:
            # A successor must be ACTIVE wherever these requests run.
            states = {inputs.lifecycle(candidate, region) for region in regions}
            return "LEGACY" if "LEGACY" in states else "ACTIVE" if "ACTIVE" in states else ""

        target = successor(catalog, model_id, requests, usage, state)
        from_inventory = sorted(region for region in regions if (region, model_id) in inputs.lifecycles)
        difference = None
        if target is not None:
            moved = [price_request(catalog, target, r) for r in requests]
            if all(c is not None for c in moved):
                difference = monthly(sum((c for c in moved if c is not None), Decimal(0)), inputs.window_days) - spend
        principals = Counter(r.principal_name or r.iam_principal or "(unknown)" for r in requests)
        applications = Counter(r.application or "(untagged)" for r in requests)
        teams = Counter(r.team or "(untagged)" for r in requests)
        who = ", ".join(f"{a} ({n:,})" for a, n in applications.most_common(3))
        change = (
            ""
            if difference is None
            else f" ({'+' if difference >= 0 else '-'}{dollars(abs(difference))}/month at list price)"
        )
        cards.append(
            Card(
                kind="deprecated_model",
                fingerprint=fingerprint("deprecated_model", model_id=model_id),
                title=f"{name(catalog, model_id)} is LEGACY: {dollars(spend)}/month from {who}",
                scope={"model_id": model_id},
                monthly_impact_usd=spend,
                monthly_savings_usd=(-difference).quantize(CENT) if difference is not None and difference < 0 else None,
                confidence="high",
                evidence={
                    "request_ids": sample_ids([r.request_id for r in requests]),
                    "requests": len(requests),
                    "principals": dict(principals.most_common(10)),
                    "applications": dict(applications.most_common(10)),
                    "teams": dict(teams.most_common(10)),
                    "successor": target,
                    "lifecycle_from": (f"inventory ({', '.join(from_inventory)})" if from_inventory else "catalog"),
                    "successor_difference_monthly_usd": None if difference is None else str(difference),
                },
                math=(
                    f"{len(requests):,} requests in {inputs.window_days} days cost {dollars(spend)} a month on a model "
                    "AWS has marked LEGACY (it will be retired)."
                    + (
                        ""
                        if target is None
                        else f" The same tokens on {name(catalog, target)} would cost {dollars(spend + difference)}."
                        if difference is not None
                        else ""
                    )
                ),
                action=(
                    f"Move {who} to {name(catalog, target)}{change}: change the modelId from {model_id} to "
                    f"{target} and re-test the prompts before the retirement date."
                    if target
                    else f"Move {who} to an ACTIVE model before {name(catalog, model_id)} is retired."
                ),
            )
        )
    return cards
