"""sync_prices: the AWS Price List overlaid on the catalog, live through the pricing API (botocore's
Stubber, responses in the exact get_products format) or from a saved dump or offer file. Expected
prices are the fixture's pricePerUnit values, read in the test."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from io import StringIO
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from django.core.management import CommandError, call_command

from connections.models import AuditLog, Tenant
from finops.ledger.models import ModelAlias, ModelCatalog, ModelPrice
from finops.ledger.selectors import catalog_load
from ingestion.prices import prices_sync
from ingestion.services import import_cur
from tests.ingestion import malformed as bad

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pricelist"
PAGES = FIXTURES / "get_products_pages.json"
JANUARY = FIXTURES / "bedrock-pricelist-2026-01.json"
MARCH = FIXTURES / "bedrock-pricelist-2026-03.json"
OFFER = FIXTURES / "bedrock-offer-file-2026-01.json"
NOVA_LITE = "amazon.nova-lite-v1:0"


def _listed(path: Path) -> dict[tuple[str, str], Decimal]:
    """(usage type, model attribute) -> USD per unit, straight from the fixture's JSON."""
    prices = {}
    for text in json.loads(path.read_text())["PriceList"]:
        document = json.loads(text)
        attributes = document["product"]["attributes"]
        (term,) = document["terms"]["OnDemand"].values()
        (dimension,) = term["priceDimensions"].values()
        model = attributes.get("model") or attributes.get("servicename", "")
        prices[(attributes["usagetype"], model)] = Decimal(dimension["pricePerUnit"]["USD"])
    return prices


def _aws_rows() -> list[tuple]:
    return sorted(
        ModelPrice.objects.filter(source__startswith="AWS Price List").values_list(
            "model__model_id", "token_type", "route", "service_tier", "region", "context", "cache_ttl", "variant",
            "price_usd", "unit", "effective_from", "effective_to",
        )
    )  # fmt: skip


def _stubbed_client() -> tuple[object, Stubber]:
    client = boto3.client("pricing", region_name="us-east-1")
    stubber = Stubber(client)
    for code, pages in json.loads(PAGES.read_text()).items():
        token = None
        for page in pages:
            expected = {"ServiceCode": code, "FormatVersion": "aws_v1", "MaxResults": 100}
            if token:
                expected["NextToken"] = token
            stubber.add_response("get_products", page, expected)
            token = page.get("NextToken")
    return client, stubber


def test_a_live_sync_reads_every_page_of_the_three_service_codes(db) -> None:  # noqa: ANN001
    client, stubber = _stubbed_client()
    with stubber:
        result = prices_sync(pricing_client=client)
        stubber.assert_no_pending_responses()

    listed = _listed(JANUARY)
    assert result.rows == len(listed) - 2  # the guardrail and the unknown SKU are not model prices
    assert result.skipped == {"not a model price": 2}
    nova_lite_in = ModelPrice.objects.get(
        model__model_id=NOVA_LITE, token_type="input", region="us-east-1", source__startswith="AWS Price List"
    )
    assert (nova_lite_in.price_usd, nova_lite_in.unit) == (
        listed[("USE1-NovaLite-input-tokens", "Nova Lite")],
        "1K tokens",
    )
    assert nova_lite_in.source == "AWS Price List 20260114001225 (2026-01-14)"
    assert nova_lite_in.usage_type == "USE1-NovaLite-input-tokens"


def test_a_saved_dump_and_an_offer_file_give_the_same_prices_as_the_api(db) -> None:  # noqa: ANN001
    client, stubber = _stubbed_client()
    with stubber:
        prices_sync(pricing_client=client)
    live = _aws_rows()
    ModelPrice.objects.filter(source__startswith="AWS Price List").delete()
    prices_sync(file=JANUARY)
    dump = _aws_rows()
    ModelPrice.objects.filter(source__startswith="AWS Price List").delete()
    prices_sync(file=OFFER)

    assert live == dump == _aws_rows()
    assert len(live) == 13


