"""Writes the other platforms' models and list prices (OpenAI, Anthropic, Azure OpenAI, Vertex AI) into the
catalog from the price library, beside Bedrock's (`services.catalog_library_apply`)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Any

from django.db import transaction

from finops.ledger.catalog import Catalog, CatalogModel
from finops.ledger.classify import Rule, classify, family_of
from finops.ledger.platform_library import (
    MAKER_PREFIX,
    PLATFORM_LIBRARY,
    PlatformModel,
    platform_models,
    platform_prices,
)
from finops.ledger.price_library import library_source
from finops.ledger.provider_catalog import BEDROCK, platform_of


def bedrock_counterpart(catalog: Catalog, model: PlatformModel) -> CatalogModel | None:
    """The same model's Bedrock entry (Claude Sonnet 4.5 on Anthropic -> anthropic.claude-sonnet-4-5-…), if any."""
    prefix = MAKER_PREFIX.get(model.library.provider)
    for spelling in model.spellings:
        spelling = spelling.rstrip("@")
        for candidate in (f"{prefix}.{spelling}" if prefix else "", spelling):
            found = catalog.lookup(candidate) if candidate else None
            if found is not None and platform_of(found.model_id) == BEDROCK:
                return found
    return None


def platform_family(model: PlatformModel) -> str:
    """The model line, as Bedrock's families are named (claude-sonnet, gpt-oss, gemini, gpt ...)."""
    canonical = model.canonical
    if re.match(r"o\d", canonical):
        return "o-series"
    if canonical.startswith(("chatgpt-", "ft:gpt")):
        return "gpt"
    if canonical.startswith("text-embedding"):
        return "text-embedding"
    # family_of reads `<maker>.<id>`; the prefix also keeps dots in OpenAI ids (gpt-4.1) out of its split.
    return family_of(f"{MAKER_PREFIX.get(model.library.provider, 'other')}.{canonical}")


def identity(catalog: Catalog, model: PlatformModel, rules: Iterable[Rule]) -> tuple[str, str, str]:
    """Name, family and tier: the Bedrock entry's where the model is sold there too (so one model bought from
    two platforms compares as one), else the library's name and the tier rules, like every new model."""
    counterpart = bedrock_counterpart(catalog, model)
    if counterpart is not None:
        return counterpart.name, counterpart.family, counterpart.tier
    prefixed = f"{MAKER_PREFIX.get(model.library.provider, 'other')}.{model.canonical}"
    family, tier = classify(prefixed, model.library.name, rules)
    if family == family_of(prefixed):  # the rule named no family
        family = platform_family(model)
    return model.library.name, family, tier


def catalog_platforms_apply(
    *,
    model_catalog: Any = None,
    model_alias: Any = None,
    model_price: Any = None,
    tier_rule: Any = None,
    today: date | None = None,
    sources: Iterable[str] | None = None,
) -> dict[str, int]:
    """Load the other platforms' models and list prices from the price library (offline).

    A model new to the catalog gets an entry `<source>/<id>` with its platform, maker, and the family and
    tier of its Bedrock entry (else from the tier rules); existing entries keep staff edits to name, family
    and tier. Aliases are namespaced the same way. The library's rows (and the rule rows made from them)
    are replaced as a whole, so loading again changes nothing and a library upgrade replaces its prices;
    rows staff added by hand stay. The model classes can be passed in for a data migration."""
    from finops.ledger.services import _library_row_sources, _snapshot

    if model_catalog is None:
        from finops.ledger.models import ModelAlias, ModelCatalog, ModelPrice, TierRule

        model_catalog, model_alias, model_price, tier_rule = ModelCatalog, ModelAlias, ModelPrice, TierRule
    source_note = library_source()
    as_of = today or date.today()
    rules = [Rule(r.pattern, r.tier, r.family) for r in tier_rule.objects.order_by("order", "id")]
    counts = {"models": 0, "new_models": 0, "aliases": 0, "prices": 0}
    wanted = list(sources or PLATFORM_LIBRARY)
    with transaction.atomic():
        catalog, objects = _snapshot(model_catalog, model_alias)
        taken = set(model_alias.objects.values_list("alias", flat=True))
        aliases, prices, refreshed = [], [], []
        for source in wanted:
            for model in platform_models(source):
                obj = objects.get(model.model_id)
                if obj is None:
                    name, family, tier = identity(catalog, model, rules)
                    obj = objects[model.model_id] = model_catalog.objects.create(
                        model_id=model.model_id,
                        platform=source,
                        name=name[:128],
                        provider=model.library.provider,
                        family=family,
                        tier=tier,
                        lifecycle="LEGACY" if model.library.deprecated else "ACTIVE",
                        source=source_note,
                        long_context_threshold=model.library.long_context_threshold,
                    )
                    counts["new_models"] += 1
                counts["models"] += 1
                for spelling in model.spellings:
                    alias = f"{source}/{spelling}"
                    if alias not in taken:
                        taken.add(alias)
                        aliases.append(model_alias(model=obj, alias=alias, kind="runtime_id"))
                prices += [
                    model_price(
                        model=obj,
                        token_type=price.token_type,
                        route="",
                        service_tier=tier,
                        region="",
                        context=price.context,
                        cache_ttl=price.cache_ttl,
                        price_usd=price.price_per_mtok,
                        unit="1M tokens",
                        effective_from=price.effective_from,
                        effective_to=price.effective_to,
                        source=f"{source_note}; {rule}" if rule else source_note,
                        as_of=as_of,
                    )
                    for price, tier, rule in platform_prices(model)
                ]
                if obj.long_context_threshold != model.library.long_context_threshold:
                    obj.long_context_threshold = model.library.long_context_threshold
                    refreshed.append(obj)
        model_alias.objects.bulk_create(aliases)
        model_price.objects.filter(model__platform__in=wanted).filter(_library_row_sources()).delete()
        model_price.objects.bulk_create(prices, batch_size=1000)
        model_catalog.objects.bulk_update(refreshed, ["long_context_threshold"], batch_size=500)
        counts["aliases"], counts["prices"] = len(aliases), len(prices)
    return counts


def price_library_load(*, today: date | None = None) -> dict[str, dict[str, int]]:
    """Re-apply the price library to every platform (Bedrock and the others), e.g. after upgrading
    genai-prices; idempotent. Audited (no tenant: the catalog is the installation's)."""
    from connections.services import audit_log_record
    from finops.ledger.services import catalog_library_apply

    with transaction.atomic():
        result = {"bedrock": catalog_library_apply(today=today), "others": catalog_platforms_apply(today=today)}
        audit_log_record(tenant=None, action="prices.library_loaded", target=library_source(), details=result)
    return result
