"""Re-pricing: after a price is added (or a model or an application inference profile mapped), the
requests' estimates are recomputed from the catalog, audited with before/after totals; billed rows never
change. The unpriced panel says what to do for each kind of gap, and analysts and admins can re-price."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from connections.models import AuditLog, Membership, Tenant
from finops.ledger.models import ModelAlias, ModelCatalog, ModelPrice, SpendEvent
from ingestion.services import import_cur, import_invocation_logs
from tests.ingestion import malformed as bad

ACCOUNT = "123456789012"
PROFILE = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:application-inference-profile/a1b2c3d4e5f6"
PROVISIONED = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:provisioned-model/p9x8y7w6v5u4"


def _log_records() -> list[dict]:
    records = bad.many_log_records(4)
    for record in records[:2]:  # the new model has no cache prices: these calls use none
        record["input"]["cacheReadInputTokenCount"] = record["input"]["cacheWriteInputTokenCount"] = 0
    return records


def _records(tmp_path: Path) -> Path:
    records = _log_records()
    records[0]["modelId"] = "acme.newmodel-v1:0"  # not in the catalog
    records[1]["modelId"] = "acme.newmodel-v1:0"
    records[2]["modelId"] = PROFILE
    records[3]["modelId"] = PROVISIONED
    path = tmp_path / "logs.jsonl"
    path.write_bytes(bad.jsonl_bytes(records))
    return path


def _tokens(record: dict) -> tuple[int, int]:
    return record["input"]["inputTokenCount"], record["output"]["outputTokenCount"]


@pytest.fixture
def loaded(tenant: Tenant, tmp_path: Path) -> Tenant:
    import_invocation_logs(tenant=tenant, paths=[_records(tmp_path)])
    import_cur(tenant=tenant, paths=[bad.write_cur(tmp_path / "june.csv", bad.bedrock_rows())])
    return tenant


def _requests(tenant: Tenant) -> dict[str, SpendEvent]:
    return {
        e.model_ref or e.inference_profile_arn or e.model_id: e
        for e in SpendEvent.objects.filter(tenant=tenant, record_kind="request")
    }


def test_provisioned_model_requests_cost_nothing_per_token_and_are_not_unpriced(loaded: Tenant) -> None:
    event = SpendEvent.objects.get(tenant=loaded, record_kind="request", inference_profile_arn=PROVISIONED)

    assert (event.cost_usd, event.unpriced, event.service_tier) == (Decimal(0), False, "provisioned")


def test_adding_a_model_and_its_price_then_repricing_prices_its_requests(loaded: Tenant) -> None:
    billed_before = sorted(
        SpendEvent.objects.filter(tenant=loaded, record_kind="billed_line").values_list("id", "cost_usd")
    )
    model = ModelCatalog.objects.create(
        model_id="acme.newmodel", name="Acme New", provider="Acme", family="acme", tier="balanced"
    )
    ModelAlias.objects.create(model=model, alias="acme.newmodel-v1:0", kind="runtime_id")
    for token_type, price in (("input", "2.00"), ("output", "8.00")):
        ModelPrice.objects.create(
            model=model,
            token_type=token_type,
            price_usd=Decimal(price),
            effective_from=date(2024, 1, 1),
            source="admin",
            as_of=date(2026, 11, 1),
        )
    records = _log_records()[:2]

    out = StringIO()
    call_command("reprice", tenant=loaded.slug, stdout=out)

    repriced = [e for e in SpendEvent.objects.filter(tenant=loaded, model_id="acme.newmodel").order_by("request_id")]
    assert len(repriced) == 2 and all(not e.unpriced and e.model_ref == "" for e in repriced)
    for event, record in zip(repriced, sorted(records, key=lambda r: r["requestId"]), strict=True):
        inp, outp = _tokens(record)
        assert event.cost_usd == (inp * Decimal("2.00") + outp * Decimal("8.00")) / 1_000_000
    assert "2 newly matched to a model" in out.getvalue()
    entry = AuditLog.objects.get(tenant=loaded, action="ledger.repriced")
    assert entry.details["unpriced_before"] == 3 and entry.details["unpriced_after"] == 1  # the profile remains
    assert Decimal(entry.details["estimated_after"]) == sum((e.cost_usd for e in repriced), Decimal(0)) + sum(
        (e.cost_usd or 0 for e in SpendEvent.objects.filter(tenant=loaded, record_kind="request")
         .exclude(model_id="acme.newmodel")), Decimal(0)
    )  # fmt: skip
    assert sorted(
        SpendEvent.objects.filter(tenant=loaded, record_kind="billed_line").values_list("id", "cost_usd")
    ) == (billed_before)


def test_mapping_an_application_profile_to_a_model_then_repricing_prices_it(loaded: Tenant) -> None:
    sonnet = ModelCatalog.objects.get(model_id="anthropic.claude-sonnet-4-6")
    ModelAlias.objects.create(model=sonnet, alias=PROFILE, kind="inference_profile")
    record = _log_records()[2]

    call_command("reprice", tenant=loaded.slug, stdout=StringIO())

    event = SpendEvent.objects.get(tenant=loaded, record_kind="request", inference_profile_arn=PROFILE)
    inp, outp = _tokens(record)
    reads, writes = (
        record["input"].get("cacheReadInputTokenCount", 0),
        record["input"].get("cacheWriteInputTokenCount", 0),
    )
    # An application profile in us-east-1 pays the regional price: $3.30 / $16.50, cache $0.33 / $4.125 per 1M.
    expected = (
        inp * Decimal("3.30") + outp * Decimal("16.50") + reads * Decimal("0.33") + writes * Decimal("4.125")
    ) / 1_000_000
    assert (event.model_id, event.unpriced, event.cost_usd) == ("anthropic.claude-sonnet-4-6", False, expected)


def test_the_unpriced_panel_says_what_to_do_for_each_kind(loaded: Tenant, viewer, client: Client) -> None:  # noqa: ANN001
    client.force_login(viewer)

    html = client.get(f"/t/{loaded.slug}/?start=2026-06-01&end=2026-06-30").content.decode()

    panel = html[html.index('data-testid="unpriced-panel"') :]
    assert "acme.newmodel-v1:0" in panel and "not in the catalog" in panel
    assert "Application inference profile" in panel and PROFILE in panel
    assert PROVISIONED not in panel  # paid by the hour: never listed as needing a token price
    assert "Re-price" not in panel  # a viewer cannot re-price


def test_an_analyst_can_reprice_from_the_overview(
    loaded: Tenant,
    client: Client,
    settings,
    django_capture_on_commit_callbacks,  # noqa: ANN001
) -> None:
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    analyst = get_user_model().objects.create_user("ana", password="pw-ana-12345")
    Membership.objects.create(user=analyst, tenant=loaded, role=Membership.Role.ANALYST)
    ModelAlias.objects.create(
        model=ModelCatalog.objects.get(model_id="anthropic.claude-sonnet-4-6"), alias=PROFILE, kind="inference_profile"
    )
    client.force_login(analyst)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/t/{loaded.slug}/reprice/", follow=True)

    assert response.status_code == 200 and "Re-pricing the requests" in response.content.decode()
    assert not SpendEvent.objects.get(tenant=loaded, record_kind="request", inference_profile_arn=PROFILE).unpriced
    assert AuditLog.objects.filter(tenant=loaded, action="ledger.reprice_requested", actor=analyst).exists()
    assert AuditLog.objects.filter(tenant=loaded, action="ledger.repriced").exists()


def test_a_viewer_cannot_reprice_and_an_outsider_gets_404(loaded: Tenant, viewer, outsider, client: Client) -> None:  # noqa: ANN001
    client.force_login(viewer)
    assert client.post(f"/t/{loaded.slug}/reprice/").status_code == 403
    assert client.get(f"/t/{loaded.slug}/reprice/").status_code == 405
    client.force_login(outsider)
    assert client.post(f"/t/{loaded.slug}/reprice/").status_code == 404
    assert not AuditLog.objects.filter(action="ledger.reprice_requested").exists()


def test_staff_can_reprice_a_models_requests_from_the_price_admin(loaded: Tenant, staff, client: Client) -> None:  # noqa: ANN001
    model = ModelCatalog.objects.create(
        model_id="acme.newmodel", name="Acme New", provider="Acme", family="acme", tier="balanced"
    )
    ModelAlias.objects.create(model=model, alias="acme.newmodel-v1:0", kind="runtime_id")
    price = ModelPrice.objects.create(
        model=model, token_type="input", price_usd=Decimal("1"), effective_from=date(2024, 1, 1), source="admin",
        as_of=date(2026, 11, 1),
    )  # fmt: skip
    ModelPrice.objects.create(
        model=model, token_type="output", price_usd=Decimal("4"), effective_from=date(2024, 1, 1), source="admin",
        as_of=date(2026, 11, 1),
    )  # fmt: skip
    client.force_login(staff)

    response = client.post(
        "/admin/ledger/modelprice/",
        {"action": "reprice_requests", "_selected_action": [price.pk]},
        follow=True,
    )

    assert "Re-priced" in response.content.decode()
    assert SpendEvent.objects.filter(tenant=loaded, model_id="acme.newmodel", unpriced=False).count() == 2


def test_the_overview_shows_how_much_of_the_bill_requests_explain(tenant: Tenant, viewer, client: Client) -> None:  # noqa: ANN001
    from tests.fixtures import make_fixtures as mf

    import_invocation_logs(tenant=tenant, paths=[mf.LOG_DIR / "reconcile-2026-08.jsonl"])
    import_cur(tenant=tenant, paths=[mf.CUR_DIR / "cur2-bedrock-2026-08-reconcile.csv"])
    client.force_login(viewer)

    page = client.get(f"/t/{tenant.slug}/?start=2026-08-01&end=2026-08-31").context["overview"]

    allocated = sum(
        (e for e in SpendEvent.objects.filter(tenant=tenant, record_kind="request").values_list(
            "allocated_cost_usd", flat=True) if e is not None),
        Decimal(0),
    )  # fmt: skip
    assert page.allocated_cost_usd == allocated
    assert page.coverage_pct == (allocated / page.billed_token_usage_usd * 100).quantize(Decimal("0.1"))


def test_the_overview_counts_bill_lines_whose_usage_type_is_not_understood(
    tenant: Tenant, viewer, client: Client
) -> None:  # noqa: ANN001
    from tests.fixtures import make_fixtures as mf

    import_cur(tenant=tenant, paths=[mf.CUR_DIR / "cur2-bedrock-2026-07-usage-forms.csv"])
    client.force_login(viewer)

    response = client.get(f"/t/{tenant.slug}/?start=2026-07-01&end=2026-07-31")

    page = response.context["overview"]
    assert (page.unparsed_lines, page.unparsed_cost_usd) == (1, Decimal("0.7"))
    assert dict(page.billed_breakdown)["Usage types not understood"] == Decimal("0.7")
    assert "1 bill line with a usage type not understood" in response.content.decode()


def test_a_bill_below_list_price_is_shown_as_a_discount_not_fixed(
    tenant: Tenant, viewer, client: Client, tmp_path: Path
) -> None:  # noqa: ANN001
    # 100K Sonnet 4.6 input tokens (list: $3.30 / 1M in-region = $0.33) billed at $0.264: 20% below list.
    row = {
        **bad.bedrock_rows()[0],
        "line_item_usage_amount": "100",
        "pricing_unit": "1K tokens",
        "line_item_unblended_cost": "0.264",
    }
    import_cur(tenant=tenant, paths=[bad.write_cur(tmp_path / "edp.csv", [row])])
    client.force_login(viewer)

    event = SpendEvent.objects.get(tenant=tenant)
    page = client.get(f"/t/{tenant.slug}/?start=2026-06-01&end=2026-06-30").context["overview"]

    assert event.cost_usd == Decimal("0.264")  # the bill's dollars, kept
    assert event.catalog_cost_usd == 100_000 * Decimal("3.30") / 1_000_000
    assert page.list_difference_pct == Decimal("-20.0")
