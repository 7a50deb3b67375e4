"""Sync list prices from the AWS Price List (live, through the `pricing` API, or from a saved file):
parse (pure), resolve each SKU's model in the catalog (new models get an entry), overlay the prices
with history kept, audit the changes."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from connections.services import audit_log_record
from finops.ledger.catalog import Catalog
from finops.ledger.models import ModelCatalog
from finops.ledger.selectors import catalog_load
from finops.ledger.services import AWS_PRICE_LIST, PriceChange, catalog_model_create, prices_apply_price_list
from ingestion.parsers.pricelist import SERVICE_CODES, PriceListRow, price_list_rows
from ingestion.parsers.usage_types import normalise_model_token

Progress = Callable[[str], None]
PROVIDER_HINTS = (
    ("claude", "Anthropic"),
    ("nova", "Amazon"),
    ("titan", "Amazon"),
    ("llama", "Meta"),
    ("mistral", "Mistral AI"),
    ("mixtral", "Mistral AI"),
    ("pixtral", "Mistral AI"),
    ("command", "Cohere"),
    ("cohere", "Cohere"),
    ("jamba", "AI21 Labs"),
    ("jurassic", "AI21 Labs"),
    ("deepseek", "DeepSeek"),
    ("qwen", "Qwen"),
    ("gpt", "OpenAI"),
    ("stable", "Stability AI"),
)


class PriceListUnreadable(Exception):
    """The file is not a Price List document."""


@dataclass
class PriceSync:
    source: str = ""
    rows: int = 0
    changes: list[PriceChange] = field(default_factory=list)
    unchanged: int = 0
    new_models: list[str] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    dry_run: bool = False


def fetch_price_list(pricing_client: Any, *, service_codes: tuple[str, ...] = SERVICE_CODES) -> list[str]:
    """Every PriceList string of the Bedrock service codes, paginated (boto3 in, strings out)."""
    items: list[str] = []
    paginator = pricing_client.get_paginator("get_products")
    for code in service_codes:
        for page in paginator.paginate(ServiceCode=code, FormatVersion="aws_v1", PaginationConfig={"PageSize": 100}):
            items.extend(page.get("PriceList", []))
    return items


def read_price_list_file(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PriceListUnreadable(f"{path}: no such file") from exc
    except (OSError, ValueError, RecursionError) as exc:
        raise PriceListUnreadable(f"{path}: not a JSON Price List file: {exc}") from exc


def _provider(row: PriceListRow) -> str:
    if row.provider:
        return row.provider
    text = (row.model_name or row.model_token or "").lower()
    return next((provider for hint, provider in PROVIDER_HINTS if hint in text), "")


def _model_for(row: PriceListRow, catalog: Catalog, created: dict[str, ModelCatalog], source: str) -> ModelCatalog:
    found = None
    if row.model_token:
        found = catalog.lookup_spelling(row.model_token, normalise_model_token)
    if found is None and row.model_name:
        found = catalog.resolve_product_name(row.model_name)
    if found is not None:
        return ModelCatalog.objects.get(model_id=found.model_id)
    name = row.model_name or row.model_token or ""
    key = normalise_model_token(name)
    if key not in created:
        aliases = {name: "product_name", f"{name} (Amazon Bedrock Edition)": "product_name"}
        if row.model_token:
            aliases[row.model_token] = "usage_token"
        created[key] = catalog_model_create(name=name, provider=_provider(row), aliases=aliases, source=source)
    return created[key]


def prices_sync(
    *,
    file: Path | None = None,
    pricing_client: Any = None,
    actor: AbstractBaseUser | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> PriceSync:
    """Read the Price List (the file, else live with the installation's credentials) and overlay it."""
    say = progress or (lambda _msg: None)
    if file is not None:
        data: Any = read_price_list_file(file)
        origin = str(file)
    else:
        if pricing_client is None:
            from connections import aws

            pricing_client = aws.client(aws.backend_session(), "pricing", "us-east-1")
        say(f"Reading the AWS Price List for {', '.join(SERVICE_CODES)} ...")
        from connections.aws import aws_errors

        with aws_errors("pricing:GetProducts"):
            data = fetch_price_list(pricing_client)
        origin = "the pricing API"
    try:
        rows, skipped = price_list_rows(data)
    except (ValueError, TypeError) as exc:
        raise PriceListUnreadable(f"{origin}: {exc}") from exc
    result = PriceSync(rows=len(rows), dry_run=dry_run)
    result.skipped.update(s.reason.split(" (")[0] for s in skipped)
    if not rows:
        return result
    version = Counter(r.version for r in rows).most_common(1)[0][0]
    published = max(r.published for r in rows)
    result.source = f"{AWS_PRICE_LIST} {version or 'unversioned'} ({published.isoformat()})"
    say(f"{len(rows):,} on-demand prices in {origin}; {sum(result.skipped.values()):,} SKUs skipped")
    with transaction.atomic():
        catalog = catalog_load()
        created: dict[str, ModelCatalog] = {}
        resolved = []
        for row in rows:
            if not (row.model_token or row.model_name):
                result.skipped["no model named"] += 1
                continue
            model = _model_for(row, catalog, created, result.source)
            resolved.append((model, _fields(row)))
        result.new_models = sorted(m.model_id for m in created.values())
        result.changes, result.unchanged = prices_apply_price_list(
            rows=resolved, source=result.source, as_of=published or date.today()
        )
        audit_log_record(
            tenant=None,
            actor=actor,
            action="prices.synced",
            target=result.source,
            details={
                "origin": origin,
                "dry_run": dry_run,
                "prices": result.rows,
                "changed": len(result.changes),
                "unchanged": result.unchanged,
                "new_models": result.new_models,
                "changes": [c.as_dict() for c in result.changes[:100]],
            },
        )
        if dry_run:
            transaction.set_rollback(True)
    return result


def _fields(row: PriceListRow) -> dict[str, Any]:
    return {
        "token_type": row.token_type,
        "route": row.route,
        "service_tier": row.service_tier,
        "region": row.region,
        "context": row.context,
        "cache_ttl": row.cache_ttl,
        "variant": row.variant,
        "price_usd": row.price_usd,
        "unit": row.unit,
        "usage_type": row.usage_type,
        "effective_from": row.effective_from,
    }
