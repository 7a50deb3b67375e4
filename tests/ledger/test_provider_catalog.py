"""Model identity and list prices on the platforms beside Bedrock (OpenAI, Anthropic, Azure OpenAI, Vertex AI):
the catalog a fresh database gets (migration 0013) resolves every provider spelling to its own platform's
entry and prices it from the price library; expected costs are computed here from the library's numbers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from genai_prices import data

from finops.ledger.catalog import Catalog
from finops.ledger.models import ModelCatalog, ModelPrice
from finops.ledger.platform_apply import catalog_platforms_apply
from finops.ledger.provider_catalog import PLATFORMS, UnknownPlatform, provider_estimate, provider_model
from finops.ledger.selectors import catalog_load

pytestmark = pytest.mark.django_db
ON = date(2026, 11, 1)
MTOK = Decimal(1_000_000)


@pytest.fixture
def catalog() -> Catalog:
    return catalog_load()


def library_price(provider_id: str, model_id: str, field: str) -> Decimal:
    """The library's listed USD per million tokens (the base price where it has long-context tiers)."""
    provider = next(p for p in data.providers if p.id == provider_id)
    model = next(m for m in provider.models if m.id == model_id)
    prices = model.prices if not isinstance(model.prices, list) else model.prices[-1].prices
    value = getattr(prices, field)
    return Decimal(getattr(value, "base", value))


@pytest.mark.parametrize(
    ("source", "spelling", "model_id"),
    [
        ("openai", "gpt-4o-2024-08-06", "openai/gpt-4o"),
        ("openai", "gpt-4o", "openai/gpt-4o"),
        ("openai", "gpt-4o-mini", "openai/gpt-4o-mini"),
        ("openai", "gpt-4o-mini-2024-07-18", "openai/gpt-4o-mini"),
        ("openai", "text-embedding-3-small", "openai/text-embedding-3-small"),
        ("openai", "GPT-4.1", "openai/gpt-4.1"),
        ("anthropic", "claude-sonnet-4-5-20250929", "anthropic/claude-sonnet-4-5"),
        ("anthropic", "claude-sonnet-4-5", "anthropic/claude-sonnet-4-5"),
        ("anthropic", "claude-3-5-haiku-20241022", "anthropic/claude-3-5-haiku"),
        ("anthropic", "claude-3-5-haiku-latest", "anthropic/claude-3-5-haiku"),
        ("azure_openai", "gpt-4o", "azure_openai/gpt-4o"),
        ("azure_openai", "gpt-4o-mini", "azure_openai/gpt-4o-mini"),
        ("azure_openai", "gpt-4.1", "azure_openai/gpt-4.1"),
        ("azure_openai", "gpt-35-turbo", "azure_openai/gpt-3.5-turbo"),
        ("vertex", "gemini-2.5-pro", "vertex/gemini-2.5-pro"),
        ("vertex", "gemini-2.0-flash-001", "vertex/gemini-2.0-flash"),
        ("vertex", "publishers/google/models/gemini-2.5-pro", "vertex/gemini-2.5-pro"),
        ("vertex", "claude-sonnet-4-5@20250929", "vertex/claude-sonnet-4-5"),
    ],
)
def test_it_resolves_every_provider_spelling_to_its_own_platform(
    catalog: Catalog, source: str, spelling: str, model_id: str
) -> None:
    model = provider_model(catalog, source, spelling)
    assert model is not None and model.model_id == model_id
    assert model.platform == source


def test_it_never_resolves_to_another_platforms_entry(catalog: Catalog) -> None:
    assert provider_model(catalog, "anthropic", "anthropic.claude-sonnet-4-5-20250929-v1:0") is None
    assert provider_model(catalog, "openai", "gemini-2.5-pro") is None
    assert provider_model(catalog, "vertex", "gpt-4o") is None
    assert provider_model(catalog, "bedrock", "anthropic/claude-sonnet-4-5") is None
    bedrock = provider_model(catalog, "bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0")
    assert bedrock is not None and bedrock.model_id == "anthropic.claude-sonnet-4-5-20250929-v1:0"
    # Bedrock's CUR product name still finds Bedrock's entry, not a same-named one elsewhere.
    assert catalog.resolve_product_name("Claude Sonnet 4.5").model_id == bedrock.model_id


def test_unknown_models_resolve_to_none(catalog: Catalog) -> None:
    assert provider_model(catalog, "openai", "gpt-nonexistent-9") is None
    assert provider_model(catalog, "vertex", "") is None
    with pytest.raises(UnknownPlatform, match="bedrock, openai"):
        provider_model(catalog, "watsonx", "granite")