def test_region_specific_prices_win_in_their_region(db) -> None:  # noqa: ANN001
    prices_sync(file=JANUARY)
    listed = _listed(JANUARY)
    catalog = catalog_load()
    on = date(2026, 2, 1)

    def per_token(model_id: str, region: str, route: str = "geo") -> Decimal:
        return catalog.price(model_id=model_id, token_type="input", on=on, route=route, region=region).per_unit

    assert per_token(NOVA_LITE, "eu-west-1") == listed[("EU-NovaLite-input-tokens", "Nova Lite")] / 1000
    assert per_token(NOVA_LITE, "us-east-1") == listed[("USE1-NovaLite-input-tokens", "Nova Lite")] / 1000
    assert per_token("mistral.mistral-large-2402-v1:0", "eu-west-3") == (
        listed[("EUW3-Mistral-Large-input-tokens", "Mistral Large")] / 1000
    )
    assert per_token("anthropic.claude-3-5-sonnet-20240620-v1:0", "us-gov-west-1") == (
        listed[("UGW1-MP:UGW1_InputTokenCount-Units", "Claude 3.5 Sonnet")] / 1_000_000
    )
    # Elsewhere the library's price still applies (Nova Lite: $0.06 / 1M in every region).
    assert per_token(NOVA_LITE, "ap-south-1") == Decimal("0.06") / 1_000_000


def test_a_changed_price_closes_the_old_row_and_keeps_history(db) -> None:  # noqa: ANN001
    prices_sync(file=JANUARY)
    result = prices_sync(file=MARCH)

    (change,) = result.changes
    assert (change.model_id, change.old, change.new) == (NOVA_LITE, Decimal("0.0000600000"), Decimal("0.0000550000"))
    rows = ModelPrice.objects.filter(
        model__model_id=NOVA_LITE, token_type="input", region="us-east-1", source__startswith="AWS Price List"
    ).order_by("effective_from")
    assert [(r.price_usd, r.effective_from, r.effective_to) for r in rows] == [
        (Decimal("0.0000600000"), date(2025, 12, 1), date(2026, 3, 1)),
        (Decimal("0.0000550000"), date(2026, 3, 1), None),
    ]
    catalog = catalog_load()
    feb = catalog.price(model_id=NOVA_LITE, token_type="input", on=date(2026, 2, 28), region="us-east-1")
    april = catalog.price(model_id=NOVA_LITE, token_type="input", on=date(2026, 4, 1), region="us-east-1")
    assert (feb.price_usd, april.price_usd) == (Decimal("0.0000600000"), Decimal("0.0000550000"))


def test_an_older_list_does_not_roll_prices_back(db) -> None:  # noqa: ANN001
    prices_sync(file=MARCH)
    before = _aws_rows()

    result = prices_sync(file=JANUARY)

    assert result.changes == [] and _aws_rows() == before


def test_syncing_the_same_list_twice_changes_nothing(db) -> None:  # noqa: ANN001
    prices_sync(file=JANUARY)
    before = _aws_rows()

    result = prices_sync(file=JANUARY)

    assert (result.changes, result.unchanged) == ([], 13)
    assert _aws_rows() == before


def test_a_model_new_to_the_catalog_gets_an_entry_that_bills_resolve_to(tenant: Tenant, tmp_path: Path) -> None:
    result = prices_sync(file=JANUARY)
    assert result.new_models == ["amazon.nova-2-pro"]
    model = ModelCatalog.objects.get(model_id="amazon.nova-2-pro")
    assert (model.name, model.provider, model.tier) == ("Nova 2 Pro", "Amazon", "balanced")
    assert ModelAlias.objects.filter(model=model, alias="nova2.0pro", kind="usage_token").exists()

    row = {**bad.bedrock_rows()[0], "line_item_usage_type": "USE1-Nova2.0Pro-input-tokens"}
    import_cur(tenant=tenant, paths=[bad.write_cur(tmp_path / "pro.csv", [row])])

    from finops.ledger.models import SpendEvent

    assert SpendEvent.objects.get(tenant=tenant).model_id == "amazon.nova-2-pro"


def test_models_the_library_lacks_are_priced_by_the_list(db) -> None:  # noqa: ANN001
    catalog = catalog_load()
    on = date(2026, 2, 1)
    assert catalog.price(model_id="anthropic.claude-v2:1", token_type="input", on=on) is None
    assert catalog.price(model_id="amazon.nova-canvas-v1:0", token_type="image", on=on) is None

    prices_sync(file=JANUARY)
    catalog = catalog_load()

    assert catalog.price(model_id="anthropic.claude-v2:1", token_type="input", on=on, region="us-east-1").price_usd == 8
    image = catalog.price(
        model_id="amazon.nova-canvas-v1:0", token_type="image", on=on, region="us-east-1", variant="T2I-1024-Standard"
    )
    assert (image.price_usd, image.unit) == (Decimal("0.04"), "image")
    hour = catalog.price(
        model_id="amazon.nova-2-lite-v1:0",
        token_type="model_unit_hour",
        on=on,
        region="us-east-1",
        service_tier="provisioned",
        variant="none",
    )
    assert (hour.price_usd, hour.unit) == (Decimal("60.50"), "hour")


