"""Writes to the catalog. Ledger rows themselves are written by ingestion's loader."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from finops.ledger.catalog_seed import SEED_AS_OF, SEED_EFFECTIVE_FROM, SEED_MODELS, seed_prices


def catalog_seed_apply(
    *, model_catalog: Any = None, model_alias: Any = None, model_price: Any = None
) -> dict[str, int]:
    """Create or update the seed models, aliases and prices. Idempotent; staff edits to other rows stay.

    The model classes can be passed in so a data migration can use its historical models."""
    if model_catalog is None:
        from finops.ledger.models import ModelAlias, ModelCatalog, ModelPrice

        model_catalog, model_alias, model_price = ModelCatalog, ModelAlias, ModelPrice
    counts = {"models": 0, "aliases": 0, "prices": 0}
    with transaction.atomic():
        by_id: dict[str, Any] = {}
        for m in SEED_MODELS:
            obj, created = model_catalog.objects.update_or_create(
                model_id=m.model_id,
                defaults={
                    "name": m.name,
                    "provider": m.provider,
                    "family": m.family,
                    "tier": m.tier,
                    "lifecycle": m.lifecycle,
                    "regional_premium": m.global_input is not None,
                },
            )
            by_id[m.model_id] = obj
            counts["models"] += int(created)
            aliases = [(a, "runtime_id") for a in m.runtime_ids]
            aliases += [(a, "usage_token") for a in m.usage_tokens]
            aliases += [(a, "product_name") for a in m.product_names]
            for alias, kind in aliases:
                _, created = model_alias.objects.update_or_create(
                    alias=alias.strip().lower(), defaults={"model": obj, "kind": kind}
                )
                counts["aliases"] += int(created)
        for p in seed_prices():
            _, created = model_price.objects.update_or_create(
                model=by_id[p.model_id],
                token_type=p.token_type,
                route=p.route,
                service_tier=p.service_tier,
                region="",
                variant=p.variant,
                effective_from=SEED_EFFECTIVE_FROM,
                defaults={"price_usd": p.price_usd, "unit": p.unit, "source": p.source, "as_of": SEED_AS_OF},
            )
            counts["prices"] += int(created)
    return counts
