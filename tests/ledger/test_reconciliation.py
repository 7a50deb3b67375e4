"""Reconciliation and chargeback on exact-format fixtures (tests/fixtures/cur/cur2-bedrock-2026-08-reconcile.csv
and tests/fixtures/invocation_logs/reconcile-2026-08.jsonl). The expected allocation is worked out here from
the two files: a bill line's dollars go to the requests of the same day, account, region, model, token type,
price class, tier and principal, in proportion to their estimated cost of that token type."""

from __future__ import annotations

import csv
import json
from datetime import date
from decimal import Decimal
from fractions import Fraction
from io import StringIO

import pytest
from django.core.management import call_command

from connections.models import Tenant
from finops.ledger.chargeback import chargeback
from finops.ledger.models import SpendEvent
from finops.ledger.reconciliation import allocate
from finops.ledger.services import ledger_reconcile
from ingestion.services import import_cur, import_invocation_logs
from tests.fixtures import make_fixtures as mf

BILL = mf.CUR_DIR / "cur2-bedrock-2026-08-reconcile.csv"
LOGS = mf.LOG_DIR / "reconcile-2026-08.jsonl"
AUGUST = date(2026, 8, 1)
ALICE = "arn:aws:iam::123456789012:user/alice"


def _bill() -> list[dict[str, str]]:
    with BILL.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _logs() -> dict[str, dict]:
    records = [json.loads(line) for line in LOGS.read_text().splitlines() if line.strip()]
    return {r["requestId"][-1]: r for r in records}  # "1" ... "6"


def _cost(usage_type: str, principal: str, line_type: str = "Usage") -> Decimal:
    (row,) = [
        r
        for r in _bill()
        if (r["line_item_usage_type"], r["line_item_iam_principal"], r["line_item_line_item_type"])
        == (usage_type, principal, line_type)
    ]
    return Decimal(row["line_item_unblended_cost"])


def _split(total: Decimal, weights: dict[str, int]) -> dict[str, Fraction]:
    whole = sum(weights.values())
    return {key: Fraction(total) * weight / whole for key, weight in weights.items()}


@pytest.fixture
def loaded(tenant: Tenant) -> Tenant:
    import_invocation_logs(tenant=tenant, paths=[LOGS])
    import_cur(tenant=tenant, paths=[BILL])
    return tenant


def _allocated(tenant: Tenant) -> dict[str, Decimal | None]:
    rows = SpendEvent.objects.filter(tenant=tenant, record_kind="request").values_list(
        "request_id", "allocated_cost_usd"
    )
    return {request_id[-1]: allocated for request_id, allocated in rows}


def test_billed_dollars_go_to_the_requests_of_their_bucket_in_proportion_to_their_estimate(loaded: Tenant) -> None:
    logs = _logs()
    tokens = {key: (r["input"]["inputTokenCount"], r["output"]["outputTokenCount"]) for key, r in logs.items()}
    # Requests 1 (us. profile) and 2 (in-region) pay Sonnet 4.6's one regional price: weights are their tokens.
    sonnet_in = _split(_cost("USE1-Claude4.6Sonnet-input-tokens", ALICE), {"1": tokens["1"][0], "2": tokens["2"][0]})
    sonnet_out = _split(_cost("USE1-Claude4.6Sonnet-output-tokens", ALICE), {"1": tokens["1"][1], "2": tokens["2"][1]})
    # The Nova Lite bill line has no IAM principal: it takes every Nova Lite request of its day.
    nova = _split(_cost("USE1-NovaLite-input-tokens", ""), {"4": tokens["4"][0], "5": tokens["5"][0]})
    expected = {
        "1": sonnet_in["1"] + sonnet_out["1"],
        "2": sonnet_in["2"] + sonnet_out["2"],
        "4": nova["4"],
        "5": nova["5"],
    }

    allocated = _allocated(loaded)

    for key, share in expected.items():
        assert Fraction(allocated[key]) == share, key
    # 3: a global call, whose price class has no bill line yet; 6: a day not billed yet.
    assert allocated["3"] is None and allocated["6"] is None