def test_the_sync_is_audited_with_its_changes(db) -> None:  # noqa: ANN001
    prices_sync(file=JANUARY)

    entry = AuditLog.objects.get(action="prices.synced")
    assert entry.details["changed"] == 13 and entry.details["new_models"] == ["amazon.nova-2-pro"]
    assert {c["model_id"] for c in entry.details["changes"]} >= {NOVA_LITE, "anthropic.claude-v2:1"}


def test_the_command_prints_the_changes_and_a_dry_run_saves_nothing(db) -> None:  # noqa: ANN001
    out = StringIO()
    call_command("sync_prices", "--file", str(JANUARY), "--dry-run", stdout=out)

    assert "amazon.nova-lite-v1:0 input [us-east-1 in_region standard]: new -> 0.0000600000 per 1K tokens" in (
        out.getvalue()
    )
    assert "13 would change" in out.getvalue() and "dry run, nothing saved" in out.getvalue()
    assert not ModelPrice.objects.filter(source__startswith="AWS Price List").exists()
    assert not AuditLog.objects.filter(action="prices.synced").exists()

    out = StringIO()
    call_command("sync_prices", "--file", str(MARCH), "--format", "json", stdout=out)
    document = json.loads(out.getvalue())
    assert document["source"] == "AWS Price List 20260301000000 (2026-03-01)" and len(document["changes"]) == 13


def test_a_file_that_is_not_a_price_list_is_a_clear_error(tmp_path: Path, db) -> None:  # noqa: ANN001
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    other = tmp_path / "other.json"
    other.write_text('{"hello": "world"}')

    with pytest.raises(CommandError, match="not a JSON Price List file"):
        call_command("sync_prices", "--file", str(broken))
    with pytest.raises(CommandError, match="no PriceList array"):
        call_command("sync_prices", "--file", str(other))
    with pytest.raises(CommandError, match="no such file"):
        call_command("sync_prices", "--file", str(tmp_path / "missing.json"))


def test_an_api_error_says_which_permission_is_needed(db) -> None:  # noqa: ANN001
    client = boto3.client("pricing", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.add_client_error("get_products", "AccessDeniedException", "User is not authorized", 400)

    from connections.aws import AwsError

    with stubber, pytest.raises(AwsError):
        prices_sync(pricing_client=client)


def test_the_weekly_price_sync_is_scheduled_once_however_often_schedules_are_set_up(db) -> None:  # noqa: ANN001
    from django_q.models import Schedule

    call_command("setup_schedules", stdout=StringIO())
    call_command("setup_schedules", stdout=StringIO())

    (schedule,) = Schedule.objects.filter(func="ingestion.tasks.sync_prices")
    assert (schedule.schedule_type, schedule.repeats) == (Schedule.WEEKLY, -1)


def test_the_weekly_price_task_also_restores_the_other_platforms_library_prices(db, monkeypatch) -> None:  # noqa: ANN001
    """A price of another platform gone from the catalog (or new in an upgraded library) is back after the weekly
    task, even before the AWS overlay runs (stubbed here: it needs AWS)."""
    from types import SimpleNamespace

    from finops.ledger.models import ModelPrice
    from ingestion import prices, tasks

    gone = ModelPrice.objects.filter(model__platform="openai", model__model_id="openai/gpt-4o", token_type="input")
    assert gone.exists()  # loaded by the migrations
    wanted = sorted(gone.values_list("price_usd", "effective_from", "service_tier"))
    gone.delete()
    monkeypatch.setattr(prices, "prices_sync", lambda: SimpleNamespace(source="stub", changes=[], new_models=0))

    result = tasks.sync_prices()

    assert sorted(gone.values_list("price_usd", "effective_from", "service_tier")) == wanted
    assert result["platform_prices"] and result["source"] == "stub"
