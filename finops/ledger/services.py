"""Writes to the catalog. Ledger rows themselves are written by ingestion's loader."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q

from connections.models import Tenant
from connections.services import audit_log_record
from finops.ledger.catalog import Catalog, CatalogModel
from finops.ledger.catalog_seed import SEED_MODELS
from finops.ledger.classify import Rule, classify
from finops.ledger.models import SpendEvent
from finops.ledger.price_library import LIBRARY, library_models, library_source
from finops.ledger.price_rules import is_claude_45_or_later, long_context_threshold, model_prices
from finops.ledger.reconciliation import Reconciliation, reconcile_period
from finops.ledger.rollups import RAW_FIELDS as ROLLUP_RAW_FIELDS
from finops.ledger.rollups import rollup_apply

if TYPE_CHECKING:
    from finops.ledger.models import ModelCatalog


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
            CatalogModel(
                obj.model_id,
                obj.name,
                obj.provider,
                obj.family,
                obj.tier,
                obj.lifecycle,
                False,
                platform=getattr(obj, "platform", "bedrock"),  # historical models before migration 0013 lack it
            ),
            aliases.get(obj.pk, []),
        )
    return catalog, objects


def _library_row_sources() -> Q:
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
            spellings = (lib.runtime_id, *lib.match_strings)
            # Bedrock's library models match Bedrock's entries only (other platforms' are namespaced anyway).
            known = next((m for m in map(catalog.lookup, spellings) if m and m.platform == "bedrock"), None)
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
            model_price.objects.filter(model=obj).filter(_library_row_sources()).delete()
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


# --- the AWS Price List overlay ---------------------------------------------------------------------

AWS_PRICE_LIST = "AWS Price List"
PRICE_KEY = ("token_type", "route", "service_tier", "region", "context", "cache_ttl", "variant")


@dataclass(frozen=True)
class PriceChange:
    model_id: str
    usage_type: str
    key: dict[str, str]
    old: Decimal | None
    new: Decimal
    unit: str
    effective_from: date

    def as_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "usage_type": self.usage_type,
            **self.key,
            "old": None if self.old is None else str(self.old),
            "new": str(self.new),
            "unit": self.unit,
            "effective_from": self.effective_from.isoformat(),
        }


def catalog_model_create(*, name: str, provider: str, aliases: dict[str, str], source: str) -> ModelCatalog:
    """A catalog entry for a model first seen in a price source, with family and tier from the tier rules."""
    from finops.ledger.models import ModelAlias, ModelCatalog, TierRule

    slug = re.sub(r"[^a-z0-9.]+", "-", name.lower()).strip("-") or "model"
    model_id = f"{provider.lower().replace(' ', '')}.{slug}" if provider else slug
    rules = [Rule(r.pattern, r.tier, r.family) for r in TierRule.objects.all()]
    family, tier = classify(model_id, name, rules)
    model, _ = ModelCatalog.objects.get_or_create(
        model_id=model_id[:128],
        defaults={
            "name": name[:128],
            "provider": provider or "Unknown",
            "family": family,
            "tier": tier,
            "source": source,
        },
    )
    for alias, kind in aliases.items():
        if alias and not ModelAlias.objects.filter(alias=alias.strip().lower()).exists():
            ModelAlias.objects.create(model=model, alias=alias[:200], kind=kind)
    return model


def prices_apply_price_list(
    *, rows: list[tuple[ModelCatalog, dict[str, Any]]], source: str, as_of: date
) -> tuple[list[PriceChange], int]:
    """Overlay AWS Price List prices: a new key is added, a changed price closes the old row (its
    effective_to set) and opens a new one; an unchanged price is left alone. History is never deleted.
    Returns (changes, unchanged count). Rows are (catalog model, fields: the PRICE_KEY dimensions and
    price_usd, unit, usage_type, effective_from)."""
    from finops.ledger.models import ModelPrice

    changes: list[PriceChange] = []
    unchanged = 0
    seen: set[tuple[Any, ...]] = set()
    with transaction.atomic():
        for model, row in rows:
            key = {name: row[name] for name in PRICE_KEY}
            identity = (model.pk, *key.values())
            if identity in seen:
                continue  # the same price twice in one list (several SKUs, one set of dimensions)
            seen.add(identity)
            current = (
                ModelPrice.objects.filter(
                    model=model, source__startswith=AWS_PRICE_LIST, effective_to__isnull=True, **key
                )
                .order_by("-effective_from")
                .first()
            )
            if current is not None and current.price_usd == row["price_usd"] and current.unit == row["unit"]:
                unchanged += 1
                continue
            if current is not None and current.as_of > as_of:
                unchanged += 1  # an older list than the one these prices came from: it does not roll them back
                continue
            starts = row["effective_from"]
            if current is not None:
                # A changed price starts when the list says, or (an old effective date) when it was published.
                starts = starts if starts > current.effective_from else max(as_of, current.effective_from)
                current.effective_to = starts
                current.save(update_fields=["effective_to"])
            ModelPrice.objects.create(
                model=model,
                price_usd=row["price_usd"],
                unit=row["unit"],
                usage_type=row["usage_type"],
                effective_from=starts,
                source=source,
                as_of=as_of,
                **key,
            )
            changes.append(
                PriceChange(
                    model.model_id,
                    row["usage_type"],
                    key,
                    None if current is None else current.price_usd,
                    row["price_usd"],
                    row["unit"],
                    starts,
                )
            )
    return changes, unchanged


# --- reconciliation and re-pricing -------------------------------------------------------------------


def ledger_reconcile(
    *, tenant: Tenant, periods: Iterable[date], actor: AbstractBaseUser | None = None, audit: bool = False
) -> list[Reconciliation]:
    """Allocate billed usage to requests for each billing period (see finops.ledger.reconciliation)."""
    from finops.ledger.selectors import catalog_load

    catalog = catalog_load()
    results = [reconcile_period(tenant=tenant, period=p, catalog=catalog) for p in sorted(set(periods))]
    if audit:
        audit_log_record(
            tenant=tenant,
            actor=actor,
            action="ledger.reconciled",
            target=", ".join(f"{r.period:%Y-%m}" for r in results),
            details={
                f"{r.period:%Y-%m}": {
                    "billed_usage": str(r.billed_usage_usd),
                    "allocated": str(r.allocated_usd),
                    "unattributed": str(r.unattributed_usd),
                    "requests_not_yet_billed": r.requests_not_yet_billed,
                }
                for r in results
            },
        )
    return results


@dataclass
class Repricing:
    rows: int = 0
    changed: int = 0
    resolved: int = 0
    before_usd: Decimal = Decimal(0)
    after_usd: Decimal = Decimal(0)
    unpriced_before: int = 0
    unpriced_after: int = 0
    periods: set[date] = field(default_factory=set)


REPRICE_FIELDS = ("model_id", "model_family", "model_tier", "model_provider", "model_ref", "cost_usd", "unpriced",
                  "context", "service_tier")  # fmt: skip


def _repriced(event: SpendEvent, catalog: Catalog) -> dict[str, Any]:
    """What a request row's model and estimate are under today's catalog (None: leave it as it is)."""
    values: dict[str, Any] = {}
    ref = catalog.resolve_model_id(event.model_id or event.model_ref or event.inference_profile_arn)
    model = ref.model
    if model is not None and model.model_id != event.model_id:
        values.update(
            model_id=model.model_id,
            model_family=model.family,
            model_tier=model.tier,
            model_provider=model.provider,
            model_ref="",
        )
    if ref.provisioned:
        # A provisioned model's requests are paid by its hourly charge (on the bill), never per token.
        values.update(service_tier="provisioned", cost_usd=Decimal(0), unpriced=False)
        return values
    if event.data_issue.startswith("no token counts"):
        return values
    model_id = model.model_id if model else ""
    one_hour = event.cache_write_1h_tokens
    tokens = {
        "input": event.input_tokens,
        "output": event.output_tokens,
        "cache_read": event.cache_read_tokens,
        "cache_write": event.cache_write_tokens - one_hour,
        "cache_write_1h": one_hour,
        "image": int(event.units or 0) if event.unit == "images" else 0,
    }
    if not model_id:
        if any(tokens.values()) or not event.error_code:
            values.update(cost_usd=None, unpriced=True)
        return values
    cost, missing = catalog.estimate(
        model_id=model_id,
        tokens=tokens,
        on=event.usage_date,
        route=event.route,
        service_tier=event.service_tier,
        region=event.region,
    )
    values.update(cost_usd=None if missing else cost, unpriced=bool(missing))
    values["context"] = catalog.request_context(model_id, tokens)
    return values


def _rollup_fields(event: SpendEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in ROLLUP_RAW_FIELDS}


def ledger_reprice(
    *,
    tenant: Tenant,
    since: date | None = None,
    model_id: str | None = None,
    actor: AbstractBaseUser | None = None,
    batch_size: int = 2000,
) -> Repricing:
    """Recompute the estimates of request rows from today's catalog (a price added or changed, a model
    or an application inference profile mapped), in batches; audited with before/after totals. Billed
    rows are never touched: their dollars are AWS's."""
    from finops.ledger.selectors import catalog_load

    catalog = catalog_load()
    rows = SpendEvent.objects.filter(tenant=tenant, record_kind=SpendEvent.RecordKind.REQUEST)
    if since:
        rows = rows.filter(usage_date__gte=since)
    if model_id:
        # Its requests, and those not matched to a model yet (they may be its spellings or profiles).
        rows = rows.filter(Q(model_id=model_id) | Q(model_id=""))
    result = Repricing()
    last_id = 0
    while True:
        batch = list(rows.filter(id__gt=last_id).order_by("id")[:batch_size])
        if not batch:
            break
        last_id = batch[-1].id
        changed: list[SpendEvent] = []
        before: list[dict[str, Any]] = []
        for event in batch:
            result.rows += 1
            result.before_usd += event.cost_usd or Decimal(0)
            result.unpriced_before += int(event.unpriced)
            values = _repriced(event, catalog)
            if model_id and values.get("model_id", event.model_id) != model_id:
                continue  # an unmatched request that turned out not to be this model's
            if "model_id" in values:
                result.resolved += 1
            differs = any(getattr(event, k) != v for k, v in values.items())
            if differs:
                before.append(_rollup_fields(event))
            for name, value in values.items():
                setattr(event, name, value)
            result.after_usd += event.cost_usd or Decimal(0)
            result.unpriced_after += int(event.unpriced)
            if differs:
                changed.append(event)
        with transaction.atomic():
            SpendEvent.objects.bulk_update(changed, list(REPRICE_FIELDS), batch_size=batch_size)
            rollup_apply(tenant_id=tenant.pk, removed=before, added=[_rollup_fields(e) for e in changed])
        result.changed += len(changed)
        result.periods.update(event.billing_period for event in changed)
    # New estimates change how each bucket's bill is shared out: allocate those periods again.
    ledger_reconcile(tenant=tenant, periods=result.periods)
    audit_log_record(
        tenant=tenant,
        actor=actor,
        action="ledger.repriced",
        target=f"requests since {since or 'the start'}" + (f", model {model_id}" if model_id else ""),
        details={
            "rows": result.rows,
            "changed": result.changed,
            "models_resolved": result.resolved,
            "estimated_before": str(result.before_usd),
            "estimated_after": str(result.after_usd),
            "unpriced_before": result.unpriced_before,
            "unpriced_after": result.unpriced_after,
        },
    )
    return result


