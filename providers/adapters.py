"""One adapter per provider: its endpoints, client, fetcher and parser behind the same few names."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from finops.ledger.catalog import Catalog
from providers import anthropic_api, openai_api
from providers.client import ApiClient, Remedies
from providers.rows import SyncContext

Parser = Callable[..., tuple[list[dict[str, Any]], list[str]]]


@dataclass(frozen=True)
class Adapter:
    source: str
    scope_kind: str  # project | workspace
    endpoints: list[str]
    remedies: Remedies
    make_client: Callable[..., ApiClient]
    fetch_pages: Callable[[ApiClient, str, datetime, datetime], Iterator[dict[str, Any]]]
    parse: Callable[[dict[str, Any], str, SyncContext, Catalog], tuple[list[dict[str, Any]], list[str]]]
    has_usage: Callable[[dict[str, Any]], bool]
    validation_endpoint: str


def _openai_parse(page: dict[str, Any], endpoint: str, ctx: SyncContext, catalog: Catalog) -> Any:
    if endpoint == openai_api.COSTS:
        return openai_api.parse_costs_page(page, ctx=ctx, catalog=catalog)
    return openai_api.parse_usage_page(page, endpoint=endpoint, ctx=ctx, catalog=catalog)


def _anthropic_parse(page: dict[str, Any], endpoint: str, ctx: SyncContext, catalog: Catalog) -> Any:
    return anthropic_api.parse_page(page, endpoint=endpoint, ctx=ctx, catalog=catalog)


ADAPTERS = {
    "openai": Adapter(
        source="openai",
        scope_kind="project",
        endpoints=openai_api.ENDPOINTS,
        remedies=openai_api.REMEDIES,
        make_client=openai_api.make_client,
        fetch_pages=openai_api.fetch_pages,
        parse=_openai_parse,
        has_usage=openai_api.has_usage,
        validation_endpoint="usage.completions",
    ),
    "anthropic": Adapter(
        source="anthropic",
        scope_kind="workspace",
        endpoints=anthropic_api.ENDPOINTS,
        remedies=anthropic_api.REMEDIES,
        make_client=anthropic_api.make_client,
        fetch_pages=anthropic_api.fetch_pages,
        parse=_anthropic_parse,
        has_usage=anthropic_api.has_usage,
        validation_endpoint=anthropic_api.USAGE,
    ),
}
