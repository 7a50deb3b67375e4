"""An in-memory snapshot of the model catalog and prices: resolves every spelling to one model and
prices tokens. Pure (no queries) so importers load it once and use it for millions of rows."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

GEO_PREFIXES = ("us-gov.", "us.", "eu.", "apac.", "jp.", "au.", "ca.", "in.")
_CONTEXT_SUFFIX = re.compile(r":\d+k$", re.IGNORECASE)
_VERSION_SUFFIX = re.compile(r"-v\d+(:\d+)?$", re.IGNORECASE)
_DATE_SUFFIX = re.compile(r"-\d{8}$")
_EDITION_SUFFIX = re.compile(r"\s*\(amazon bedrock edition\)\s*$", re.IGNORECASE)
_ARN = re.compile(r"^arn:aws[\w-]*:bedrock:(?P<region>[\w-]*):(?P<account>\d*):(?P<kind>[\w-]+)/(?P<id>.+)$")
PER_UNIT_DIVISOR = {"1M tokens": Decimal(1_000_000), "1K tokens": Decimal(1000)}


@dataclass(frozen=True)
class CatalogModel:
    model_id: str
    name: str
    provider: str
    family: str
    tier: str
    lifecycle: str
    regional_premium: bool
    long_context_threshold: int | None = None
    platform: str = "bedrock"  # where it is bought (the ledger's source); other platforms' ids are "<platform>/<id>"


@dataclass(frozen=True)
class PriceEntry:
    model_id: str
    token_type: str
    route: str
    service_tier: str
    region: str
    variant: str
    price_usd: Decimal
    unit: str
    effective_from: date
    effective_to: date | None
    context: str = ""
    cache_ttl: str = ""
    usage_type: str = ""

    @property
    def per_unit(self) -> Decimal:
        """Price per token (or per image / hour)."""
        return self.price_usd / PER_UNIT_DIVISOR.get(self.unit, Decimal(1))


@dataclass(frozen=True)
class ModelRef:
    """What a model string from a log or a bill says: the model, the route, an application profile."""

    model: CatalogModel | None
    route: str
    inference_profile_arn: str = ""
    raw: str = ""
    provisioned: bool = False  # a provisioned model: paid by the hour, never per token


@dataclass
class Catalog:
    models: dict[str, CatalogModel] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # lower-case alias -> model_id
    prices: dict[tuple[str, str, str], list[PriceEntry]] = field(default_factory=dict)
    _normalised: dict[Any, dict[str, str]] = field(default_factory=dict, repr=False, compare=False)
    # What importers work out from the catalog once per distinct input (a CUR line's text values ...):
    # emptied whenever a model or a price is added, so nothing worked out from an older catalog is used.
    derived: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def add_model(self, model: CatalogModel, aliases: list[str]) -> None:
        self._normalised.clear()
        self.derived.clear()
        self.models[model.model_id] = model
        self.aliases[model.model_id.lower()] = model.model_id
        for alias in aliases:
            self.aliases[alias.strip().lower()] = model.model_id

    def add_price(self, price: PriceEntry) -> None:
        self.derived.clear()
        key = (price.model_id, price.token_type, price.service_tier)
        self.prices.setdefault(key, []).append(price)

    # --- resolution -------------------------------------------------------------------------
    def lookup(self, name: str | None) -> CatalogModel | None:
        """A model from any alias spelling, trying without context, version and date suffixes."""
        if not name:
            return None
        candidate = name.strip().lower()
        for _ in range(4):
            model_id = self.aliases.get(candidate)
            if model_id is not None:
                return self.models[model_id]
            stripped = _CONTEXT_SUFFIX.sub("", candidate)
            if stripped == candidate:
                stripped = _VERSION_SUFFIX.sub("", candidate)
            if stripped == candidate:
                stripped = _DATE_SUFFIX.sub("", candidate)
            if stripped == candidate:
                return None
            candidate = stripped
        return None

    def lookup_spelling(self, name: str | None, normalise: Callable[[str], str]) -> CatalogModel | None:
        """A model by an alias compared after `normalise` (e.g. `Llama3-3-70B` = `Llama3.3-70B`)."""
        if not name:
            return None
        found = self.lookup(name)
        if found is not None:
            return found
        index = self._normalised.get(normalise)
        if index is None:
            index = self._normalised[normalise] = {normalise(alias): model for alias, model in self.aliases.items()}
        model_id = index.get(normalise(name))
        return self.models[model_id] if model_id else None

    def resolve_model_id(self, value: str | None) -> ModelRef:
        """Resolve what a caller passed as modelId: a model id, a profile id, or an ARN."""
        raw = (value or "").strip()
        if not raw:
            return ModelRef(model=None, route="in_region", raw=raw)
        ident = raw
        match = _ARN.match(raw)
        if match:
            kind = match.group("kind")
            if kind in {
                "application-inference-profile",
                "provisioned-model",
                "custom-model",
                "imported-model",
            }:
                # Resolved from inventory (GetInferenceProfile) or mapped to a model in the admin (an alias
                # holding the ARN); until then the ARN is kept and the model is unknown.
                mapped = self.aliases.get(raw.lower())
                return ModelRef(
                    model=self.models[mapped] if mapped else None,
                    route="in_region",
                    inference_profile_arn=raw,
                    raw=raw,
                    provisioned=kind == "provisioned-model",
                )
            ident = match.group("id")
        lowered = ident.lower()
        route = "in_region"
        if lowered.startswith("global."):
            route, ident = "global", ident[len("global.") :]
        else:
            for prefix in GEO_PREFIXES:
                if lowered.startswith(prefix):
                    route, ident = "geo", ident[len(prefix) :]
                    break
        return ModelRef(model=self.lookup(ident), route=route, raw=raw)

    def resolve_product_name(self, name: str | None) -> CatalogModel | None:
        if not name:
            return None
        return self.lookup(name) or self.lookup(_EDITION_SUFFIX.sub("", name))

    # --- pricing ----------------------------------------------------------------------------
    def price(
        self,
        *,
        model_id: str,
        token_type: str,
        on: date,
        route: str = "in_region",
        service_tier: str = "standard",
        region: str = "",
        variant: str = "",
        context: str = "",
        cache_ttl: str = "",
    ) -> PriceEntry | None:
        """The most specific price in force on `on`, found by the dimensions AWS bills by.

        Route is matched by price class: AWS has a global price and a regional one, and a geographic
        cross-region profile (`us.`, `eu.` ...) pays the regional one. An exact region beats any
        region, an exact price class beats any, an exact variant beats none. A long-context price or
        a 1-hour cache write asked for but not priced falls back to the plain rate."""
        best: tuple[int, date] | None = None
        chosen: PriceEntry | None = None
        variant = (variant or "").lower()
        wanted_class = price_class(route)
        context = "long" if context == "long" else ""
        cache_ttl = "1h" if cache_ttl == "1h" else ""
        for entry in self.prices.get((model_id, token_type, service_tier), ()):
            if entry.effective_from > on or (entry.effective_to is not None and entry.effective_to <= on):
                continue
            if entry.region and entry.region != region:
                continue
            if entry.route and price_class(entry.route) != wanted_class:
                continue
            if entry.variant and entry.variant.lower() != variant:
                continue
            if entry.context and entry.context != context:
                continue
            if entry.cache_ttl and entry.cache_ttl != cache_ttl:
                continue
            score = (
                (2 if entry.region else 0)
                + (4 if entry.route else 0)
                + (8 if entry.variant else 0)
                + (16 if entry.context else 0)
                + (32 if entry.cache_ttl else 0)
            )
            rank = (score, entry.effective_from)
            if best is None or rank > best:
                best, chosen = rank, entry
        return chosen

    def request_context(self, model_id: str, tokens: dict[str, int]) -> str:
        """ "long" when the request's input (uncached, cache read and cache write) passes the model's
        long-context threshold: every token of it is then billed at the long-context price."""
        model = self.models.get(model_id)
        if model is None or not model.long_context_threshold:
            return ""
        size = sum(tokens.get(t, 0) for t in ("input", "cache_read", "cache_write", "cache_write_1h"))
        return "long" if size > model.long_context_threshold else ""

    def estimate_by_type(
        self,
        *,
        model_id: str,
        tokens: dict[str, int],
        on: date,
        route: str = "in_region",
        service_tier: str = "standard",
        region: str = "",
    ) -> tuple[dict[str, Decimal], list[str]]:
        """Cost of each token type of a request, and the token types that have no price.

        `tokens` keys: input, output, cache_read, cache_write (5-minute), cache_write_1h, image."""
        context = self.request_context(model_id, tokens)
        costs: dict[str, Decimal] = {}
        missing: list[str] = []
        for key, count in tokens.items():
            if not count:
                continue
            per_unit = self.unit_price(
                key, model_id=model_id, on=on, route=route, service_tier=service_tier, region=region, context=context
            )
            if per_unit is None:
                missing.append(key)
                continue
            costs[key] = per_unit * count
        return costs, missing

    def unit_price(
        self, key: str, *, model_id: str, on: date, route: str, service_tier: str, region: str, context: str
    ) -> Decimal | None:
        """The price per unit of one of a request's token keys (input, output, cache_read, cache_write (5-minute),
        cache_write_1h, image) in the request's `context` (see `request_context`), or None when unpriced."""
        token_type, ttl = ("cache_write", "1h") if key == "cache_write_1h" else (key, "")
        entry = self.price(
            model_id=model_id,
            token_type=token_type,
            on=on,
            route=route,
            service_tier=service_tier,
            region=region,
            context=context,
            cache_ttl=ttl,
        )
        return None if entry is None else entry.per_unit

    def estimate(
        self,
        *,
        model_id: str,
        tokens: dict[str, int],
        on: date,
        route: str = "in_region",
        service_tier: str = "standard",
        region: str = "",
    ) -> tuple[Decimal | None, list[str]]:
        """Cost of a request's tokens, or None with the token types that have no price."""
        costs, missing = self.estimate_by_type(
            model_id=model_id, tokens=tokens, on=on, route=route, service_tier=service_tier, region=region
        )
        return (None if missing else sum(costs.values(), Decimal(0))), missing


def price_class(route: str) -> str:
    """AWS bills two price classes: global, and regional (in-region calls and geographic profiles)."""
    return "global" if route == "global" else "regional"
