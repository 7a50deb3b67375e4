"""The recommenders on planted patterns and on controls without them. Expected savings are computed here
from the planted rows and the published list prices (per 1M tokens, regional route), never by the code."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from finops.ledger.selectors import catalog_load
from recommendations.inputs import BillLine, Inputs, Request, Restatement
from recommendations.recommenders import (
    cache_write_burn,
    deprecated_model,
    model_routing,
    prompt_caching,
    provisioned,
    restatement,
)

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 11, 20)
M = Decimal(1_000_000)
OPUS = "anthropic.claude-opus-4-6-v1"
HAIKU = "anthropic.claude-haiku-4-5-20251001-v1:0"
SONNET = "anthropic.claude-sonnet-4-6"
OLD_HAIKU = "anthropic.claude-3-5-haiku-20241022-v1:0"
# Published regional (in-region / geographic profile) prices, per 1M tokens.
PRICES = {
    OPUS: {"input": Decimal("5.50"), "output": Decimal("27.50")},
    HAIKU: {"input": Decimal("1.10"), "output": Decimal("5.50")},
    SONNET: {
        "input": Decimal("3.30"),
        "output": Decimal("16.50"),
        "cache_read": Decimal("0.33"),
        "cache_write": Decimal("4.125"),
        "cache_write_1h": Decimal("6.60"),
    },
    OLD_HAIKU: {"input": Decimal("0.80"), "output": Decimal("4.00")},
}
_ids = itertools.count()
TIERS = {OPUS: ("flagship", "claude-opus"), HAIKU: ("efficient", "claude-haiku"), SONNET: ("balanced", "claude-sonnet"),
         OLD_HAIKU: ("efficient", "claude-haiku")}  # fmt: skip


def cost(model_id: str, **tokens: int) -> Decimal:
    return sum((PRICES[model_id][t] * n for t, n in tokens.items()), Decimal(0)) / M


def req(model_id: str, when: datetime, *, inp: int, out: int, **fields: object) -> Request:
    tier, family = TIERS[model_id]
    values: dict[str, object] = {
        "request_id": f"r-{next(_ids):06d}",
        "usage_start": when,
        "usage_date": when.date(),
        "account_id": "111111111111",
        "region": "us-east-1",
        "model_id": model_id,
        "model_tier": tier,
        "model_provider": "Anthropic",
        "model_family": family,
        "route": "geo",
        "service_tier": "standard",
        "operation": "InvokeModel",
        "application": "",
        "team": "",
        "agent_id": "",
        "workflow_id": "",
        "session_id": "",
        "iam_principal": "arn:aws:iam::111111111111:user/app",
        "principal_name": "app",
        "input_tokens": inp,
        "output_tokens": out,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "cost_usd": None,
        "stop_reason": "end_turn",
    }
    values.update(fields)
    if values["cost_usd"] is None:
        values["cost_usd"] = cost(
            model_id,
            input=inp,
            output=out,
            **({"cache_read": values["cache_read_tokens"]} if values["cache_read_tokens"] else {}),
            **({"cache_write": values["cache_write_tokens"]} if values["cache_write_tokens"] else {}),
        )
    return Request(**values)  # type: ignore[arg-type]


def inputs(requests: list[Request], bills: list[BillLine] | None = None, **kw: object) -> Inputs:
    return Inputs(as_of=AS_OF, requests=requests, bills=bills or [], catalog=catalog_load(), **kw)  # type: ignore[arg-type]


def at(day_offset: int, hour: int = 10, minute: int = 0) -> datetime:
    day = AS_OF - timedelta(days=day_offset)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


# --- model_routing ----------------------------------------------------------------------------------


def test_short_classification_on_opus_is_routed_to_haiku_with_savings_from_the_prices() -> None:
    planted = [
        req(OPUS, at(d, 9 + m // 60, m % 60), inp=150, out=5, application="txn-classifier")
        for d in range(20)
        for m in range(100)
    ]
    control = [
        req(OPUS, at(d, 11, m), inp=3000, out=1500, application="research") for d in range(10) for m in range(10)
    ]
    haiku = [req(HAIKU, at(d, 12, m), inp=150, out=4, application="tagger") for d in range(10) for m in range(3)]

    (card,) = model_routing.recommend(inputs(planted + control + haiku))

    expected = sum((cost(OPUS, input=150, output=5) - cost(HAIKU, input=150, output=5) for _ in planted), Decimal(0))
    assert card.scope == {"application": "txn-classifier", "model_id": OPUS, "region": "us-east-1"}
    assert card.evidence["suggested_model"] == HAIKU
    assert card.monthly_savings_usd == expected.quantize(Decimal("0.01"))  # 30-day window: no scaling
    assert card.confidence == "high"  # the tenant already runs this shape on Haiku
    assert len(card.evidence["request_ids"]) == 20


def test_routing_and_successors_stay_on_the_platform_the_model_is_bought_on() -> None:
    # The tenant also runs Claude Haiku 4.5 on Vertex AI, a lot: still, Bedrock's Opus routes to Bedrock's Haiku,
    # and Bedrock's legacy Claude 3.5 Haiku is succeeded by Bedrock's Haiku 4.5, not Vertex's or Anthropic's.
    planted = [
        req(OPUS, at(d, 9 + m // 60, m % 60), inp=150, out=5, application="txn-classifier")
        for d in range(20)
        for m in range(100)
    ]
    on_vertex = [
        replace(req(HAIKU, at(d, 12, m), inp=150, out=4, application="tagger"), model_id="vertex/claude-haiku-4-5")
        for d in range(10)
        for m in range(30)
    ]
    old = [req(OLD_HAIKU, at(d, 10), inp=400, out=200, application="copy-writer") for d in range(15)]

    (routing,) = model_routing.recommend(inputs(planted + on_vertex))
    (legacy,) = deprecated_model.recommend(inputs(old + on_vertex))

    catalog = catalog_load()
    assert catalog.models[routing.evidence["suggested_model"]].platform == "bedrock"
    assert catalog.models[legacy.evidence["successor"]].platform == "bedrock"


def test_generative_traffic_on_a_flagship_model_is_left_alone() -> None:
    requests = [req(OPUS, at(d, 9, m), inp=3000, out=900, application="writer") for d in range(20) for m in range(20)]

    assert model_routing.recommend(inputs(requests)) == []


# --- prompt_caching ---------------------------------------------------------------------------------


def _bot(when: datetime, *, inp: int = 6000, prefix_chars: int = 20000, **fields: object) -> Request:
    defaults = {"application": "helpdesk", "prefix_hash": "h1", "prefix_chars": prefix_chars, "operation": "Converse"}
    return req(SONNET, when, inp=inp, out=300, **{**defaults, **fields})


def test_a_long_prefix_sent_uncached_gets_the_cache_that_saves_most() -> None:
    # Each day: a burst of 10 calls a minute apart, then 10 calls 20 minutes apart.
    times = [at(d, 9, m) for d in range(25) for m in range(10)] + [
        at(d, 12, 0) + timedelta(minutes=20 * k) for d in range(25) for k in range(10)
    ]
    group = [_bot(t, prefix_chars=40000) for t in times]

    (card,) = prompt_caching.recommend(inputs(group))

    prefix = min(40000 // 4, 6000)  # characters / 4, capped by the smallest input
    # 5 minutes: per day the burst reads 9 and writes 1; every sparse call writes (10).
    five = (25 * 9, 25 * 11)
    # 1 hour: per day the burst reads 9 and writes 1; the sparse calls read 9 and write 1 (gap 2 h from the burst).
    hour = (25 * 18, 25 * 2)
    p = PRICES[SONNET]

    def saving(reads_writes: tuple[int, int], write: Decimal) -> Decimal:
        reads, writes = reads_writes
        return (reads * prefix * (p["input"] - p["cache_read"]) - writes * prefix * (write - p["input"])) / M

    best = max(saving(five, p["cache_write"]), saving(hour, p["cache_write_1h"]))
    assert best == saving(hour, p["cache_write_1h"])
    assert card.monthly_savings_usd == best.quantize(Decimal("0.01"))
    assert (card.evidence["simulated_cache_reads"], card.evidence["simulated_cache_writes"]) == hour
    assert card.evidence["cache_ttl"] == "1h" and '"ttl": "1h"' in card.snippet and "cachePoint" in card.snippet


@pytest.mark.parametrize(
    "change",
    [
        {"uses_caching": True},  # already caching
        {"prefix_chars": 400},  # prefix below the minimum cacheable length
        {"cache_read_tokens": 100},  # reads the cache
    ],
)
def test_no_caching_card_when_it_would_not_apply(change: dict) -> None:
    group = [_bot(at(d, 9, m), **change) for d in range(5) for m in range(10)]

    assert prompt_caching.recommend(inputs(group)) == []


def test_without_bodies_the_card_says_to_turn_on_text_delivery_and_claims_no_savings() -> None:
    group = [_bot(at(d, 9, m), prefix_chars=None, prefix_hash="") for d in range(5) for m in range(30)]

    (card,) = prompt_caching.recommend(inputs(group))

    assert "text delivery" in card.action and card.monthly_savings_usd is None and card.confidence == "low"


# --- provisioned throughput ---------------------------------------------------------------------------

PT_ARN = "arn:aws:bedrock:us-east-1:111111111111:provisioned-model/n2l1te7pt0a1"


def _pt_line(day: date) -> BillLine:
    return BillLine(
        usage_date=day,
        account_id="111111111111",
        region="us-east-1",
        model_id="amazon.nova-2-lite-v1:0",
        usage_type="USE1-Nova2.0Lite-ProvisionedThroughput-NoCommit-ModelUnits",
        usage_category="provisioned_throughput",
        token_type="model_unit_hour",
        service_tier="provisioned",
        line_item_type="Usage",
        cost_usd=Decimal("1452.00"),
        units=Decimal(24),
        unit="model-unit hours",
        resource_arn=PT_ARN,
    )


def test_provisioned_throughput_with_almost_no_calls_is_idle_at_its_hourly_cost_times_730() -> None:
    bills = [_pt_line(AS_OF - timedelta(days=d)) for d in range(14)]
    calls = [req(SONNET, at(d, 3), inp=100, out=10, inference_profile_arn=PT_ARN) for d in (1, 5, 9)]

    (card,) = provisioned.recommend(inputs(calls, bills))

    assert card.kind == "provisioned_idle"
    assert card.monthly_impact_usd == Decimal("1452.00") / 24 * 730
    assert card.evidence["commitment"] == "none" and "can be deleted now" in card.action


def test_busy_provisioned_throughput_is_not_idle() -> None:
    bills = [_pt_line(AS_OF - timedelta(days=d)) for d in range(14)]
    calls = [
        req(SONNET, at(d, 3, m), inp=100, out=10, inference_profile_arn=PT_ARN, cost_usd=Decimal(0))
        for d in range(14)
        for m in range(30)
    ]

    assert [c for c in provisioned.recommend(inputs(calls, bills)) if c.kind == "provisioned_idle"] == []


# --- deprecated_model, cache_write_burn, restatement ----------------------------------------------------


def test_a_legacy_model_in_use_names_who_uses_it_and_its_successor() -> None:
    old = [req(OLD_HAIKU, at(d, 10), inp=400, out=200, application="copy-writer", team="marketing") for d in range(15)]
    active = [req(HAIKU, at(d, 11), inp=400, out=200, application="other") for d in range(15)]

    (card,) = deprecated_model.recommend(inputs(old + active))

    spend = sum((r.cost_usd for r in old), Decimal(0))
    on_successor = sum((cost(HAIKU, input=400, output=200) for _ in old), Decimal(0))
    assert card.scope == {"model_id": OLD_HAIKU}
    assert card.monthly_impact_usd == spend.quantize(Decimal("0.01"))
    assert card.evidence["successor"] == HAIKU
    cents = Decimal("0.01")
    difference = Decimal(card.evidence["successor_difference_monthly_usd"])
    assert difference == on_successor.quantize(cents) - spend.quantize(cents)


def test_cache_writes_far_above_reads_burn_their_premium() -> None:
    loop = [
        req(SONNET, at(2, 1 + m // 60, m % 60), inp=400, out=50, cache_write_tokens=150_000, agent_id="triage")
        for m in range(120)
    ]
    healthy = [
        req(SONNET, at(d, 9, m), inp=400, out=50, cache_write_tokens=5000 if m == 0 else 0,
            cache_read_tokens=0 if m == 0 else 5000, agent_id="steady")
        for d in range(20) for m in range(20)
    ]  # fmt: skip

    (card,) = cache_write_burn.recommend(inputs(loop + healthy))

    p = PRICES[SONNET]
    premium = 120 * 150_000 * (p["cache_write"] - p["input"]) / M
    assert card.scope == {"agent_id": "triage", "model_id": SONNET}
    assert card.monthly_impact_usd == premium.quantize(Decimal("0.01"))


def test_a_restated_month_is_a_card_with_the_difference() -> None:
    entry = Restatement(date(2026, 10, 1), AS_OF - timedelta(days=3), Decimal("9000.00"), Decimal("9645.12"), 40, 44)
    old = Restatement(date(2026, 6, 1), AS_OF - timedelta(days=120), Decimal("10"), Decimal("20"), 1, 1)

    (card,) = restatement.recommend(inputs([], restatements=[entry, old]))

    assert card.monthly_impact_usd == Decimal("645.12") and "October 2026" in card.title


def test_break_even_needs_the_tokens_per_unit_setting_and_says_so() -> None:
    from finops.ledger.models import ModelCatalog, ModelPrice

    ModelPrice.objects.create(
        model=ModelCatalog.objects.get(model_id=SONNET), token_type="model_unit_hour", service_tier="provisioned",
        variant="none", price_usd=Decimal("1"), unit="hour", effective_from=date(2024, 1, 1), source="test",
        as_of=date(2026, 1, 1),
    )  # fmt: skip
    heavy = [req(SONNET, at(d, h, m), inp=200_000, out=20_000, application="batch-ish")
             for d in range(30) for h in range(24) for m in (0, 30)]  # fmt: skip

    assert [c for c in provisioned.recommend(inputs(heavy)) if c.kind == "provisioned_break_even"] == []
    cards = provisioned.recommend(inputs(heavy, tokens_per_model_unit={SONNET: 1_000_000}))

    (card,) = [c for c in cards if c.kind == "provisioned_break_even"]
    on_demand = sum((r.cost_usd for r in heavy), Decimal(0))
    assert card.monthly_savings_usd == (on_demand.quantize(Decimal("0.01")) - Decimal(1) * 1 * 730)  # 1 unit
    assert "admin setting" in card.math
