"""OpenAI organization Usage and Costs APIs -> ledger rows.

Endpoints and fields (OpenAI API reference, "Usage" and "Costs", platform.openai.com/docs/api-reference/usage
and /docs/api-reference/usage/costs; the cookbook "How to use the Usage API and Cost API to monitor your OpenAI
usage", cookbook.openai.com/examples/completions_usage_api):
- GET /v1/organization/usage/{completions,embeddings,moderations,images,audio_speeches,audio_transcriptions}
  with start_time/end_time (Unix seconds), bucket_width=1d, limit (at most 31 daily buckets), group_by,
  page. A page is {"object": "page", "data": [bucket], "has_more", "next_page"}; a bucket is
  {"start_time", "end_time", "results": [...]}.
  completions results: input_tokens (all input, cached included), input_cached_tokens, output_tokens,
  input_audio_tokens, output_audio_tokens, num_model_requests, and the group_by fields project_id, user_id,
  api_key_id, model, batch. embeddings and moderations: input_tokens, num_model_requests. images: images,
  num_model_requests, size, source. audio_speeches: characters; audio_transcriptions: seconds.
- GET /v1/organization/costs with bucket_width=1d and group_by=project_id,line_item; results:
  {"object": "organization.costs.result", "amount": {"value": <number>, "currency": "usd"},
  "line_item": "gpt-4o-2024-08-06, input", "project_id": "proj_..."}.
- Auth: "Authorization: Bearer <admin key>" (an organization Admin key, sk-admin-...).

Usage rows are requests (one per bucket group; requests = num_model_requests), estimated from the price
catalog. Cost rows are billed lines; the model and token type come from `line_item`. Costs have no API
key or user: per-user dollars come only from reconciliation (billed dollars split over usage rows)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
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
    utc_from_unix,
)

BASE_URL = "https://api.openai.com"
REMEDIES = Remedies(
    provider="OpenAI",
    admin_keys_url="https://platform.openai.com/settings/organization/admin-keys",
    admin_key_prefix="sk-admin-",
)
SOURCE = "openai"
BASE_GROUPS = ["project_id", "user_id", "api_key_id", "model"]


@dataclass(frozen=True)
class UsageEndpoint:
    name: str
    group_by: tuple[str, ...]
    category: str  # tokens, image, audio
    unit_field: str = ""  # images, characters, seconds
    unit: str = ""


USAGE_ENDPOINTS = {
    e.name: e
    for e in (
        UsageEndpoint("completions", (*BASE_GROUPS, "batch"), "tokens"),
        UsageEndpoint("embeddings", tuple(BASE_GROUPS), "tokens"),
        UsageEndpoint("moderations", tuple(BASE_GROUPS), "tokens"),
        UsageEndpoint("images", (*BASE_GROUPS, "size", "source"), "image", "images", "images"),
        UsageEndpoint("audio_speeches", tuple(BASE_GROUPS), "audio", "characters", "characters"),
        UsageEndpoint("audio_transcriptions", tuple(BASE_GROUPS), "audio", "seconds", "seconds"),
    )
}
COSTS = "costs"
ENDPOINTS = [*(f"usage.{name}" for name in USAGE_ENDPOINTS), COSTS]


def make_client(api_key: str, *, session: requests.Session | None = None, sleep: Any = None) -> ApiClient:
    client = ApiClient(
        base_url=base_url("FINOPS_OPENAI_BASE_URL", BASE_URL),
        headers={"Authorization": f"Bearer {api_key}"},
        remedies=REMEDIES,
    )
    if session is not None:
        client.session = session
    if sleep is not None:
        client.sleep = sleep
    return client


def fetch_pages(client: ApiClient, endpoint: str, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
    """The pages of one endpoint (`usage.<name>` or `costs`) for [start, end)."""
    params: dict[str, Any] = {
        "start_time": int(start.timestamp()),
        "end_time": int(end.timestamp()),
        "bucket_width": "1d",
        "limit": 31,
    }
    if endpoint == COSTS:
        return client.pages("/v1/organization/costs", {**params, "group_by": ["project_id", "line_item"]})
    usage = USAGE_ENDPOINTS[endpoint.removeprefix("usage.")]
    return client.pages(f"/v1/organization/usage/{usage.name}", {**params, "group_by": list(usage.group_by)})


def has_usage(page: dict[str, Any]) -> bool:
    return any(
        (result.get("num_model_requests") or 0) > 0
        for bucket in page.get("data") or []
        for result in bucket.get("results") or []
    )


def _buckets(page: dict[str, Any], endpoint: str) -> Iterator[tuple[dict[str, Any], str, dict[str, Any]]]:
    data = page.get("data")
    if not isinstance(data, list):
        raise RowError(f"OpenAI {endpoint}: the page has no data list")
    for bucket in data:
        what = f"OpenAI {endpoint} bucket {bucket.get('start_time')!r}"
        start = utc_from_unix(bucket.get("start_time"), what=f"{what} start_time")
        end = utc_from_unix(bucket.get("end_time"), what=f"{what} end_time")
        times = time_fields(start, end)
        for index, result in enumerate(bucket.get("results") or []):
            yield times, f"{what} result {index}", result


def parse_usage_page(
    page: dict[str, Any], *, endpoint: str, ctx: SyncContext, catalog: Catalog
) -> tuple[list[dict[str, Any]], list[str]]:
    """(ledger rows, errors) of one page of a usage endpoint (`usage.<name>`)."""
    spec = USAGE_ENDPOINTS[endpoint.removeprefix("usage.")]
    return rows_or_errors(
        _buckets(page, endpoint),
        lambda t, w, r: _usage_row(t, w, r, spec=spec, endpoint=endpoint, ctx=ctx, catalog=catalog),
    )


def _usage_row(
    times: dict[str, Any],
    what: str,
    result: dict[str, Any],
    *,
    spec: UsageEndpoint,
    endpoint: str,
    ctx: SyncContext,
    catalog: Catalog,
) -> dict[str, Any]:
    total_input = count(result, "input_tokens", what=what)
    cached = count(result, "input_cached_tokens", what=what)
    if cached > total_input:
        raise RowError(f"{what}: input_cached_tokens {cached} is more than input_tokens {total_input}")
    output = count(result, "output_tokens", what=what)
    requests_count = count(result, "num_model_requests", what=what)
    units = count(result, spec.unit_field, what=what) if spec.unit_field else 0
    tier = "batch" if result.get("batch") is True else "standard"
    model, found = model_fields(catalog, SOURCE, result.get("model"))
    tokens = {"input": total_input - cached, "output": output, "cache_read": cached}
    if spec.category == "image":
        tokens = {"image": units}
    cost: Decimal | None = None
    if spec.category != "audio" and found is not None:
        cost, _missing = estimate(
            catalog, source=SOURCE, model_id=found.model_id, tokens=tokens, on=times["usage_date"], service_tier=tier
        )
    has_quantity = any(tokens.values()) if spec.category != "audio" else bool(units or requests_count)
    extra = {
        name: result[name]
        for name in ("input_audio_tokens", "output_audio_tokens", "size", "source", "batch")
        if result.get(name) is not None
    }
    groups = [result.get(name) for name in spec.group_by]
    measures = [
        total_input,
        cached,
        output,
        requests_count,
        units,
        extra.get("input_audio_tokens"),
        extra.get("output_audio_tokens"),
    ]
    return {
        "source": SOURCE,
        "record_kind": "request",
        "cost_basis": "estimated",
        "dedupe_key": dedupe_key(ctx, endpoint, [times["usage_start"].isoformat(), groups, measures]),
        **times,
        **model,
        "operation": spec.name,
        "usage_category": spec.category,
        "service_tier": tier,
        "input_tokens": total_input - cached if spec.category == "tokens" else 0,
        "output_tokens": output,
        "cache_read_tokens": cached,
        "units": Decimal(units) if spec.unit_field else None,
        "unit": spec.unit,
        "requests": requests_count,
        "cost_usd": cost,
        "unpriced": cost is None and has_quantity,
        **identity(
            ctx,
            scope_kind="project",
            scope_id=result.get("project_id"),
            api_key_id=result.get("api_key_id"),
            user_id=result.get("user_id"),
            extra_tags={"endpoint": endpoint, **extra},
        ),
    }


# "gpt-4o-2024-08-06, input", "gpt-4o-mini-2024-07-18, cached input", "gpt-4o-2024-08-06, batch output",
# "gpt-4o-audio-preview, input audio". Anything else (tools, storage, fine-tuning hours) is a billed line
# without a token type: it counts in billed totals and stays out of reconciliation.
_LINE_ITEM = re.compile(r"^\s*(?P<model>[^,]+?)\s*,\s*(?P<kind>[^,]+?)\s*$")


def parse_line_item(line_item: str) -> tuple[str, str, str]:
    """(model, token type, service tier) of a cost line item; ("", "", "standard") when it names no tokens."""
    match = _LINE_ITEM.match(line_item or "")
    if not match:
        return "", "", "standard"
    kind = match["kind"].lower()
    tier = "batch" if "batch" in kind else "standard"
    words = set(re.split(r"[\s_()-]+", kind))
    if "cached" in words and "input" in words:
        token_type = "cache_read"
    elif "input" in words:
        token_type = "input_audio" if "audio" in words else "input_image" if "image" in words else "input"
    elif "output" in words:
        token_type = "output_audio" if "audio" in words else "output"
    else:
        return match["model"], "", tier
    return match["model"], token_type, tier


def parse_costs_page(
    page: dict[str, Any], *, ctx: SyncContext, catalog: Catalog
) -> tuple[list[dict[str, Any]], list[str]]:
    return rows_or_errors(_buckets(page, COSTS), lambda t, w, r: _cost_row(t, w, r, ctx=ctx, catalog=catalog))


def _cost_row(
    times: dict[str, Any], what: str, result: dict[str, Any], *, ctx: SyncContext, catalog: Catalog
) -> dict[str, Any]:
    amount = result.get("amount") or {}
    currency = str(amount.get("currency") or "").lower()
    if currency != "usd":
        raise RowError(f"{what}: amount currency is {currency or 'missing'!r}; only usd is supported")
    try:
        value = Decimal(str(amount.get("value")))
    except (InvalidOperation, ValueError) as exc:
        raise RowError(f"{what}: amount.value {amount.get('value')!r} is not a number") from exc
    if not value.is_finite():
        raise RowError(f"{what}: amount.value {amount.get('value')!r} is not a number")
    line_item = str(result.get("line_item") or "")
    model_name, token_type, tier = parse_line_item(line_item)
    model, _found = model_fields(catalog, SOURCE, model_name)
    tokens = bool(token_type) and value >= 0
    return {
        "source": SOURCE,
        "record_kind": "billed_line",
        "cost_basis": "billed",
        "dedupe_key": dedupe_key(
            ctx, COSTS, [times["usage_start"].isoformat(), result.get("project_id"), line_item, str(value)]
        ),
        **times,
        **model,
        "operation": "costs",
        "usage_type": line_item[:255],
        "line_item_type": "Usage" if value >= 0 else "Credit",
        "usage_category": "tokens" if tokens else "other",
        "token_type": token_type,
        "service_tier": tier,
        "cost_usd": value,
        "allocated_cost_usd": Decimal(0),
        **identity(ctx, scope_kind="project", scope_id=result.get("project_id"), extra_tags={"endpoint": COSTS}),
    }
