"""The parts of reconciliation that exist for speed: prices per token looked up once per (model, day, route,
tier, region, context) instead of per request; requests whose bucket has no bill line of any token type
set aside without being weighed; a day's bill lines with no request summed per bucket by PostgreSQL. Each is
held to what it replaced: `Catalog.estimate_by_type`, an allocation worked out here by hand, and the general
path over the same bills."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connections.models import Tenant
from finops.ledger import reconciliation
from finops.ledger.models import SpendEvent
from finops.ledger.reconciliation import USAGE_LINE_TYPES, Reconciliation, _Prices, reconcile_period
from finops.ledger.selectors import catalog_load
from finops.ledger.services import catalog_seed_apply, ledger_reconcile
from ingestion.services import import_cur
from tests.factories import billed_line, ledger_row
from tests.fixtures import make_fixtures as mf

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


def _outcome(result: Reconciliation, tenant: Tenant) -> tuple[Any, ...]:
    allocations = sorted(SpendEvent.objects.filter(tenant=tenant).values_list("id", "allocated_cost_usd"))
    buckets = sorted((tuple(b["bucket"]), b["billed_usd"]) for b in result.unattributed_buckets)
    fields = (result.billed_usage_usd, result.allocated_usd, result.unattributed_usd, result.requests_allocated,
              result.requests_not_yet_billed, result.dimensions_filled, result.buckets,
              result.rows_changed)  # fmt: skip
    return fields, buckets, allocations


def _both_ways(tenant: Tenant, period: date, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    """The period reconciled with bills-only days summed by PostgreSQL (then rolled back), and by the general path."""
    catalog = catalog_load()
    with transaction.atomic():
        summed = _outcome(reconcile_period(tenant=tenant, period=period, catalog=catalog), tenant)
        transaction.set_rollback(True)
    monkeypatch.setattr(reconciliation, "_bills_alone", lambda bills, result: False)
    return summed, _outcome(reconcile_period(tenant=tenant, period=period, catalog=catalog), tenant)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="bill lines are summed per bucket by PostgreSQL only")
@pytest.mark.django_db
@pytest.mark.parametrize(
    "bills",
    [
        "cur2-bedrock-2026-05.csv",
        "cur2-bedrock-2026-06.csv",
        "cur2-bedrock-2026-07-usage-forms.csv",
        "cur2-bedrock-2026-08-reconcile.csv",
        "cur2-bedrock-2026-09-focus.csv",
    ],  # fmt: skip
)
def test_days_with_bills_and_no_requests_come_out_as_the_general_path_makes_them(
    bills: str, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_cur(tenant=tenant, paths=[mf.CUR_DIR / bills])
    period = SpendEvent.objects.filter(tenant=tenant).values_list("billing_period", flat=True).first()
    # Allocations left over from requests since gone: both ways put them back to 0 (and count the rows).
    lines = SpendEvent.objects.filter(
        tenant=tenant, record_kind="billed_line", usage_category="tokens", line_item_type__in=USAGE_LINE_TYPES
    ).exclude(model_id="")
    stale = list(lines.order_by("id").values_list("id", flat=True)[:3])
    SpendEvent.objects.filter(id__in=stale[:2]).update(allocated_cost_usd=Decimal("1.5"))
    SpendEvent.objects.filter(id__in=stale[2:]).update(allocated_cost_usd=None)

    summed, general = _both_ways(tenant, period, monkeypatch)

    assert summed == general
    assert general[0][7] == len(stale) > 0 and general[0][4] == 0  # the stale lines rewritten; no request anywhere
    assert general[0][0] > 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="bill lines are summed per bucket by PostgreSQL only")
@pytest.mark.django_db
def test_a_day_with_another_providers_bill_lines_goes_the_general_way(tenant: Tenant) -> None:
    billed_line(tenant, cost="2.00", day=DAY, source="openai", model_id="openai.gpt-4o", token_type="input",
                line_item_type="Usage", usage_category="tokens", tags={"billing_scope": "proj-1"})  # fmt: skip
    billed_line(tenant, cost="3.00", day=DAY, model_id=SONNET, token_type="input_image", line_item_type="Usage",
                usage_category="tokens")  # fmt: skip
    day_bills = SpendEvent.objects.filter(tenant=tenant)
    result = Reconciliation(period=DAY.replace(day=1))
    assert reconciliation._bills_alone(day_bills, result) is False
    assert result == Reconciliation(period=DAY.replace(day=1))  # nothing done

    (reconciled,) = ledger_reconcile(tenant=tenant, periods=[DAY])
    scopes = sorted(b["bucket"][:2] for b in reconciled.unattributed_buckets)
    assert scopes == [["bedrock", ""], ["openai", "proj-1"]]
    assert reconciled.unattributed_usd == Decimal("5.00")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="bill lines are summed per bucket by PostgreSQL only")
@pytest.mark.django_db
def test_modalities_routes_and_principals_make_the_same_buckets_both_ways(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [
        ("1.10", "input", "in_region", ALICE),
        ("2.20", "input_image", "in_region", ALICE),  # an input of another modality meets the input bucket
        ("3.30", "input_video", "geo", ALICE),  # a geographic profile pays the regional price class
        ("4.40", "output_audio", "global", ""),
        ("5.50", "output", "global", ""),
        ("6.60", "cache_read", "in_region", BOB),
    ]
    for cost, token_type, route, principal in lines:
        billed_line(tenant, cost=cost, day=DAY, model_id=SONNET, token_type=token_type, route=route,
                    iam_principal=principal, line_item_type="Usage", usage_category="tokens",
                    account_id="111111111111", region="us-east-1")  # fmt: skip
    summed, general = _both_ways(tenant, DAY, monkeypatch)

    assert summed == general
    # Worked out by hand: Alice's regional input (1.10 + 2.20 + 3.30: a geographic profile is regional too), the
    # global output (4.40 + 5.50) and Bob's cache reads (6.60).
    assert sorted(billed for _, billed in general[1]) == ["6.6000000000", "6.6000000000", "9.9000000000"]
