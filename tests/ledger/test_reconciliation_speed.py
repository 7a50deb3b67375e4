"""The parts of reconciliation that exist for speed: prices per token looked up once per (model, day, route,
tier, region, context) instead of per request, and requests whose bucket has no bill line of any token type
set aside without being weighed. Each is held to what it replaced: `Catalog.estimate_by_type`, and the
allocation worked out here by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connections.models import Tenant
from finops.ledger.models import SpendEvent
from finops.ledger.reconciliation import _Prices
from finops.ledger.selectors import catalog_load
from finops.ledger.services import catalog_seed_apply, ledger_reconcile
from tests.factories import billed_line, ledger_row

DAY = date(2026, 6, 3)
ALICE = "arn:aws:iam::111111111111:user/alice"
BOB = "arn:aws:iam::111111111111:user/bob"
SONNET = "anthropic.claude-sonnet-4-6"


@pytest.fixture
def catalog(db: None) -> object:
    catalog_seed_apply()  # the seeded catalog (a transactional test before this one may have emptied the tables)
    return catalog_load()


tokens = st.integers(min_value=0, max_value=400_000)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.data(),
    day=st.dates(min_value=date(2023, 1, 1), max_value=date(2027, 12, 31)),
    route=st.sampled_from(["in_region", "geo", "global", ""]),
    tier=st.sampled_from(["standard", "flex", "priority", "batch", "reserved"]),
    region=st.sampled_from(["us-east-1", "us-west-2", "eu-central-1", "ap-northeast-1", ""]),
    counts=st.tuples(tokens, tokens, tokens, tokens, tokens),
)
def test_prices_per_token_give_what_estimate_by_type_gives(
    catalog: object, data: st.DataObject, day: date, route: str, tier: str, region: str, counts: tuple[int, ...]
) -> None:
    # Every model of the catalog (long-context thresholds, 1-hour cache writes, regional and global prices).
    model_id = data.draw(st.sampled_from(sorted(catalog.models)))
    names = ("input", "output", "cache_read", "cache_write", "cache_write_1h")
    request_tokens = dict(zip(names, counts, strict=True))
    prices = _Prices(catalog)
    row = {"model_id": model_id, "usage_date": day, "route": route, "service_tier": tier, "region": region}
    for _ in range(2):  # the second time from what the first looked up
        expected, _ = catalog.estimate_by_type(
            model_id=model_id, tokens=request_tokens, on=day, route=route, service_tier=tier, region=region
        )
        assert prices.costs(row, request_tokens) == expected


def _request(tenant: Tenant, principal: str, *, input_tokens: int, model_id: str = SONNET, **fields: object) -> int:
    start = datetime(DAY.year, DAY.month, DAY.day, 12, tzinfo=UTC)
    event = ledger_row(
        tenant=tenant,
        record_kind="request",
        cost_basis="estimated",
        dedupe_key=f"request:{principal}:{input_tokens}:{model_id}:{fields}",
        usage_start=start,
        usage_end=start,
        usage_date=DAY,
        billing_period=DAY.replace(day=1),
        account_id="111111111111",
        region="us-east-1",
        route="in_region",
        model_id=model_id,
        iam_principal=principal,
        requests=1,
        input_tokens=input_tokens,
        **fields,
    )
    return event.pk


@pytest.mark.django_db
def test_requests_without_a_bill_line_of_their_bucket_are_not_yet_billed_and_the_rest_share_the_bill(
    tenant: Tenant,
) -> None:
    billed_line(
        tenant,
        cost="3.00",
        day=DAY,
        account_id="111111111111",
        region="us-east-1",
        route="in_region",
        model_id=SONNET,
        token_type="input",
        line_item_type="Usage",
        usage_category="tokens",
        iam_principal=ALICE,
    )
    alice_small = _request(tenant, ALICE, input_tokens=1_000)
    alice_big = _request(tenant, ALICE, input_tokens=2_000)
    bob = _request(tenant, BOB, input_tokens=5_000)  # no bill line of Bob's
    bob_nothing = _request(tenant, BOB, input_tokens=0)  # no tokens: neither allocated nor waiting for a bill
    other_model = _request(tenant, ALICE, input_tokens=700, model_id="anthropic.claude-haiku-4-5")

    (result,) = ledger_reconcile(tenant=tenant, periods=[DAY])

    requests = SpendEvent.objects.filter(tenant=tenant, record_kind="request")
    allocated = dict(requests.values_list("id", "allocated_cost_usd"))
    # Alice's two requests share her $3.00 input line in proportion to their input cost (same price: 1:2).
    assert allocated[alice_small] == Decimal("1.00")
    assert allocated[alice_big] == Decimal("2.00")
    assert allocated[bob] is None and allocated[bob_nothing] is None and allocated[other_model] is None
    assert result.requests_allocated == 2
    assert result.requests_not_yet_billed == 2  # Bob's with tokens and the other model's; not the empty one
    assert result.allocated_usd == result.billed_usage_usd == Decimal("3.00")