def test_bill_lines_no_request_explains_stay_unattributed_and_nothing_is_counted_twice(loaded: Tenant) -> None:
    (result,) = ledger_reconcile(tenant=loaded, periods=[AUGUST])

    unexplained = _cost("USE1-Claude4.6Sonnet-input-tokens", "arn:aws:iam::123456789012:user/bob")
    token_usage = sum(
        (
            Decimal(r["line_item_unblended_cost"])
            for r in _bill()
            if r["line_item_line_item_type"] == "Usage" and "tokens" in r["line_item_usage_type"]
        ),
        Decimal(0),
    )
    assert result.billed_usage_usd == token_usage
    assert result.unattributed_usd == unexplained
    assert result.allocated_usd == token_usage - unexplained
    assert (result.requests_allocated, result.requests_not_yet_billed) == (4, 2)
    allocated = [a for a in _allocated(loaded).values() if a is not None]
    assert sum(allocated, Decimal(0)) == result.allocated_usd


def test_reconciling_again_changes_nothing(loaded: Tenant) -> None:
    before = _allocated(loaded)

    ledger_reconcile(tenant=loaded, periods=[AUGUST])
    import_cur(tenant=loaded, paths=[BILL])  # an identical re-delivery reconciles the period again

    assert _allocated(loaded) == before


def test_a_reconciliation_run_again_writes_no_row_and_leaves_the_rollup_alone(loaded: Tenant) -> None:
    from finops.ledger.models import SpendDaily

    cells = sorted(SpendDaily.objects.filter(tenant=loaded).values_list("id", "allocated_cost_usd"))

    (result,) = ledger_reconcile(tenant=loaded, periods=[AUGUST])

    assert result.rows_changed == 0
    assert sorted(SpendDaily.objects.filter(tenant=loaded).values_list("id", "allocated_cost_usd")) == cells


def test_bills_no_request_explains_are_loaded_already_reconciled(tenant: Tenant) -> None:
    import_cur(tenant=tenant, paths=[BILL])  # no requests at all: nothing to allocate
    bills = SpendEvent.objects.filter(tenant=tenant, record_kind="billed_line")
    assert bills.exists() and not bills.exclude(allocated_cost_usd=0).exists()

    (result,) = ledger_reconcile(tenant=tenant, periods=[AUGUST])

    assert result.rows_changed == 0 and result.allocated_usd == 0


def test_requests_without_a_team_take_their_principals_team_from_the_bill(loaded: Tenant) -> None:
    teams = dict(SpendEvent.objects.filter(tenant=loaded, record_kind="request").values_list("request_id", "team"))
    teams = {key[-1]: team for key, team in teams.items()}

    assert teams["1"] == teams["2"] == "BedrockDataScience"  # from the bill's iamPrincipal/team tag
    assert teams["4"] == "mobile"  # its own requestMetadata wins


def test_chargeback_rows_add_up_exactly_to_the_invoice(loaded: Tenant) -> None:
    ledger_reconcile(tenant=loaded, periods=[AUGUST])
    invoice = sum((Decimal(r["line_item_unblended_cost"]) for r in _bill()), Decimal(0))

    rows, total = chargeback(tenant=loaded, period=AUGUST, fields=["principal_name"])

    assert total == invoice
    assert sum((r["billed_cost_usd"] for r in rows), Decimal(0)) == invoice
    by_name = {r["principal_name"]: r for r in rows if not r.get("unattributed") and not r.get("shared")}
    allocated = _allocated(loaded)
    assert by_name["alice"]["billed_cost_usd"] == allocated["1"] + allocated["2"]
    assert (by_name["alice"]["requests"], by_name["alice"]["requests_not_yet_billed"]) == (4, 2)
    (unattributed,) = [r for r in rows if r.get("unattributed")]
    hourly = _cost("USE1-Nova2.0Lite-ProvisionedThroughput-NoCommit-ModelUnits", "")
    assert (
        unattributed["billed_cost_usd"]
        == _cost("USE1-Claude4.6Sonnet-input-tokens", "arn:aws:iam::123456789012:user/bob") + hourly
    )
    shared = {r["shared"]: r["billed_cost_usd"] for r in rows if r.get("shared")}
    assert shared == {
        "Credit": _cost("USE1-Claude4.6Sonnet-input-tokens", "", "Credit"),
        "Tax": _cost("", "", "Tax"),
    }