def ledger_reprice_request(*, tenant: Tenant, actor: AbstractBaseUser | None = None) -> None:
    """Queue a re-pricing of the tenant's requests (the button on the unpriced panel), audited; with
    Q_CLUSTER["sync"] (tests, or no worker) it runs in-process when the transaction commits."""
    from django.conf import settings
    from django_q.tasks import async_task

    with transaction.atomic():
        audit_log_record(tenant=tenant, actor=actor, action="ledger.reprice_requested", target=tenant.slug)
        sync = bool(getattr(settings, "Q_CLUSTER", {}).get("sync", False))
        actor_id = actor.pk if actor is not None and getattr(actor, "is_authenticated", False) else None
        tenant_id = tenant.pk
        transaction.on_commit(
            lambda: async_task(
                "finops.ledger.tasks.reprice_tenant", tenant_id, actor_id, task_name=f"reprice-{tenant_id}", sync=sync
            )
        )


def catalog_alias_add(
    *, model_id: str, alias: str, kind: str, actor: AbstractBaseUser | None = None, tenant: Tenant | None = None
) -> bool:
    """Name a model by one more spelling: a usage-type token, a product name, or an application
    inference profile / provisioned model ARN (what the inventory sync records). Audited; False when
    the alias already names a model."""
    from finops.ledger.models import ModelAlias, ModelCatalog

    model = ModelCatalog.objects.get(model_id=model_id)
    _, created = ModelAlias.objects.get_or_create(alias=alias.strip().lower(), defaults={"model": model, "kind": kind})
    if created:
        audit_log_record(
            tenant=tenant, actor=actor, action="catalog.alias_added", target=alias, details={"model_id": model_id}
        )
    return created


def catalog_alias_set(
    *, model_id: str, alias: str, kind: str, actor: AbstractBaseUser | None = None, tenant: Tenant | None = None
) -> bool:
    """Make `alias` name `model_id`, creating it or pointing it at another model (an application inference
    profile or provisioned model read from the inventory). Audited when it changes; True when it did."""
    from finops.ledger.models import ModelAlias, ModelCatalog

    model = ModelCatalog.objects.get(model_id=model_id)
    key = alias.strip().lower()
    existing = ModelAlias.objects.filter(alias=key).select_related("model").first()
    if existing is not None and existing.model_id == model.pk:
        return False
    was = existing.model.model_id if existing is not None else None
    with transaction.atomic():
        if existing is None:
            ModelAlias.objects.create(alias=key, model=model, kind=kind)
        else:
            existing.model, existing.kind = model, kind
            existing.save(update_fields=["model", "kind"])
        audit_log_record(
            tenant=tenant,
            actor=actor,
            action="catalog.alias_added" if existing is None else "catalog.alias_changed",
            target=alias,
            details={"model_id": model_id, **({"was": was} if was is not None else {})},
        )
    return True
