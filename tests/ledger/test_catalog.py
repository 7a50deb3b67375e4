"""The seeded model catalog: every spelling of a model resolves to one entry, and the seeded prices are
the ones of reference/aws-formats.md section F, effective-dated."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from finops.ledger.catalog import Catalog
from finops.ledger.catalog_seed import SEED_MODELS
from finops.ledger.models import ModelCatalog, ModelPrice
from finops.ledger.price_library import SINCE
from finops.ledger.selectors import catalog_load
from finops.ledger.services import catalog_library_apply, catalog_seed_apply

ACCT = "123456789012"
SONNET_46 = "anthropic.claude-sonnet-4-6"
SONNET_45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"
SONNET_4 = "anthropic.claude-sonnet-4-20250514-v1:0"
HAIKU_45 = "anthropic.claude-haiku-4-5-20251001-v1:0"
HAIKU_35 = "anthropic.claude-3-5-haiku-20241022-v1:0"
HAIKU_3 = "anthropic.claude-3-haiku-20240307-v1:0"
OPUS_46 = "anthropic.claude-opus-4-6-v1"
OPUS_47 = "anthropic.claude-opus-4-7"
OPUS_41 = "anthropic.claude-opus-4-1-20250805-v1:0"
NOVA_MICRO = "amazon.nova-micro-v1:0"
NOVA_LITE = "amazon.nova-lite-v1:0"
NOVA_PRO = "amazon.nova-pro-v1:0"
NOVA_PREMIER = "amazon.nova-premier-v1:0"
NOVA_2_LITE = "amazon.nova-2-lite-v1:0"
LLAMA_33 = "meta.llama3-3-70b-instruct-v1:0"
MISTRAL_LARGE_3 = "mistral.mistral-large-3-675b-instruct"
ON = date(2026, 6, 3)


@pytest.fixture
def catalog(db) -> Catalog:  # noqa: ANN001
    return catalog_load()


# --- resolution ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model_id_as_called", "model_id", "route"),
    [
        ("anthropic.claude-sonnet-4-6", SONNET_46, "in_region"),
        ("anthropic.claude-sonnet-4-6-v1:0", SONNET_46, "in_region"),
        ("us.anthropic.claude-sonnet-4-6", SONNET_46, "geo"),
        ("eu.anthropic.claude-sonnet-4-6", SONNET_46, "geo"),
        ("global.anthropic.claude-sonnet-4-6", SONNET_46, "global"),
        ("US.Anthropic.Claude-Sonnet-4-6", SONNET_46, "geo"),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", SONNET_45, "geo"),
        ("apac.anthropic.claude-sonnet-4-5-20250929-v1:0", SONNET_45, "geo"),
        ("anthropic.claude-sonnet-4-5-20250929-v2:0", SONNET_45, "in_region"),  # a newer version suffix
        ("global.anthropic.claude-haiku-4-5-20251001-v1:0", HAIKU_45, "global"),
        ("jp.anthropic.claude-haiku-4-5-20251001-v1:0", HAIKU_45, "geo"),
        ("au.anthropic.claude-sonnet-4-5-20250929-v1:0", SONNET_45, "geo"),
        ("us-gov.anthropic.claude-sonnet-4-5-20250929-v1:0", SONNET_45, "geo"),
        ("global.anthropic.claude-sonnet-4-6-v1:0", SONNET_46, "global"),
        ("anthropic.claude-3-5-sonnet-20241022-v2:0", "anthropic.claude-3-5-sonnet-20241022-v2:0", "in_region"),
        ("us.deepseek.r1-v1:0", "deepseek.r1-v1:0", "geo"),
        ("qwen.qwen3-32b-v1:0", "qwen.qwen3-32b-v1:0", "in_region"),
        (f"arn:aws:bedrock:us-east-1::foundation-model/{NOVA_PRO}", NOVA_PRO, "in_region"),
        ("anthropic.claude-3-haiku-20240307-v1:0:200k", HAIKU_3, "in_region"),  # context-window suffix
        ("global.anthropic.claude-opus-4-6-v1", OPUS_46, "global"),
        ("us.anthropic.claude-opus-4-7", OPUS_47, "geo"),
        ("us.amazon.nova-2-lite-v1:0", NOVA_2_LITE, "geo"),
        ("global.amazon.nova-2-lite-v1:0", NOVA_2_LITE, "global"),
        ("amazon.nova-lite-v1:0:300k", NOVA_LITE, "in_region"),
        ("apac.amazon.nova-pro-v1:0", NOVA_PRO, "geo"),
        ("us.meta.llama3-3-70b-instruct-v1:0", LLAMA_33, "geo"),
        (f"arn:aws:bedrock:us-east-1::foundation-model/{HAIKU_3}", HAIKU_3, "in_region"),
        (f"arn:aws:bedrock:us-east-1:{ACCT}:inference-profile/global.anthropic.claude-sonnet-4-6", SONNET_46, "global"),
        (f"arn:aws:bedrock:eu-central-1:{ACCT}:inference-profile/eu.{SONNET_45}", SONNET_45, "geo"),
        (f"arn:aws:bedrock:us-east-1:{ACCT}:inference-profile/us.anthropic.claude-opus-4-7", OPUS_47, "geo"),
    ],
)
def test_runtime_ids_profiles_and_arns_resolve_to_one_model_and_a_route(
    catalog: Catalog, model_id_as_called: str, model_id: str, route: str
) -> None:
    ref = catalog.resolve_model_id(model_id_as_called)

    assert ref.model is not None
    assert (ref.model.model_id, ref.route) == (model_id, route)
    assert ref.inference_profile_arn == ""


@pytest.mark.parametrize(
    ("usage_token", "model_id"),
    [
        ("Claude4.6Sonnet", SONNET_46),
        ("Claude4.5Sonnet", SONNET_45),
        ("Claude4Sonnet", SONNET_4),
        ("Claude4.6Opus", OPUS_46),
        ("Claude3.5Haiku", HAIKU_35),
        ("NovaLite", NOVA_LITE),
        ("NovaPro", NOVA_PRO),
        ("Nova2.0Lite", NOVA_2_LITE),
        ("Llama3.3-70B", LLAMA_33),
    ],
)
def test_usage_type_tokens_resolve(catalog: Catalog, usage_token: str, model_id: str) -> None:
    model = catalog.lookup(usage_token)

    assert model is not None and model.model_id == model_id


@pytest.mark.parametrize(
    ("product_name", "model_id"),
    [
        ("Claude Sonnet 4.6 (Amazon Bedrock Edition)", SONNET_46),
        ("Claude Haiku 4.5 (Amazon Bedrock Edition)", HAIKU_45),
        ("Claude 3.5 Haiku (Amazon Bedrock Edition)", HAIKU_35),
        ("Claude 3 Haiku (Amazon Bedrock Edition)", HAIKU_3),
        ("Claude Sonnet 4.6", SONNET_46),  # product['model'] of the standardized product map
        ("Claude Opus 4.7 (Amazon Bedrock Edition)", OPUS_47),
    ],
)
def test_cur_product_names_resolve(catalog: Catalog, product_name: str, model_id: str) -> None:
    model = catalog.resolve_product_name(product_name)

    assert model is not None and model.model_id == model_id


def test_every_seeded_spelling_resolves_to_its_own_model(catalog: Catalog) -> None:
    for seed in SEED_MODELS:
        for spelling in (seed.model_id, *seed.runtime_ids, *seed.usage_tokens, *seed.product_names):
            model = catalog.lookup(spelling)
            assert model is not None, spelling
            assert model.model_id == seed.model_id, spelling


def test_an_application_profile_arn_is_kept_for_inventory_not_guessed(catalog: Catalog) -> None:
    arn = f"arn:aws:bedrock:us-east-1:{ACCT}:application-inference-profile/a1b2c3d4e5f6"

    ref = catalog.resolve_model_id(arn)

    assert ref.model is None
    assert ref.inference_profile_arn == arn


@pytest.mark.parametrize("spelling", ["acme.mystery-model-v1:0", "us.acme.mystery", "", "Claude9.9Sonnet"])
def test_unknown_spellings_resolve_to_nothing(catalog: Catalog, spelling: str) -> None:
    assert catalog.resolve_model_id(spelling).model is None
    assert catalog.lookup(spelling) is None


# --- seeded prices -------------------------------------------------------------------------------


def _per_million(
    catalog: Catalog, model_id: str, token_type: str, route: str, tier: str = "standard"
) -> Decimal | None:
    entry = catalog.price(model_id=model_id, token_type=token_type, on=ON, route=route, service_tier=tier)
    if entry is None:
        return None
    assert entry.unit == "1M tokens"
    return entry.price_usd


# (model, route, tier): input, output, cache write, cache read, per 1M tokens, from the section-F table.
SECTION_F = [
    (SONNET_46, "global", "standard", "3.00", "15.00", "3.75", "0.30"),
    (SONNET_46, "geo", "standard", "3.30", "16.50", "4.125", "0.33"),
    (SONNET_46, "in_region", "standard", "3.30", "16.50", "4.125", "0.33"),
    (SONNET_46, "global", "batch", "1.50", "7.50", None, None),
    (SONNET_46, "geo", "batch", "1.65", "8.25", None, None),
    (SONNET_45, "global", "standard", "3.00", "15.00", "3.75", "0.30"),
    (SONNET_45, "geo", "standard", "3.30", "16.50", "4.125", "0.33"),
    (SONNET_4, "global", "standard", "3.00", "15.00", "3.75", "0.30"),
    (SONNET_4, "geo", "standard", "3.00", "15.00", "3.75", "0.30"),  # before 4.5: one rate everywhere
    (HAIKU_45, "global", "standard", "1.00", "5.00", "1.25", "0.10"),
    (HAIKU_45, "in_region", "standard", "1.10", "5.50", "1.375", "0.11"),
    (HAIKU_35, "in_region", "standard", "0.80", "4.00", "1.00", "0.08"),
    (HAIKU_3, "in_region", "standard", "0.25", "1.25", None, None),
    (HAIKU_3, "in_region", "batch", "0.125", "0.625", None, None),
    (OPUS_46, "global", "standard", "5.00", "25.00", "6.25", "0.50"),
    (OPUS_46, "geo", "standard", "5.50", "27.50", "6.875", "0.55"),
    (OPUS_47, "geo", "standard", "5.50", "27.50", "6.875", "0.55"),
    (OPUS_41, "global", "standard", "15.00", "75.00", "18.75", "1.50"),
    (NOVA_MICRO, "in_region", "standard", "0.035", "0.14", "0", "0.00875"),
    (NOVA_MICRO, "in_region", "batch", "0.0175", "0.07", None, None),
    (NOVA_LITE, "in_region", "standard", "0.06", "0.24", "0", "0.015"),
    (NOVA_LITE, "in_region", "batch", "0.03", "0.12", None, None),
    (NOVA_PRO, "in_region", "standard", "0.80", "3.20", "0", "0.20"),
    (NOVA_PRO, "in_region", "batch", "0.40", "1.60", None, None),
    (NOVA_PREMIER, "in_region", "standard", "2.50", "12.50", "0", "0.625"),
    (NOVA_PREMIER, "in_region", "batch", "1.25", "6.25", None, None),
    (NOVA_2_LITE, "geo", "standard", "0.33", "2.75", "0", "0.0825"),
    (NOVA_2_LITE, "global", "standard", "0.30", "2.50", "0", "0.075"),
    (LLAMA_33, "in_region", "standard", "0.72", "0.72", None, None),
    (LLAMA_33, "in_region", "batch", "0.36", "0.36", None, None),
    (MISTRAL_LARGE_3, "in_region", "standard", "0.50", "1.50", None, None),
]


@pytest.mark.parametrize(("model_id", "route", "tier", "inp", "out", "write", "read"), SECTION_F)
def test_seeded_prices_match_section_f(
    catalog: Catalog,
    model_id: str,
    route: str,
    tier: str,
    inp: str,
    out: str,
    write: str | None,
    read: str | None,
) -> None:
    assert _per_million(catalog, model_id, "input", route, tier) == Decimal(inp)
    assert _per_million(catalog, model_id, "output", route, tier) == Decimal(out)
    if write is not None:
        assert _per_million(catalog, model_id, "cache_write", route, tier) == Decimal(write)
    if read is not None:
        assert _per_million(catalog, model_id, "cache_read", route, tier) == Decimal(read)


def test_claude_3_haiku_has_no_cache_price_so_cache_tokens_stay_unpriced(catalog: Catalog) -> None:
    assert _per_million(catalog, HAIKU_3, "cache_read", "in_region") is None
    cost, missing = catalog.estimate(model_id=HAIKU_3, tokens={"input": 10, "cache_read": 5}, on=ON)
    assert cost is None
    assert missing == ["cache_read"]


@pytest.mark.parametrize("model_id", [SONNET_46, SONNET_45, HAIKU_45, OPUS_46, OPUS_47])
@pytest.mark.parametrize("token_type", ["input", "output", "cache_read", "cache_write"])
@pytest.mark.parametrize("tier", ["standard", "batch"])
def test_claude_4_5_and_later_charge_ten_percent_more_off_the_global_route(
    catalog: Catalog, model_id: str, token_type: str, tier: str
) -> None:
    regional = _per_million(catalog, model_id, token_type, "geo", tier)
    in_region = _per_million(catalog, model_id, token_type, "in_region", tier)
    global_ = _per_million(catalog, model_id, token_type, "global", tier)

    assert regional == in_region == global_ * Decimal("1.1")
    assert ModelCatalog.objects.get(model_id=model_id).regional_premium


def test_claude_before_4_5_has_one_price_everywhere(db) -> None:  # noqa: ANN001
    assert not ModelCatalog.objects.get(model_id=SONNET_4).regional_premium


def test_a_1_hour_cache_write_costs_twice_input_where_the_library_lacks_it(catalog: Catalog) -> None:
    # The library gives Claude Sonnet 4 a 5-minute cache write but no 1-hour one; the rule adds it.
    one_hour = catalog.price(model_id=SONNET_4, token_type="cache_write", on=ON, route="geo", cache_ttl="1h")
    five_minutes = catalog.price(model_id=SONNET_4, token_type="cache_write", on=ON, route="geo")
    row = ModelPrice.objects.get(
        model__model_id=SONNET_4,
        token_type="cache_write",
        cache_ttl="1h",
        route="",
        service_tier="standard",
        context="",
    )

    assert one_hour is not None and one_hour.cache_ttl == "1h" and "rule" in row.source
    assert one_hour.price_usd == Decimal("3.00") * 2
    assert five_minutes.price_usd == Decimal("3.75")


def test_nova_cache_writes_are_free_and_reads_are_a_quarter_of_input(catalog: Catalog) -> None:
    for model_id in (NOVA_MICRO, NOVA_LITE, NOVA_PRO, NOVA_PREMIER):
        inp = _per_million(catalog, model_id, "input", "in_region")
        assert _per_million(catalog, model_id, "cache_write", "in_region") == 0
        assert _per_million(catalog, model_id, "cache_read", "in_region") == inp * Decimal("0.25")


def test_batch_is_half_of_on_demand(db) -> None:  # noqa: ANN001
    batch_prices = ModelPrice.objects.filter(service_tier="batch")
    assert batch_prices.count() > 100
    for batch in batch_prices:
        standard = ModelPrice.objects.get(
            model=batch.model,
            token_type=batch.token_type,
            route=batch.route,
            region=batch.region,
            variant=batch.variant,
            context=batch.context,
            cache_ttl=batch.cache_ttl,
            service_tier="standard",
            effective_from=batch.effective_from,
        )
        assert batch.price_usd == standard.price_usd / 2


def test_flex_is_half_and_priority_is_plus_75_percent(catalog: Catalog) -> None:
    assert _per_million(catalog, NOVA_PRO, "output", "in_region", "flex") == Decimal("3.20") / 2
    assert _per_million(catalog, SONNET_46, "output", "geo", "priority") == Decimal("16.50") * Decimal("1.75")


def test_provisioned_throughput_is_never_priced_per_token(catalog: Catalog) -> None:
    # Billed by the hour from CUR; the offline library has no hourly rate (the AWS Price List adds it).
    for token_type in ("input", "output"):
        assert catalog.price(model_id=NOVA_2_LITE, token_type=token_type, on=ON, service_tier="provisioned") is None


def test_every_seeded_price_has_a_source_and_an_as_of_date(db) -> None:  # noqa: ANN001
    assert not ModelPrice.objects.filter(source="").exists()
    assert not ModelPrice.objects.filter(as_of__isnull=True).exists()


def test_seeding_and_loading_the_library_again_changes_nothing(db) -> None:  # noqa: ANN001
    before = sorted(
        ModelPrice.objects.values_list("model__model_id", "token_type", "route", "service_tier", "context", "price_usd")
    )

    counts = catalog_seed_apply()
    catalog_library_apply()

    assert counts == {"models": 0, "aliases": 0}
    after = sorted(
        ModelPrice.objects.values_list("model__model_id", "token_type", "route", "service_tier", "context", "price_usd")
    )
    assert after == before


# --- effective dates -----------------------------------------------------------------------------


def _add_price(model_id: str, usd: str, effective_from: date, *, route: str = "", effective_to: date | None = None):  # noqa: ANN202
    return ModelPrice.objects.create(
        model=ModelCatalog.objects.get(model_id=model_id),
        token_type="input",
        route=route,
        service_tier="standard",
        price_usd=Decimal(usd),
        unit="1M tokens",
        effective_from=effective_from,
        effective_to=effective_to,
        source="test: price cut",
        as_of=effective_from,
    )


def test_a_newer_price_applies_from_its_effective_date_and_the_old_one_before(db) -> None:  # noqa: ANN001
    _add_price(SONNET_46, "2.00", date(2026, 7, 1))
    catalog = catalog_load()

    def regional(on: date) -> Decimal:
        return catalog.price(model_id=SONNET_46, token_type="input", on=on, route="geo").price_usd

    assert regional(date(2026, 6, 30)) == Decimal("3.30")
    assert regional(date(2026, 7, 1)) == Decimal("2.00")
    assert regional(date(2027, 1, 1)) == Decimal("2.00")


def test_a_price_with_an_end_date_stops_applying_on_that_date(db) -> None:  # noqa: ANN001
    _add_price(NOVA_LITE, "0.05", date(2026, 7, 1), effective_to=date(2026, 8, 1))
    catalog = catalog_load()

    def price(on: date) -> Decimal:
        return catalog.price(model_id=NOVA_LITE, token_type="input", on=on).price_usd

    assert price(date(2026, 7, 31)) == Decimal("0.05")
    assert price(date(2026, 8, 1)) == Decimal("0.06")  # the end date is exclusive: the seed price is back


def test_nothing_is_priced_before_the_library_prices_take_effect(catalog: Catalog) -> None:
    before = date.fromordinal(SINCE.toordinal() - 1)

    assert catalog.price(model_id=SONNET_46, token_type="input", on=before) is None
    cost, missing = catalog.estimate(model_id=SONNET_46, tokens={"input": 1}, on=before)
    assert (cost, missing) == (None, ["input"])


def test_an_estimate_uses_the_price_in_force_on_the_day_of_the_request(db) -> None:  # noqa: ANN001
    _add_price(SONNET_46, "2.00", date(2026, 7, 1))
    catalog = catalog_load()
    tokens = {"input": 1_000_000, "output": 0}

    june, _ = catalog.estimate(model_id=SONNET_46, tokens=tokens, on=date(2026, 6, 30), route="geo")
    july, _ = catalog.estimate(model_id=SONNET_46, tokens=tokens, on=date(2026, 7, 1), route="geo")

    assert (june, july) == (Decimal("3.30"), Decimal("2.00"))