def test_the_chargeback_command_prints_json_rows_that_sum_to_the_invoice(loaded: Tenant) -> None:
    out = StringIO()
    call_command(
        "chargeback", tenant=loaded.slug, period="2026-08", by="team,principal_name", format="json", stdout=out
    )

    rows = json.loads(out.getvalue())
    invoice = sum((Decimal(r["line_item_unblended_cost"]) for r in _bill()), Decimal(0))
    assert sum((Decimal(r["billed_cost_usd"]) for r in rows), Decimal(0)) == invoice
    assert [r for r in rows if r.get("unattributed")] and {r["shared"] for r in rows if r.get("shared")} == {
        "Credit",
        "Tax",
    }
    assert {"team", "principal_name", "requests", "input_tokens"} <= set(rows[0])

    table = StringIO()
    call_command("chargeback", tenant=loaded.slug, period="2026-08", by="team", stdout=table)
    assert f"Invoice total 2026-08: ${invoice:,.2f}" in table.getvalue()


def test_an_unknown_chargeback_field_is_a_clear_error(loaded: Tenant) -> None:
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="Unknown or missing --by field"):
        call_command("chargeback", tenant=loaded.slug, period="2026-08", by="colour", stdout=StringIO())


@pytest.mark.parametrize(
    ("total", "weights"),
    [
        (Decimal("0.01"), [Decimal(1), Decimal(1), Decimal(1)]),
        (Decimal("1452"), [Decimal("0.3"), Decimal("0.0000007"), Decimal("5")]),
        (Decimal("-5"), [Decimal(2), Decimal(3)]),
        (Decimal("0.0000000003"), [Decimal(1)] * 7),
    ],
)
def test_an_allocation_adds_up_exactly_and_each_share_is_within_a_unit_of_its_exact_value(
    total: Decimal, weights: list[Decimal]
) -> None:
    shares = allocate(total, weights)

    assert sum(shares, Decimal(0)) == total
    whole = sum(weights, Decimal(0))
    for share, weight in zip(shares, weights, strict=True):
        assert abs(Fraction(share) - Fraction(total) * Fraction(weight) / Fraction(whole)) < Fraction(1, 10**10)


def test_grouped_by_price_class_a_geographic_profiles_bill_and_estimate_sit_in_one_row(loaded: Tenant) -> None:
    from finops.ledger.selectors import ReportFilter, spend_report

    rows = spend_report(
        tenant=loaded, group_by=["model_id", "price_class"], filters=ReportFilter(date(2026, 8, 5), date(2026, 8, 5))
    )
    sonnet = {r["price_class"]: r for r in rows if r["model_id"] == "anthropic.claude-sonnet-4-6"}
    allocated = _allocated(loaded)

    # The us. profile (route geo), the in-region call and the plain bill lines are all "regional".
    regional = sonnet["regional"]
    assert regional["billed_cost_usd"] == sum(
        (
            Decimal(r["line_item_unblended_cost"])
            for r in _bill()
            if r["line_item_usage_type"].startswith("USE1-Claude4.6Sonnet")  # its usage and its credit
        ),
        Decimal(0),
    )
    assert regional["estimated_cost_usd"] > 0 and regional["requests"] == 2
    assert regional["allocated_cost_usd"] == allocated["1"] + allocated["2"]
    assert (sonnet["global"]["billed_cost_usd"], sonnet["global"]["requests"]) == (0, 1)  # not billed yet


def test_spend_report_json_has_the_allocated_dollars(loaded: Tenant) -> None:
    out = StringIO()
    call_command("spend_report", tenant=loaded.slug, group_by="principal_name", format="json", stdout=out)

    rows = {r["principal_name"]: r for r in json.loads(out.getvalue())}
    allocated = _allocated(loaded)
    assert Decimal(rows["alice"]["allocated_cost_usd"]) == allocated["1"] + allocated["2"]
    assert Decimal(rows["carol"]["allocated_cost_usd"]) == allocated["4"] + allocated["5"]
