"""Provider fixtures: a catalog with the test's own list prices (so expected dollars are worked out here by
hand), connections, and the providers' APIs mocked at the transport with `responses`."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import responses
from responses import matchers

from connections.models import Tenant
from finops.ledger.models import ModelCatalog, ModelPrice
from providers.models import ProviderConnection
from providers.services import provider_connection_create

FIXTURES = Path(__file__).parent.parent / "fixtures" / "providers"
OPENAI_KEY = "sk-admin-test-0123456789abcdefWXYZ"
ANTHROPIC_KEY = "sk-ant-admin01-test-0123456789abcdefQRST"
OPENAI = "https://api.openai.com/v1/organization"
ANTHROPIC = "https://api.anthropic.com/v1/organizations"
OPENAI_USAGE = ("completions", "embeddings", "moderations", "images", "audio_speeches", "audio_transcriptions")

# USD per 1M tokens: (model id, tier, context, token type, ttl) -> price
PRICES: dict[tuple[str, str, str, str, str], str] = {
    ("openai/gpt-4o", "standard", "", "input", ""): "2.50",
    ("openai/gpt-4o", "standard", "", "cache_read", ""): "1.25",
    ("openai/gpt-4o", "standard", "", "output", ""): "10.00",
    ("openai/gpt-4o-mini", "batch", "", "input", ""): "0.075",
    ("openai/gpt-4o-mini", "batch", "", "output", ""): "0.30",
    ("openai/gpt-4o-mini", "standard", "", "input", ""): "0.15",
    ("openai/gpt-4o-mini", "standard", "", "output", ""): "0.60",
    ("anthropic/claude-sonnet-4-5", "standard", "", "input", ""): "3.00",
    ("anthropic/claude-sonnet-4-5", "standard", "", "output", ""): "15.00",
    ("anthropic/claude-sonnet-4-5", "standard", "", "cache_read", ""): "0.30",
    ("anthropic/claude-sonnet-4-5", "standard", "", "cache_write", ""): "3.75",
    ("anthropic/claude-sonnet-4-5", "standard", "", "cache_write", "1h"): "6.00",
    ("anthropic/claude-sonnet-4-5", "standard", "long", "input", ""): "6.00",
    ("anthropic/claude-sonnet-4-5", "standard", "long", "output", ""): "22.50",
    ("anthropic/claude-sonnet-4-5", "batch", "", "input", ""): "1.50",
    ("anthropic/claude-sonnet-4-5", "batch", "", "output", ""): "7.50",
}


def load(path: str) -> Any:
    return json.loads((FIXTURES / path).read_text())


@pytest.fixture
def provider_catalog(db) -> None:  # noqa: ANN001
    """gpt-4o, gpt-4o-mini and Claude Sonnet 4.5 with this file's prices only (text-embedding-3-small and
    fine-tuned models stay unknown: unpriced)."""
    platform = {f.name for f in ModelCatalog._meta.get_fields()} & {"platform"}
    models = {
        "openai/gpt-4o": ("GPT-4o", "OpenAI", "gpt-4o", "balanced", None),
        "openai/gpt-4o-mini": ("GPT-4o mini", "OpenAI", "gpt-4o", "efficient", None),
        "anthropic/claude-sonnet-4-5": ("Claude Sonnet 4.5", "Anthropic", "claude-sonnet", "balanced", 200_000),
    }
    # Only these models: whatever the seeded library holds for these platforms would change the hand sums.
    for prefix in ("openai/", "anthropic/"):
        ModelCatalog.objects.filter(model_id__startswith=prefix).exclude(model_id__in=list(models)).delete()
    for model_id, (name, provider, family, tier, threshold) in models.items():
        defaults: dict[str, Any] = {"name": name, "provider": provider, "family": family, "tier": tier,
                                    "long_context_threshold": threshold}  # fmt: skip
        if platform:
            defaults["platform"] = model_id.split("/")[0]
        model, _ = ModelCatalog.objects.update_or_create(model_id=model_id, defaults=defaults)
        model.prices.all().delete()
    for (model_id, tier, context, token_type, ttl), price in PRICES.items():
        ModelPrice.objects.create(
            model=ModelCatalog.objects.get(model_id=model_id),
            token_type=token_type,
            service_tier=tier,
            context=context,
            cache_ttl=ttl,
            price_usd=Decimal(price),
            unit="1M tokens",
            effective_from=date(2024, 1, 1),
            source="test",
            as_of=date(2026, 11, 1),
        )


@pytest.fixture
def openai_connection(tenant: Tenant, tenant_admin, provider_catalog) -> ProviderConnection:  # noqa: ANN001
    return provider_connection_create(
        tenant=tenant, kind="openai", name="OpenAI prod", api_key=OPENAI_KEY, organization_id="org-acme",
        actor=tenant_admin,
    )  # fmt: skip


@pytest.fixture
def anthropic_connection(tenant: Tenant, tenant_admin, provider_catalog) -> ProviderConnection:  # noqa: ANN001
    return provider_connection_create(
        tenant=tenant, kind="anthropic", name="Anthropic", api_key=ANTHROPIC_KEY, actor=tenant_admin
    )


@pytest.fixture
def rsps():  # noqa: ANN201
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def _no_page(request: Any) -> tuple[bool, str]:
    return ("page=" not in (request.url or ""), "a page cursor was sent")


def _page(cursor: str) -> Any:
    return matchers.query_param_matcher({"page": cursor}, strict_match=False)


def mock_openai_names(rsps: responses.RequestsMock, *, status: int = 200) -> None:
    """Projects on two pages (`after` cursor; proj_beta archived) and each project's API keys; or every
    names endpoint answering `status` with OpenAI's error body."""
    if status != 200:
        body = load(f"openai/error_{status}.json")
        rsps.get(f"{OPENAI}/projects", status=status, json=body)
        rsps.get(re.compile(rf"{re.escape(OPENAI)}/projects/[^/]+/api_keys"), status=status, json=body)
        return
    rsps.get(f"{OPENAI}/projects", json=load("openai/projects_page1.json"), match=[_no_after("after")])
    rsps.get(f"{OPENAI}/projects", json=load("openai/projects_page2.json"), match=[_after("after", "proj_alpha")])
    for project in ("alpha", "beta"):
        rsps.get(f"{OPENAI}/projects/proj_{project}/api_keys", json=load(f"openai/project_api_keys_{project}.json"))


