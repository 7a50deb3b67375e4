"""Anthropic Usage & Cost Admin API -> ledger rows.

Endpoints and fields (Anthropic docs, "Usage and Cost API", platform.claude.com/docs/en/build-with-claude/
usage-cost-api; API reference "Get Messages Usage Report" platform.claude.com/docs/en/api/admin/usage_report
and "Get Cost Report" platform.claude.com/docs/en/api/admin/cost_report):
- Headers: x-api-key (an Admin key, sk-ant-admin...), anthropic-version: 2023-06-01.
- GET /v1/organizations/usage_report/messages: starting_at / ending_at (RFC 3339), bucket_width=1d, limit (at
  most 31 daily buckets), group_by[] (api_key_id, workspace_id, model, service_tier, context_window), page.
  A page is {"data": [{"starting_at", "ending_at", "results": [...]}], "has_more", "next_page"}; a result has
  uncached_input_tokens, cache_creation {ephemeral_5m_input_tokens, ephemeral_1h_input_tokens},
  cache_read_input_tokens, output_tokens, server_tool_use {web_search_requests} and the grouped fields
  (api_key_id null for Console/Workbench use; workspace_id null for the default workspace; service_tier
  standard | batch | priority; context_window "0-200k" | "200k-1M"). There is no request count.
- GET /v1/organizations/cost_report: group_by[] (workspace_id, description); a result has amount, "cost
  amount in lowest currency units (e.g. cents) as a decimal string" ("123.45" USD is $1.2345), currency,
  workspace_id, description, cost_type (tokens | web_search | code_execution | ...), model, token_type
  (uncached_input_tokens, output_tokens, cache_read_input_tokens, cache_creation.ephemeral_5m_input_tokens,
  cache_creation.ephemeral_1h_input_tokens), service_tier, context_window. Priority Tier costs are not in
  the cost report (the docs say so); the cost report has no API key."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import requests

from finops.ledger.catalog import Catalog
from providers.catalog import estimate
from providers.client import ApiClient, Remedies, base_url
from providers.rows import (
    RowError,
    SyncContext,
    count,
    dedupe_key,
    identity,
    model_fields,
    rows_or_errors,
    time_fields,
    utc_from_rfc3339,
)

BASE_URL = "https://api.anthropic.com"
VERSION = "2023-06-01"
REMEDIES = Remedies(
    provider="Anthropic",
    admin_keys_url="https://console.anthropic.com/settings/admin-keys",
    admin_key_prefix="sk-ant-admin",
)
SOURCE = "anthropic"
USAGE = "usage.messages"
COSTS = "costs"
ENDPOINTS = [USAGE, COSTS]
USAGE_GROUPS = ["api_key_id", "workspace_id", "model", "service_tier", "context_window"]
COST_GROUPS = ["workspace_id", "description"]
TIERS = {"standard": "standard", "batch": "batch", "priority": "priority"}
COST_TOKEN_TYPES = {
    "uncached_input_tokens": ("input", ""),
    "output_tokens": ("output", ""),
    "cache_read_input_tokens": ("cache_read", ""),
    "cache_creation.ephemeral_5m_input_tokens": ("cache_write", ""),
    "cache_creation.ephemeral_1h_input_tokens": ("cache_write", "1h"),
}
CENTS = Decimal(100)


def make_client(api_key: str, *, session: requests.Session | None = None, sleep: Any = None) -> ApiClient:
    client = ApiClient(
        base_url=base_url("FINOPS_ANTHROPIC_BASE_URL", BASE_URL),
        headers={"x-api-key": api_key, "anthropic-version": VERSION},
        remedies=REMEDIES,
    )
    if session is not None:
        client.session = session
    if sleep is not None:
        client.sleep = sleep
    return client


def _rfc3339(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def fetch_pages(client: ApiClient, endpoint: str, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
    params: dict[str, Any] = {
        "starting_at": _rfc3339(start),
        "ending_at": _rfc3339(end),
        "bucket_width": "1d",
        "limit": 31,
    }
    if endpoint == COSTS:
        return client.pages("/v1/organizations/cost_report", {**params, "group_by[]": COST_GROUPS})
    return client.pages("/v1/organizations/usage_report/messages", {**params, "group_by[]": USAGE_GROUPS})


def has_usage(page: dict[str, Any]) -> bool:
    return any(bucket.get("results") for bucket in page.get("data") or [])


def _buckets(page: dict[str, Any], endpoint: str) -> Iterator[tuple[dict[str, Any], str, dict[str, Any]]]:
    data = page.get("data")
    if not isinstance(data, list):
        raise RowError(f"Anthropic {endpoint}: the page has no data list")
    for bucket in data:
        what = f"Anthropic {endpoint} bucket {bucket.get('starting_at')!r}"
        start = utc_from_rfc3339(bucket.get("starting_at"), what=f"{what} starting_at")
        end = utc_from_rfc3339(bucket.get("ending_at"), what=f"{what} ending_at")
        times = time_fields(start, end)
        for index, result in enumerate(bucket.get("results") or []):
            yield times, f"{what} result {index}", result


def _context(value: Any) -> str:
    """ "200k-1M" is the long-context window; "0-200k" (or nothing) the standard one."""
    return "long" if str(value or "").lower().startswith("200k") else ""


def _tier(value: Any, what: str) -> str:
    tier = TIERS.get(str(value or "standard").lower())
    if tier is None:
        raise RowError(f"{what}: service_tier {value!r} is not standard, batch or priority")
    return tier


def parse_page(
    page: dict[str, Any], *, endpoint: str, ctx: SyncContext, catalog: Catalog
) -> tuple[list[dict[str, Any]], list[str]]:
    build = _cost_row if endpoint == COSTS else _usage_row
    return rows_or_errors(_buckets(page, endpoint), lambda t, w, r: build(t, w, r, ctx=ctx, catalog=catalog))


def _usage_row(
    times: dict[str, Any], what: str, result: dict[str, Any], *, ctx: SyncContext, catalog: Catalog
) -> dict[str, Any]:
    creation = result.get("cache_creation") or {}
    if not isinstance(creation, dict):
        raise RowError(f"{what}: cache_creation is {creation!r}, expected an object")
    uncached = count(result, "uncached_input_tokens", what=what)
    cache_read = count(result, "cache_read_input_tokens", what=what)
    write_5m = count(creation, "ephemeral_5m_input_tokens", what=f"{what} cache_creation")
    write_1h = count(creation, "ephemeral_1h_input_tokens", what=f"{what} cache_creation")
    output = count(result, "output_tokens", what=what)
    tools = result.get("server_tool_use") or {}
    web_searches = count(tools, "web_search_requests", what=f"{what} server_tool_use") if isinstance(tools, dict) else 0
    tier = _tier(result.get("service_tier"), what)
    context = _context(result.get("context_window"))
    model, found = model_fields(catalog, SOURCE, result.get("model"))
    tokens = {"input": uncached, "output": output, "cache_read": cache_read, "cache_write": write_5m,
              "cache_write_1h": write_1h}  # fmt: skip
    cost: Decimal | None = None
    if found is not None:
        cost, _missing = estimate(
            catalog,
            source=SOURCE,
            model_id=found.model_id,
            tokens=tokens,
            on=times["usage_date"],
            service_tier=tier,
            context=context,
        )
    groups = [result.get(name) for name in USAGE_GROUPS]
    measures = [uncached, cache_read, write_5m, write_1h, output, web_searches]
    extra: dict[str, Any] = {"endpoint": USAGE}
    if result.get("context_window"):
        extra["context_window"] = result["context_window"]
    if web_searches:
        extra["web_search_requests"] = web_searches
    return {
        "source": SOURCE,
        "record_kind": "request",
        "cost_basis": "estimated",
        "dedupe_key": dedupe_key(ctx, USAGE, [times["usage_start"].isoformat(), groups, measures]),
        **times,
        **model,
        "operation": "messages",
        "usage_category": "tokens",
        "service_tier": tier,
        "context": context,
        "input_tokens": uncached,
        "output_tokens": output,
        "cache_read_tokens": cache_read,
        "cache_write_tokens": write_5m + write_1h,
        "cache_write_1h_tokens": write_1h,
        "uses_caching": bool(cache_read or write_5m or write_1h),
        "requests": 0,  # the usage report counts tokens, not requests
        "cost_usd": cost,
        "unpriced": cost is None and any(tokens.values()),
        **identity(
            ctx,
            scope_kind="workspace",
            scope_id=result.get("workspace_id"),
            api_key_id=result.get("api_key_id"),
            extra_tags=extra,
        ),
    }


def dollars(amount: Any, *, what: str) -> Decimal:
    """The cost report's amount (lowest currency units, i.e. cents, as a decimal string) in dollars."""
    try:
        cents = Decimal(str(amount))
    except (InvalidOperation, ValueError) as exc:
        raise RowError(f"{what}: amount {amount!r} is not a decimal string") from exc
    if not cents.is_finite():
        raise RowError(f"{what}: amount {amount!r} is not a decimal string")
    return cents / CENTS


