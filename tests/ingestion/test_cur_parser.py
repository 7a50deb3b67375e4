"""CUR 2.0 files -> ledger rows: every usage-type shape, units, principals, tags, broken input.

Expected numbers are worked out by hand from tests/fixtures/cur/cur2-bedrock-2026-06.csv and the
prices of reference/aws-formats.md section F, never read back from the code under test."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from connections.models import Tenant
from finops.ledger.models import SpendEvent
from ingestion.models import ImportRun
from ingestion.parsers.common import FileUnreadable, parse_map, parse_timestamp
from ingestion.parsers.cur import iter_cur_file, parse_cur_row
from ingestion.services import import_cur
from tests.fixtures import make_fixtures as mf

ACCT = "123456789012"
ALICE = f"arn:aws:iam::{ACCT}:user/alice"
BOB = f"arn:aws:iam::{ACCT}:user/bob"
API_KEY = f"arn:aws:iam::{ACCT}:user/BedrockAPIKey-234s"
APP_ROLE = f"arn:aws:sts::{ACCT}:assumed-role/AppRole/session-123"
FEDERATED = f"arn:aws:sts::{ACCT}:assumed-role/BedrockRole/user-1@acme.org"
SSO = f"arn:aws:sts::{ACCT}:assumed-role/AWSReservedSSO_DataScience_0123456789abcdef/jane.doe"
AGENTCORE = f"arn:aws:sts::{ACCT}:assumed-role/AgentRuntimeRole/BedrockAgentCore-0b425b4e-1a2b-4c3d-8e9f-001122334455"
SUPPORT_BOT = f"arn:aws:sts::{ACCT}:assumed-role/SupportBotRole/support-bot-lambda"
APP_PROFILE = f"arn:aws:bedrock:us-east-1:{ACCT}:application-inference-profile/a1b2c3d4e5f6"

SONNET_46 = "anthropic.claude-sonnet-4-6"
SONNET_45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"
HAIKU_35 = "anthropic.claude-3-5-haiku-20241022-v1:0"
HAIKU_45 = "anthropic.claude-haiku-4-5-20251001-v1:0"
NOVA_LITE = "amazon.nova-lite-v1:0"
NOVA_PRO = "amazon.nova-pro-v1:0"
NOVA_2_LITE = "amazon.nova-2-lite-v1:0"
LLAMA_33 = "meta.llama3-3-70b-instruct-v1:0"

K = Decimal(1000)  # `1K tokens`: one unit of line_item_usage_amount is a thousand tokens
M = Decimal(1_000_000)


def _tokens(amount: str, scale: Decimal) -> int:
    return int(Decimal(amount) * scale)


def _import(tenant: Tenant, *paths: Path) -> ImportRun:
    return import_cur(tenant=tenant, paths=list(paths or [mf.CUR_JUNE_CSV]))


def _usage(tenant: Tenant, usage_type: str, principal: str | None = None) -> SpendEvent:
    rows = SpendEvent.objects.filter(tenant=tenant, usage_type=usage_type, line_item_type="Usage")
    if principal is not None:
        rows = rows.filter(iam_principal=principal)
    return rows.get()


# --- every usage-type shape ------------------------------------------------------------------------

NO_TOKENS = {"input_tokens": 0, "output_tokens": 0, "cache_read_tokens": 0, "cache_write_tokens": 0}

SHAPES = [
    (
        "USE1-Claude4.6Sonnet-input-tokens",
        ALICE,
        {"model_id": SONNET_46, "token_type": "input", "route": "in_region", "service_tier": "standard"},
        {"region": "us-east-1", "input_tokens": _tokens("17.33", K), "cost_usd": Decimal("0.0572")},
    ),
    (
        "USE1-Claude4.6Sonnet-output-tokens",
        ALICE,
        {"model_id": SONNET_46, "token_type": "output", "route": "in_region", "service_tier": "standard"},
        {"region": "us-east-1", "output_tokens": _tokens("68.579", K), "cost_usd": Decimal("1.131")},
    ),
    (
        "USE1-Claude4.6Sonnet-cache-write-input-token-count",
        ALICE,
        {"model_id": SONNET_46, "token_type": "cache_write", "route": "in_region", "service_tier": "standard"},
        {"region": "us-east-1", "cache_write_tokens": _tokens("831.74", K), "cost_usd": Decimal("3.4309")},
    ),
    (
        "USE1-Claude4.6Sonnet-cache-read-input-token-count",
        ALICE,
        {"model_id": SONNET_46, "token_type": "cache_read", "route": "in_region", "service_tier": "standard"},
        {"region": "us-east-1", "cache_read_tokens": _tokens("5372.659", K), "cost_usd": Decimal("1.77297747")},
    ),
    (
        "USE1-Claude4.6Sonnet-input-tokens-cross-region-global",
        API_KEY,
        {"model_id": SONNET_46, "token_type": "input", "route": "global", "service_tier": "standard"},
        {"region": "us-east-1", "input_tokens": _tokens("100", K), "cost_usd": Decimal("0.3")},
    ),
    (
        "EUC1-Claude4.5Sonnet-output-tokens-cross-region-eu",
        APP_ROLE,
        {"model_id": SONNET_45, "token_type": "output", "route": "geo", "service_tier": "standard"},
        {"region": "eu-central-1", "output_tokens": _tokens("10", K), "cost_usd": Decimal("0.165")},
    ),
    (
        "USE1-NovaLite-input-tokens-batch",
        FEDERATED,
        {"model_id": NOVA_LITE, "token_type": "input", "route": "in_region", "service_tier": "batch"},
        {"region": "us-east-1", "input_tokens": _tokens("1000", K), "cost_usd": Decimal("0.03")},
    ),
    (
        "USE1-NovaPro-output-tokens-flex",
        SSO,
        {"model_id": NOVA_PRO, "token_type": "output", "route": "in_region", "service_tier": "flex"},
        {"region": "us-east-1", "output_tokens": _tokens("50", K), "cost_usd": Decimal("0.08")},
    ),
    (
        "USE1-Claude4.6Sonnet-output-tokens-priority",
        AGENTCORE,
        {"model_id": SONNET_46, "token_type": "output", "route": "in_region", "service_tier": "priority"},
        {"region": "us-east-1", "output_tokens": _tokens("2", K), "cost_usd": Decimal("0.05775")},
    ),
    (
        "USE1-Llama3.3-70B-input-tokens",
        ALICE,
        {"model_id": LLAMA_33, "token_type": "input", "route": "in_region", "service_tier": "standard"},
        {"region": "us-east-1", "input_tokens": _tokens("100", K), "cost_usd": Decimal("0.072")},
    ),
    (
        "USE1-Nova2.0Lite-cache-read-input-token-count",
        APP_ROLE,
        {"model_id": NOVA_2_LITE, "token_type": "cache_read", "route": "in_region", "service_tier": "standard"},
        {"region": "us-east-1", "cache_read_tokens": _tokens("40", K), "cost_usd": Decimal("0.0033")},
    ),
]


@pytest.mark.parametrize(("usage_type", "principal", "what", "how_much"), SHAPES, ids=[s[0] for s in SHAPES])
def test_each_token_usage_type_lands_with_model_route_tier_tokens_and_exact_cost(
    tenant: Tenant, usage_type: str, principal: str, what: dict, how_much: dict
) -> None:
    _import(tenant)

    event = _usage(tenant, usage_type, principal)

    assert {k: getattr(event, k) for k in what} == what
    expected = {**NO_TOKENS, **how_much}
    assert {k: getattr(event, k) for k in expected} == expected
    assert event.record_kind == "billed_line"
    assert event.cost_basis == "billed"
    assert event.requests == 0
    assert isinstance(event.cost_usd, Decimal)


@pytest.mark.parametrize(
    ("usage_type", "token_field", "section_f_per_million"),
    [
        ("USE1-Claude4.6Sonnet-input-tokens", "input_tokens", "3.30"),
        ("USE1-Claude4.6Sonnet-output-tokens", "output_tokens", "16.50"),
        ("USE1-Claude4.6Sonnet-cache-write-input-token-count", "cache_write_tokens", "4.125"),
        ("USE1-Claude4.6Sonnet-cache-read-input-token-count", "cache_read_tokens", "0.33"),
    ],
)
def test_the_blog_rows_bill_at_the_regional_sonnet_4_6_rates_of_section_f(
    tenant: Tenant, usage_type: str, token_field: str, section_f_per_million: str
) -> None:
    _import(tenant)

    event = _usage(tenant, usage_type, ALICE)

    per_million = event.cost_usd / getattr(event, token_field) * M
    # The blog rounds billed dollars to 4 decimals; the rate must agree to 0.1%.
    assert abs(per_million - Decimal(section_f_per_million)) / Decimal(section_f_per_million) < Decimal("0.001")


def test_provisioned_throughput_hours_are_model_unit_hours_not_tokens(tenant: Tenant) -> None:
    _import(tenant)

    event = _usage(tenant, "USE1-Nova2.0Lite-ProvisionedThroughput-NoCommit-ModelUnits")

    assert event.model_id == NOVA_2_LITE
    assert event.token_type == "model_unit_hour"
    assert event.service_tier == "provisioned"
    assert event.units == Decimal(24)
    assert event.unit == "model-unit hours"
    assert event.cost_usd == Decimal(24) * Decimal("60.50")
    assert {k: getattr(event, k) for k in NO_TOKENS} == NO_TOKENS
    assert event.iam_principal == ""


def test_marketplace_units_are_derived_from_the_rate_and_the_model_from_the_product_name(tenant: Tenant) -> None:
    _import(tenant)

    event = _usage(tenant, "USE1-MP:USE1_InputTokenCount-Units")

    # $0.2 for 250 "Units" is $0.0008 a unit; Claude 3.5 Haiku input is $0.80 per 1M tokens, so a unit is 1K tokens.
    assert event.model_id == HAIKU_35
    assert event.model_provider == "Anthropic"
    assert event.token_type == "input"
    assert event.input_tokens == 250 * 1000
    assert event.cost_usd == Decimal("0.2")
    assert "derived" in event.unit
    assert event.list_cost_usd == Decimal(0)  # Marketplace rows carry $0 public on-demand cost


def test_marketplace_row_priced_per_million_tokens_reads_the_unit(tenant: Tenant) -> None:
    _import(tenant)

    event = _usage(tenant, "USE1-MP:USE1_OutputTokenCount-Units")

    assert event.model_id == HAIKU_45
    assert event.token_type == "output"
    assert event.output_tokens == _tokens("0.5", M)
    assert event.cost_usd == Decimal("2.75")
    assert event.iam_principal == BOB


@pytest.mark.parametrize(
    ("line_item_type", "usage_type", "cost", "usage_date"),
    [
        ("Credit", "USE1-Claude4.6Sonnet-input-tokens", Decimal("-5"), date(2026, 6, 1)),
        ("Refund", "USE1-Claude4.6Sonnet-output-tokens", Decimal("-0.5"), date(2026, 6, 3)),
        ("Tax", "", Decimal("0.42"), date(2026, 6, 1)),
    ],
)
def test_credits_refunds_and_tax_are_kept_with_their_type_and_sign_but_no_tokens(
    tenant: Tenant, line_item_type: str, usage_type: str, cost: Decimal, usage_date: date
) -> None:
    _import(tenant)

    event = SpendEvent.objects.get(tenant=tenant, line_item_type=line_item_type)

    assert event.usage_type == usage_type
    assert event.cost_usd == cost
    assert event.cost_basis == "billed"
    assert event.usage_date == usage_date
    assert event.billing_period == date(2026, 6, 1)
    assert {k: getattr(event, k) for k in NO_TOKENS} == NO_TOKENS


def test_non_bedrock_rows_are_skipped_and_counted(tenant: Tenant) -> None:
    run = _import(tenant)

    # 19 data lines: 18 Bedrock rows and one AmazonEC2 row.
    assert (run.rows_read, run.rows_loaded, run.rows_skipped, run.rows_rejected) == (19, 18, 1, 0)
    assert run.skipped_reasons == {"not a Bedrock row": 1}
    assert run.status == ImportRun.Status.SUCCEEDED
    assert not SpendEvent.objects.filter(tenant=tenant, usage_type__contains="BoxUsage").exists()


def test_the_billed_total_is_the_exact_sum_of_the_bedrock_rows(tenant: Tenant) -> None:
    _import(tenant)

    bedrock_costs = [
        "0.0572", "1.131", "3.4309", "1.77297747", "0.3", "0.165", "0.03", "0.08", "0.05775",
        "1452", "0.2", "2.75", "-5", "-0.5", "0.42", "0.33", "0.072", "0.0033",
    ]  # fmt: skip
    total = sum(SpendEvent.objects.filter(tenant=tenant).values_list("cost_usd", flat=True), Decimal(0))
    assert total == sum((Decimal(c) for c in bedrock_costs), Decimal(0))


# --- principals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arn", "principal_type", "principal_name", "role_name"),
    [
        (ALICE, "iam_user", "alice", ""),
        (API_KEY, "api_key", "BedrockAPIKey-234s", ""),
        (APP_ROLE, "assumed_role", "session-123", "AppRole"),
        (FEDERATED, "federated_user", "user-1@acme.org", "BedrockRole"),
        (SSO, "sso_user", "jane.doe", "AWSReservedSSO_DataScience_0123456789abcdef"),
        (AGENTCORE, "service", "BedrockAgentCore-0b425b4e-1a2b-4c3d-8e9f-001122334455", "AgentRuntimeRole"),
    ],
)
def test_every_principal_shape_is_classified(
    tenant: Tenant, arn: str, principal_type: str, principal_name: str, role_name: str
) -> None:
    _import(tenant)

    events = SpendEvent.objects.filter(tenant=tenant, iam_principal=arn)

    assert events.exists()
    assert set(events.values_list("principal_type", "principal_name", "role_name")) == {
        (principal_type, principal_name, role_name)
    }


def test_rows_without_a_principal_have_an_empty_principal(tenant: Tenant) -> None:
    _import(tenant)

    for line_item_type in ("Credit", "Refund", "Tax"):
        event = SpendEvent.objects.get(tenant=tenant, line_item_type=line_item_type)
        assert (event.iam_principal, event.principal_type, event.principal_name) == ("", "", "")


# --- tags ------------------------------------------------------------------------------------------


def test_iam_principal_and_account_tags_fill_team_cost_center_and_environment(tenant: Tenant) -> None:
    _import(tenant)

    event = _usage(tenant, "USE1-Claude4.6Sonnet-input-tokens", ALICE)

    assert (event.team, event.cost_center, event.environment) == ("BedrockDataScience", "12345", "prod")
    assert event.tags["iamPrincipal/cost-center"] == "12345"  # kept as delivered, hyphen and all


def test_resource_tags_in_the_tags_column_fill_application(tenant: Tenant) -> None:
    _import(tenant)

    event = _usage(tenant, "EUC1-Claude4.5Sonnet-output-tokens-cross-region-eu")

    assert (event.team, event.application, event.environment) == ("platform", "chat-ui", "staging")
    assert event.tags == {
        "iamPrincipal/team": "platform",
        "resourceTags/application": "chat-ui",
        "accountTag/environment": "staging",
    }


def test_application_inference_profile_row_takes_team_and_application_from_resource_tags(tenant: Tenant) -> None:
    _import(tenant)

    event = _usage(tenant, "USE1-Claude4.6Sonnet-output-tokens", SUPPORT_BOT)

    assert event.inference_profile_arn == APP_PROFILE
    assert (event.team, event.application) == ("search", "support-bot")
    assert event.tags == {"resource_tags/user_team": "search", "resource_tags/user_application": "support-bot"}
    assert event.output_tokens == _tokens("20", K)


def test_a_tenant_tag_mapping_override_changes_the_team(tenant: Tenant) -> None:
    tenant.settings = {"tag_mapping": {"team": ["iamPrincipal/squad"]}}
    tenant.save()

    _import(tenant)

    alice = _usage(tenant, "USE1-Claude4.6Sonnet-input-tokens", ALICE)
    platform = _usage(tenant, "EUC1-Claude4.5Sonnet-output-tokens-cross-region-eu")
    assert alice.team == "falcons"
    assert platform.team == ""  # its only team tag is iamPrincipal/team, which this tenant does not use
    assert alice.cost_center == "12345"  # other dimensions keep the default mapping


def test_the_default_mapping_is_untouched_for_another_tenant(tenant: Tenant, other_tenant: Tenant) -> None:
    tenant.settings = {"tag_mapping": {"team": ["iamPrincipal/squad"]}}
    tenant.save()

    _import(tenant)
    _import(other_tenant)

    assert _usage(other_tenant, "USE1-Claude4.6Sonnet-input-tokens", ALICE).team == "BedrockDataScience"


# --- map columns and timestamps in CSV -------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", {}),
        (None, {}),
        ("{}", {}),
        ('{"user_team":"ds","user_cost_center":"12345"}', {"user_team": "ds", "user_cost_center": "12345"}),
        ([("user_team", "ds"), ("user_note", None)], {"user_team": "ds", "user_note": ""}),  # a Parquet map
    ],
)
def test_map_columns_accept_empty_braces_json_text_and_parquet_pairs(value: object, expected: dict) -> None:
    assert parse_map(value, field_name="resource_tags") == expected


def test_a_map_column_that_is_not_json_is_an_error_naming_the_column() -> None:
    with pytest.raises(ValueError, match="resource_tags"):
        parse_map("user_team=ds", field_name="resource_tags")


def test_map_columns_empty_braces_and_json_all_load_from_the_csv(tenant: Tenant) -> None:
    _import(tenant)

    empty = _usage(tenant, "USE1-Nova2.0Lite-cache-read-input-token-count")  # tags column empty
    braces = _usage(tenant, "USE1-Claude4.6Sonnet-input-tokens-cross-region-global")  # product `{}`
    assert empty.tags == {}
    assert braces.tags == {"iamPrincipal/team": "mobile"}


def test_timestamps_with_and_without_milliseconds_are_the_same_utc_instant(tenant: Tenant) -> None:
    assert parse_timestamp("2026-06-03T00:00:00.000Z") == parse_timestamp("2026-06-03T00:00:00Z")
    _import(tenant)

    with_ms = _usage(tenant, "USE1-Claude4.6Sonnet-input-tokens", ALICE)  # written `...00.000Z`
    without = _usage(tenant, "USE1-Claude4.6Sonnet-input-tokens-cross-region-global")  # written `...00Z`
    assert with_ms.usage_start == without.usage_start == datetime(2026, 6, 3, tzinfo=UTC)
    assert with_ms.usage_end == datetime(2026, 6, 4, tzinfo=UTC)
    assert with_ms.billing_period == without.billing_period == date(2026, 6, 1)


def test_the_parser_returns_nothing_for_a_non_bedrock_record() -> None:
    record = {
        "line_item_product_code": "AmazonEC2",
        "product_product_family": "Compute Instance",
        "line_item_usage_type": "USE1-BoxUsage:t3.micro",
        "line_item_operation": "RunInstances",
        "line_item_unblended_cost": "0.2496",
        "line_item_usage_start_date": "2026-06-03T00:00:00Z",
        "product": '{"product_name":"Amazon Elastic Compute Cloud"}',
    }

    assert parse_cur_row(record, file="x.csv", line=2) is None


# --- broken input ----------------------------------------------------------------------------------


def test_broken_rows_are_rejected_with_file_and_line_and_the_rest_loads(tenant: Tenant) -> None:
    run = _import(tenant, mf.CUR_BROKEN_CSV)

    # Line 1 header; lines 2-3 one row whose description holds a newline; line 4 has 12 of 31 fields;
    # line 5 has cost "n/a"; line 6 is good.
    assert (run.rows_read, run.rows_loaded, run.rows_rejected) == (4, 2, 2)
    assert run.status == ImportRun.Status.PARTIAL
    rejected = {(s["file"], s["line"]): s["reason"] for s in run.rejected_samples}
    assert set(rejected) == {(str(mf.CUR_BROKEN_CSV), 4), (str(mf.CUR_BROKEN_CSV), 5)}
    assert "expected 31 fields, found 12" in rejected[(str(mf.CUR_BROKEN_CSV), 4)]
    assert "line_item_unblended_cost" in rejected[(str(mf.CUR_BROKEN_CSV), 5)]
    assert "'n/a'" in rejected[(str(mf.CUR_BROKEN_CSV), 5)]
    costs = sorted(SpendEvent.objects.filter(tenant=tenant).values_list("cost_usd", flat=True))
    assert costs == [Decimal("0.0006"), Decimal("0.0024")]


def test_a_file_missing_required_columns_fails_with_a_clear_message(tenant: Tenant) -> None:
    with pytest.raises(FileUnreadable, match=r"missing column\(s\) line_item_usage_type"):
        list(iter_cur_file(mf.NOT_CUR_CSV))

    run = _import(tenant, mf.NOT_CUR_CSV)

    assert run.status == ImportRun.Status.FAILED
    assert "not a CUR 2.0 file" in run.message
    assert "line_item_unblended_cost" in run.message
    assert "line_item_usage_start_date" in run.message
    assert not SpendEvent.objects.filter(tenant=tenant).exists()


# --- the same content in three formats -------------------------------------------------------------

COMPARED = [
    f.attname for f in SpendEvent._meta.concrete_fields if f.attname not in {"id", "tenant_id", "import_run_id"}
]
COMPARED.remove("dedupe_key")


def _ledger(tenant: Tenant) -> list[tuple]:
    return sorted(SpendEvent.objects.filter(tenant=tenant).values_list(*COMPARED), key=repr)


def test_parquet_and_csv_gz_give_the_same_ledger_rows_as_the_csv(
    tenant: Tenant, other_tenant: Tenant, cur_csv_gz_manifest: Path, cur_parquet_manifest: Path
) -> None:
    third = Tenant.objects.create(slug="initech", name="Initech")

    runs = [_import(tenant), _import(other_tenant, cur_csv_gz_manifest), _import(third, cur_parquet_manifest)]

    assert [(r.rows_read, r.rows_loaded, r.rows_skipped, r.rows_rejected) for r in runs] == [(19, 18, 1, 0)] * 3
    from_csv = _ledger(tenant)
    assert len(from_csv) == 18
    assert _ledger(other_tenant) == from_csv
    assert _ledger(third) == from_csv
