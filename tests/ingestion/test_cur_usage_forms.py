"""CUR rows of every usage-type form the AWS Price List has (tests/fixtures/cur/cur2-bedrock-2026-07-usage-forms.csv):
each keeps its cost, is placed in its dimensions, and counts its tokens in the right column, at the scale
its unit says. Expected values come from the fixture's amounts and the published prices, not the code."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connections.models import Tenant
from finops.ledger.models import SpendEvent
from ingestion.services import import_cur
from tests.fixtures import make_fixtures as mf

FORMS = mf.CUR_DIR / "cur2-bedrock-2026-07-usage-forms.csv"
M = 1_000_000


@pytest.fixture
def rows(tenant: Tenant) -> dict[str, SpendEvent]:
    run = import_cur(tenant=tenant, paths=[FORMS])
    assert (run.rows_read, run.rows_loaded, run.rows_rejected) == (14, 14, 0), run.rejected_samples
    return {e.usage_type: e for e in SpendEvent.objects.filter(tenant=tenant)}


def _fields(event: SpendEvent, *names: str) -> tuple:
    return tuple(getattr(event, name) for name in names)


TOKENS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens")


@pytest.mark.parametrize(
    ("usage_type", "model_id", "token_type", "tokens", "context", "route", "tier", "category"),
    [
        # 250 x 1K tokens at the long-context rate ($6 / 1M, twice Sonnet 4's global input price).
        ("USE1-Claude4Sonnet-input-tokens-long-context-cross-region-global", "anthropic.claude-sonnet-4-20250514-v1:0",
         "input", (250_000, 0, 0, 0, 0), "long", "global", "standard", "tokens"),
        # Marketplace "Units": $1.32 for 2 units at $0.66 / 1M long-context cache reads: 2M tokens.
        ("APS6-MP:APS6_CacheReadInputTokenCount_LCtx-Units", "anthropic.claude-sonnet-4-5-20250929-v1:0",
         "cache_read", (0, 0, 2 * M, 0, 0), "long", "in_region", "standard", "tokens"),
        # $5 for 0.5 units at Opus 4.5's global 1-hour cache write ($10 / 1M): 500K tokens, all of them 1 h.
        ("APS9-MP:APS9_CacheWrite1hInputTokenCount_Global-Units", "anthropic.claude-opus-4-5-20251101-v1:0",
         "cache_write", (0, 0, 0, 500_000, 500_000), "", "global", "standard", "tokens"),
        # Nova 2 Pro is not in the catalog: the video tokens still count as input tokens.
        ("EUW3-Nova2.0Pro-input-video-token-count-priority-cross-region-global", "",
         "input_video", (10_000, 0, 0, 0, 0), "", "global", "priority", "tokens"),
        ("APN2-Nova2.0Omni-text-output-tokens-flex-cross-region-global", "",
         "output", (0, 20_000, 0, 0, 0), "", "global", "flex", "tokens"),
        ("USE1-NovaPro-input-tokens-latency-optimized", "amazon.nova-pro-v1:0",
         "input", (100_000, 0, 0, 0, 0), "", "in_region", "latency_optimized", "tokens"),
        ("USW2-anthropic.claude-opus-4-8-mantle-input-tokens-global-standard", "anthropic.claude-opus-4-8",
         "input", (10_000, 0, 0, 0, 0), "", "global", "standard", "tokens"),
        # The usage type says the unit: 3 x 1M batch input tokens.
        ("APN1-MP:APN1_MillionBatchInputTokens-Units", "anthropic.claude-3-haiku-20240307-v1:0",
         "input", (3 * M, 0, 0, 0, 0), "", "in_region", "batch", "tokens"),
        ("USE1-Llama3-3-70B-output-tokens-batch", "meta.llama3-3-70b-instruct-v1:0",
         "output", (0, 100_000, 0, 0, 0), "", "in_region", "batch", "tokens"),
        ("USE1-PixtralLarge2502-input-tokens", "mistral.pixtral-large-2502-v1:0",
         "input", (100_000, 0, 0, 0, 0), "", "in_region", "standard", "tokens"),
    ],
)  # fmt: skip
def test_token_forms_count_their_tokens_in_their_dimensions(
    rows: dict[str, SpendEvent],
    usage_type: str,
    model_id: str,
    token_type: str,
    tokens: tuple[int, ...],
    context: str,
    route: str,
    tier: str,
    category: str,
) -> None:
    event = rows[usage_type]

    assert _fields(event, "model_id", "token_type", "context", "route", "service_tier", "usage_category") == (
        model_id,
        token_type,
        context,
        route,
        tier,
        category,
    )
    assert _fields(event, *TOKENS) == tokens
    assert event.data_issue == ""


@pytest.mark.parametrize(
    ("usage_type", "category", "tier", "unit"),
    [
        ("USW2-MP:USW2_ProvisionedThroughput_6MonthsCommit_ModelUnits_Usage-Units", "provisioned_throughput",
         "provisioned", "model-unit hours"),
        ("APN3-MP:APN3_Reserved_1Month_OutputTPM_Geo-Units", "reserved_capacity", "reserved", "Units"),
        ("EUS2-Guardrail-ContentPolicyUnitsConsumed", "guardrail", "standard", "Units"),
    ],
)  # fmt: skip
def test_capacity_and_feature_rows_keep_their_cost_and_count_no_tokens(
    rows: dict[str, SpendEvent], usage_type: str, category: str, tier: str, unit: str
) -> None:
    event = rows[usage_type]

    assert (event.usage_category, event.service_tier, event.unit) == (category, tier, unit)
    assert _fields(event, *TOKENS) == (0, 0, 0, 0, 0)


def test_an_unknown_usage_type_keeps_cost_and_quantity_and_is_flagged_unparsed(rows: dict[str, SpendEvent]) -> None:
    event = rows["USE1-SomethingNew-Unknown"]

    assert (event.usage_category, event.cost_usd, event.units) == ("unparsed", Decimal("0.7"), Decimal(7))
    assert "not understood" in event.data_issue
    assert _fields(event, *TOKENS) == (0, 0, 0, 0, 0)


def test_every_row_keeps_its_billed_dollars(rows: dict[str, SpendEvent]) -> None:
    expected = sum(
        (Decimal(r["line_item_unblended_cost"]) for r in mf.read_cur_csv(FORMS)[1]),
        Decimal(0),
    )
    assert sum((e.cost_usd for e in rows.values()), Decimal(0)) == expected


def test_a_long_context_line_is_compared_with_the_long_context_list_price(rows: dict[str, SpendEvent]) -> None:
    event = rows["USE1-Claude4Sonnet-input-tokens-long-context-cross-region-global"]

    assert event.catalog_cost_usd == Decimal(250_000) * Decimal("6.00") / M  # $6 / 1M: equal to the bill