def _cost_row(
    times: dict[str, Any], what: str, result: dict[str, Any], *, ctx: SyncContext, catalog: Catalog
) -> dict[str, Any]:
    currency = str(result.get("currency") or "").upper()
    if currency != "USD":
        raise RowError(f"{what}: currency is {currency or 'missing'!r}; only USD is supported")
    value = dollars(result.get("amount"), what=what)
    cost_type = str(result.get("cost_type") or "")
    token_type, ttl = COST_TOKEN_TYPES.get(str(result.get("token_type") or ""), ("", ""))
    model, _found = model_fields(catalog, SOURCE, result.get("model"))
    tokens = cost_type == "tokens" and bool(token_type) and value >= 0
    description = str(result.get("description") or "")
    extra: dict[str, Any] = {"endpoint": COSTS, "cost_type": cost_type}
    if ttl:
        extra["cache_ttl"] = ttl
    if result.get("context_window"):
        extra["context_window"] = result["context_window"]
    return {
        "source": SOURCE,
        "record_kind": "billed_line",
        "cost_basis": "billed",
        "dedupe_key": dedupe_key(
            ctx,
            COSTS,
            [
                times["usage_start"].isoformat(),
                result.get("workspace_id"),
                description,
                result.get("model"),
                result.get("token_type"),
                result.get("service_tier"),
                result.get("context_window"),
                str(value),
            ],
        ),  # fmt: skip
        **times,
        **model,
        "operation": "cost_report",
        "usage_type": description[:255],
        "line_item_type": "Usage" if value >= 0 else "Credit",
        "usage_category": "tokens" if tokens else (cost_type or "other"),
        "token_type": token_type,
        "service_tier": _tier(result.get("service_tier"), what),
        "context": _context(result.get("context_window")),
        "cost_usd": value,
        "allocated_cost_usd": Decimal(0),
        **identity(ctx, scope_kind="workspace", scope_id=result.get("workspace_id"), extra_tags=extra),
    }