def test_the_same_model_from_two_platforms_shares_family_and_tier(catalog: Catalog) -> None:
    bedrock = catalog.models["anthropic.claude-sonnet-4-5-20250929-v1:0"]
    anthropic = provider_model(catalog, "anthropic", "claude-sonnet-4-5-20250929")
    vertex = provider_model(catalog, "vertex", "claude-sonnet-4-5@20250929")
    assert len({bedrock.model_id, anthropic.model_id, vertex.model_id}) == 3
    assert {(m.family, m.tier) for m in (bedrock, anthropic, vertex)} == {("claude-sonnet", "balanced")}
    assert {m.provider for m in (bedrock, anthropic, vertex)} == {"Anthropic"}  # the maker, not the platform
    haiku = [provider_model(catalog, s, "claude-haiku-4-5") for s in ("anthropic", "vertex")]
    assert {(m.family, m.tier) for m in haiku} == {("claude-haiku", "efficient")}
    openai, azure = provider_model(catalog, "openai", "gpt-4o"), provider_model(catalog, "azure_openai", "gpt-4o")
    assert (openai.family, openai.tier, openai.provider) == (azure.family, azure.tier, azure.provider)
    assert openai.provider == "OpenAI"
    assert provider_model(catalog, "openai", "gpt-4o-mini").tier == "efficient"
    assert provider_model(catalog, "vertex", "gemini-2.5-pro").provider == "Google"
    assert provider_model(catalog, "vertex", "gemini-2.5-pro").tier == "flagship"
    assert provider_model(catalog, "vertex", "gemini-2.5-flash-lite").tier == "efficient"


def test_anthropic_estimate_is_the_library_price_of_each_token_type(catalog: Catalog) -> None:
    tokens = {"input": 1200, "output": 800, "cache_read": 50_000, "cache_write": 4000, "cache_write_1h": 2000}
    per_mtok = {
        "input": library_price("anthropic", "claude-sonnet-4-5", "input_mtok"),
        "output": library_price("anthropic", "claude-sonnet-4-5", "output_mtok"),
        "cache_read": library_price("anthropic", "claude-sonnet-4-5", "cache_read_mtok"),
        "cache_write": library_price("anthropic", "claude-sonnet-4-5", "cache_write_mtok"),
        "cache_write_1h": library_price("anthropic", "claude-sonnet-4-5", "cache_write_1h_mtok"),
    }
    expected = sum(per_mtok[k] * n for k, n in tokens.items()) / MTOK
    cost, missing = provider_estimate(
        catalog, source="anthropic", model_id="anthropic/claude-sonnet-4-5", tokens=tokens, on=ON
    )
    assert missing == [] and cost == expected
    # Batch is half (Anthropic Message Batches), cache included.
    batch, _ = provider_estimate(
        catalog, source="anthropic", model_id="anthropic/claude-sonnet-4-5", tokens=tokens, on=ON, service_tier="batch"
    )
    assert batch == expected / 2


def test_openai_and_azure_estimates_use_openai_list_prices(catalog: Catalog) -> None:
    tokens = {"input": 10_000, "output": 2_000, "cache_read": 30_000}
    expected = (
        library_price("openai", "gpt-4o", "input_mtok") * 10_000
        + library_price("openai", "gpt-4o", "output_mtok") * 2_000
        + library_price("openai", "gpt-4o", "cache_read_mtok") * 30_000
    ) / MTOK
    for source in ("openai", "azure_openai"):
        model = provider_model(catalog, source, "gpt-4o-2024-08-06")
        cost, missing = provider_estimate(catalog, source=source, model_id=model.model_id, tokens=tokens, on=ON)
        assert (cost, missing) == (expected, [])
    embedding, _ = provider_estimate(
        catalog, source="openai", model_id="openai/text-embedding-3-small", tokens={"input": 1_000_000}, on=ON
    )
    assert embedding == library_price("openai", "text-embedding-3-small", "input_mtok")


