"""Writes to the catalog. Ledger rows themselves are written by ingestion's loader."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import Q

from finops.ledger.catalog import Catalog, CatalogModel
from finops.ledger.catalog_seed import SEED_MODELS
from finops.ledger.classify import Rule, classify
from finops.ledger.price_library import LIBRARY, library_models, library_source
from finops.ledger.price_rules import is_claude_45_or_later, long_context_threshold, model_prices


def catalog_seed_apply(
    *, model_catalog: Any = None, model_alias: Any = None, model_price: Any = None
) -> dict[str, int]:
    """Create or update the seed models and their aliases (names, families, tiers, lifecycles and the
    spellings AWS uses). Prices are not seeded: they come from the price library and the AWS Price
    List. Idempotent; staff edits to other rows stay. The model classes can be passed in so a data
    migration can use its historical models (`model_price` is accepted for old migrations, unused)."""
    if model_catalog is None:
        from finops.ledger.models import ModelAlias, ModelCatalog

        model_catalog, model_alias = ModelCatalog, ModelAlias
    counts = {"models": 0, "aliases": 0}
    with transaction.atomic():
        for m in SEED_MODELS:
            obj, created = model_catalog.objects.update_or_create(
                model_id=m.model_id,
                defaults={
                    "name": m.name,
                    "provider": m.provider,
                    "family": m.family,
                    "tier": m.tier,
                    "lifecycle": m.lifecycle,
                },
            )
            counts["models"] += int(created)
            aliases = [(a, "runtime_id") for a in m.runtime_ids]
            aliases += [(a, "usage_token") for a in m.usage_tokens]
            aliases += [(a, "product_name") for a in m.product_names]
            for alias, kind in aliases:
                _, created = model_alias.objects.update_or_create(
                    alias=alias.strip().lower(), defaults={"model": obj, "kind": kind}
                )
                counts["aliases"] += int(created)
    return counts


def _snapshot(model_catalog: Any, model_alias: Any) -> tuple[Catalog, dict[str, Any]]:
    catalog = Catalog()
    objects = {m.model_id: m for m in model_catalog.objects.all()}
    aliases: dict[int, list[str]] = {}
    for model_pk, alias in model_alias.objects.values_list("model_id", "alias"):
        aliases.setdefault(model_pk, []).append(alias)
    for obj in objects.values():
        catalog.add_model(
            CatalogModel(obj.model_id, obj.name, obj.provider, obj.family, obj.tier, obj.lifecycle, False),
            aliases.get(obj.pk, []),
        )
    return catalog, objects


def _library_row_sources(source: str) -> Q:
    return Q(source__startswith=LIBRARY) | Q(source__startswith="rule:")


def catalog_library_apply(
    *,
    model_catalog: Any = None,
    model_alias: Any = None,
    model_price: Any = None,
    tier_rule: Any = None,
    today: date | None = None,
) -> dict[str, int]:
    """Load list prices from the price library (offline) and the AWS rules it lacks.

    Models the library names are matched to catalog entries through their aliases; a model new to
    the catalog gets an entry (family and tier from the tier rules). The library's rows (and the rule
    rows made from them) are replaced as a whole, so loading again is idempotent and a library
    upgrade replaces its prices; rows from the AWS Price List or edited by staff are not touched."""
    if model_catalog is None:
        from finops.ledger.models import ModelAlias, ModelCatalog, ModelPrice, TierRule

        model_catalog, model_alias, model_price, tier_rule = ModelCatalog, ModelAlias, ModelPrice, TierRule
    source = library_source()
    as_of = today or date.today()
    rules = [Rule(r.pattern, r.tier, r.family) for r in tier_rule.objects.order_by("order", "id")]
    counts = {"models": 0, "new_models": 0, "aliases": 0, "prices": 0}
    with transaction.atomic():
        catalog, objects = _snapshot(model_catalog, model_alias)
        taken = set(model_alias.objects.values_list("alias", flat=True))
        for lib in library_models():
            known = next((m for m in (catalog.lookup(n) for n in (lib.runtime_id, *lib.match_strings)) if m), None)
            if known is not None:
                obj = objects[known.model_id]
            else:
                family, tier = classify(lib.runtime_id, lib.name, rules)
                obj = model_catalog.objects.create(
                    model_id=lib.runtime_id,
                    name=lib.name,
                    provider=lib.provider,
                    family=family,
                    tier=tier,
                    lifecycle="LEGACY" if lib.deprecated else "ACTIVE",
                    source=source,
                )
                objects[obj.model_id] = obj
                counts["new_models"] += 1
            counts["models"] += 1
            for alias in {lib.runtime_id.lower(), *(a.lower() for a in lib.library_ids + lib.match_strings)}:
                if alias not in taken:
                    model_alias.objects.create(model=obj, alias=alias, kind="runtime_id")
                    taken.add(alias)
                    counts["aliases"] += 1
            model_price.objects.filter(model=obj).filter(_library_row_sources(source)).delete()
            rows = [
                model_price(
                    model=obj,
                    token_type=price.token_type,
                    route=price.route,
                    service_tier=tier,
                    region="",
                    context=price.context,
                    cache_ttl=price.cache_ttl,
                    price_usd=price.price_per_mtok,
                    unit="1M tokens",
                    effective_from=price.effective_from,
                    effective_to=price.effective_to,
                    source=f"{source}; {rule}" if rule else source,
                    as_of=as_of,
                )
                for price, tier, rule in model_prices(lib)
            ]
            model_price.objects.bulk_create(rows)
            counts["prices"] += len(rows)
            regional = {(p.token_type, p.effective_from): p.price_per_mtok for p in lib.prices if p.route == ""}
            obj.regional_premium = any(
                p.route == "global"
                and regional.get((p.token_type, p.effective_from), p.price_per_mtok) > p.price_per_mtok
                for p in lib.prices
            ) or is_claude_45_or_later(lib.runtime_id)
            obj.long_context_threshold = long_context_threshold(lib)
            obj.save(update_fields=["regional_premium", "long_context_threshold"])
    return counts