def mock_anthropic_names(rsps: responses.RequestsMock, *, status: int = 200) -> None:
    if status != 200:
        body = load(f"anthropic/error_{status}.json")
        rsps.get(f"{ANTHROPIC}/workspaces", status=status, json=body)
        rsps.get(f"{ANTHROPIC}/api_keys", status=status, json=body)
        return
    rsps.get(f"{ANTHROPIC}/workspaces", json=load("anthropic/workspaces.json"))
    rsps.get(f"{ANTHROPIC}/api_keys", json=load("anthropic/api_keys.json"))


def _no_after(name: str) -> Any:
    return lambda request: (f"{name}=" not in (request.url or ""), f"a {name} cursor was sent")


def _after(name: str, value: str) -> Any:
    return matchers.query_param_matcher({name: value}, strict_match=False)


def mock_openai(rsps: responses.RequestsMock, *, names: int | None = 200) -> None:
    """Every OpenAI endpoint the sync reads: completions on two pages, embeddings, costs; the rest empty; the
    names endpoints answering `names` (None: not mocked)."""
    if names is not None:
        mock_openai_names(rsps, status=names)
    rsps.get(f"{OPENAI}/usage/completions", json=load("openai/usage_completions_page1.json"), match=[_no_page])
    rsps.get(f"{OPENAI}/usage/completions", json=load("openai/usage_completions_page2.json"),
             match=[_page("page_AAAAAGdGxdEiJdKOAAAAAGcqsYA=")])  # fmt: skip
    for name in OPENAI_USAGE[1:]:
        doc = "openai/usage_embeddings.json" if name == "embeddings" else "openai/usage_empty.json"
        rsps.get(f"{OPENAI}/usage/{name}", json=load(doc))
    rsps.get(f"{OPENAI}/costs", json=load("openai/costs.json"))


def mock_anthropic(rsps: responses.RequestsMock, *, names: int | None = 200) -> None:
    if names is not None:
        mock_anthropic_names(rsps, status=names)
    rsps.get(f"{ANTHROPIC}/usage_report/messages", json=load("anthropic/usage_messages.json"))
    rsps.get(f"{ANTHROPIC}/cost_report", json=load("anthropic/cost_report.json"))