def test_vertex_estimate_uses_googles_listing_and_its_long_context_price(catalog: Catalog) -> None:
    model = provider_model(catalog, "vertex", "gemini-2.5-pro")
    provider = next(p for p in data.providers if p.id == "google")
    listed = next(m for m in provider.models if m.id == "gemini-2.5-pro").prices
    short = {"input": 100_000, "output": 5_000}
    cost, _ = provider_estimate(catalog, source="vertex", model_id=model.model_id, tokens=short, on=ON)
    assert cost == (listed.input_mtok.base * 100_000 + listed.output_mtok.base * 5_000) / MTOK
    long = {"input": 300_000, "output": 5_000}  # above the 200K tier: every token at the long-context price
    cost, _ = provider_estimate(catalog, source="vertex", model_id=model.model_id, tokens=long, on=ON)
    tier_in, tier_out = listed.input_mtok.tiers[0], listed.output_mtok.tiers[0]
    assert tier_in.start == 200_000
    assert cost == (tier_in.price * 300_000 + tier_out.price * 5_000) / MTOK


def test_vertex_claude_gets_the_one_hour_cache_write_the_listing_lacks(catalog: Catalog) -> None:
    # Google's listing of Claude 3.5 Haiku has no 1-hour cache write; Claude's rule is 2x input.
    model = provider_model(catalog, "vertex", "claude-3-5-haiku@20241022")
    cost, missing = provider_estimate(
        catalog, source="vertex", model_id=model.model_id, tokens={"cache_write_1h": 1_000_000}, on=ON
    )
    assert missing == [] and cost == 2 * library_price("google", "claude-3-5-haiku", "input_mtok")


def test_unknown_or_unpriced_is_none_never_zero(catalog: Catalog) -> None:
    tokens = {"input": 100, "output": 10, "cache_read": 0}
    assert provider_estimate(catalog, source="openai", model_id="", tokens=tokens, on=ON) == (None, ["input", "output"])
    assert provider_estimate(catalog, source="openai", model_id="openai/nope", tokens=tokens, on=ON)[0] is None
    # An embedding model has no output price: output is reported missing, the total is None.
    cost, missing = provider_estimate(
        catalog, source="openai", model_id="openai/text-embedding-3-small", tokens=tokens, on=ON
    )
    assert (cost, missing) == (None, ["output"])
    # Flex is not priced on these platforms: unpriced, not $0.
    cost, missing = provider_estimate(
        catalog, source="openai", model_id="openai/gpt-4o", tokens=tokens, on=ON, service_tier="flex"
    )
    assert cost is None and missing == ["input", "output"]


def test_an_estimate_refuses_another_platforms_model(catalog: Catalog) -> None:
    with pytest.raises(ValueError, match="priced on Amazon Bedrock, not Anthropic"):
        provider_estimate(
            catalog,
            source="anthropic",
            model_id="anthropic.claude-sonnet-4-5-20250929-v1:0",
            tokens={"input": 1},
            on=ON,
        )
    with pytest.raises(ValueError, match="Unknown token type"):
        provider_estimate(catalog, source="openai", model_id="openai/gpt-4o", tokens={"reasoning": 1}, on=ON)


def test_a_fresh_database_holds_every_platform_and_reloading_changes_nothing() -> None:
    platforms = set(ModelCatalog.objects.values_list("platform", flat=True))
    assert platforms == set(PLATFORMS)
    before = (ModelCatalog.objects.count(), ModelPrice.objects.count())
    counts = catalog_platforms_apply()
    assert counts["new_models"] == 0 and counts["aliases"] == 0
    assert (ModelCatalog.objects.count(), ModelPrice.objects.count()) == before
    assert not ModelCatalog.objects.exclude(platform="bedrock").exclude(model_id__contains="/").exists()


def test_reloading_keeps_staff_edits_and_hand_added_prices() -> None:
    model = ModelCatalog.objects.get(model_id="openai/gpt-4o")
    model.tier = "flagship"
    model.save()
    ModelPrice.objects.create(
        model=model,
        token_type="input",
        service_tier="priority",
        price_usd=Decimal("4.25"),
        effective_from=date(2026, 1, 1),
        source="negotiated rate",
        as_of=date(2026, 1, 1),
    )
    catalog_platforms_apply()
    model.refresh_from_db()
    assert model.tier == "flagship"
    assert ModelPrice.objects.filter(model=model, source="negotiated rate").count() == 1


def test_the_library_command_reloads_every_platform_and_is_audited() -> None:
    from io import StringIO

    from django.core.management import call_command

    from connections.models import AuditLog

    before = ModelPrice.objects.count()
    out = StringIO()
    call_command("load_price_library", stdout=out)
    assert "bedrock:" in out.getvalue() and "others:" in out.getvalue()
    assert ModelPrice.objects.count() == before
    assert AuditLog.objects.filter(action="prices.library_loaded", tenant=None).count() == 1
