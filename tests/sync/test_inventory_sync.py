"""The inventory source: the Bedrock control plane (botocore's Stubber: moto lacks these calls) into the
inventory tables, then into the ledger: profile ARNs resolved and re-priced, profile tags as attribution,
LEGACY lifecycles for the deprecation recommender; one denied call degrades alone; the admin is read-only
and tenant-scoped. Expected dollars are computed from the test's own prices."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from django.test import Client
from moto import mock_aws

from connections import aws
from connections.models import AuditLog, AwsConnection, Tenant
from finops.explorer.query import ExplorerQuery
from finops.explorer.selectors import totals
from finops.ledger.models import ModelAlias, ModelCatalog, ModelPrice, SpendEvent
from finops.ledger.rollups import rollup_check
from ingestion.models import SyncRun
from ingestion.services import import_cur, import_invocation_logs
from ingestion.sync.base import Target
from ingestion.sync.inventory import sync_inventory
from ingestion.sync.services import sync_connection
from inventory.models import FoundationModel, InferenceProfile, LoggingConfiguration, ProvisionedThroughput
from recommendations.recommenders import deprecated_model
from recommendations.selectors import recommender_inputs
from tests.factories import ledger_row
from tests.ingestion import malformed as bad

ACCOUNT = "123456789012"  # the account of the log and CUR fixtures
REGION = "us-east-1"
PROFILE = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:application-inference-profile/t3stpr0f1le1"
OTHER_PROFILE = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:application-inference-profile/0th3rpr0f1le"
PT_ARN = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:provisioned-model/pt0000000001"
TEST_MODEL = "acme.testmodel-v1:0"  # the catalog model made for these tests, priced by them
PRICE_IN, PRICE_OUT = Decimal("2.00"), Decimal("8.00")  # per 1M tokens
M = Decimal(1_000_000)
WHEN = datetime(2026, 6, 1, tzinfo=UTC)


def fm_arn(model_id: str, region: str = REGION) -> str:
    return f"arn:aws:bedrock:{region}::foundation-model/{model_id}"


@pytest.fixture
def connection(tenant: Tenant) -> AwsConnection:
    return AwsConnection.objects.create(
        tenant=tenant, name="prod", account_id=ACCOUNT, role_arn=f"arn:aws:iam::{ACCOUNT}:role/finops", regions=[REGION]
    )


@pytest.fixture
def test_model(db: Any) -> ModelCatalog:
    model = ModelCatalog.objects.create(
        model_id="acme.testmodel", name="Acme Test", provider="Acme", family="acme", tier="balanced"
    )
    ModelAlias.objects.create(model=model, alias=TEST_MODEL, kind="runtime_id")
    for token_type, price in (("input", PRICE_IN), ("output", PRICE_OUT)):
        ModelPrice.objects.create(model=model, token_type=token_type, price_usd=price, unit="1M tokens",
                                  effective_from=date(2025, 1, 1), source="test", as_of=date(2026, 1, 1))  # fmt: skip
    return model


# --- the stubbed control plane -----------------------------------------------------------------------------


def profile(arn: str = PROFILE, name: str = "support-bot", models: list[str] | None = None) -> dict[str, Any]:
    return {
        "inferenceProfileName": name,
        "inferenceProfileArn": arn,
        "inferenceProfileId": arn.rsplit("/", 1)[1],
        "models": [{"modelArn": a} for a in (models or [fm_arn(TEST_MODEL), fm_arn(TEST_MODEL, "us-west-2")])],
        "status": "ACTIVE",
        "type": "APPLICATION",
        "createdAt": WHEN,
        "updatedAt": WHEN,
    }


def provisioned(units: int = 2, status: str = "InService") -> dict[str, Any]:
    return {
        "provisionedModelName": "nova-pt",
        "provisionedModelArn": PT_ARN,
        "modelArn": fm_arn("amazon.nova-lite-v1:0:300k"),
        "desiredModelArn": fm_arn("amazon.nova-lite-v1:0:300k"),
        "foundationModelArn": fm_arn("amazon.nova-lite-v1:0:300k"),
        "modelUnits": units,
        "desiredModelUnits": units,
        "status": status,
        "commitmentDuration": "OneMonth",
        "commitmentExpirationTime": WHEN + timedelta(days=30),
        "creationTime": WHEN,
        "lastModifiedTime": WHEN,
    }


def foundation_model(model_id: str, lifecycle: str = "ACTIVE", provider: str = "Amazon") -> dict[str, Any]:
    return {
        "modelArn": fm_arn(model_id),
        "modelId": model_id,
        "modelName": model_id,
        "providerName": provider,
        "inputModalities": ["TEXT"],
        "outputModalities": ["TEXT"],
        "inferenceTypesSupported": ["ON_DEMAND"],
        "modelLifecycle": {"status": lifecycle},
    }


LOGGING_ON = {
    "cloudWatchConfig": {"logGroupName": "/aws/bedrock/invocations", "roleArn": f"arn:aws:iam::{ACCOUNT}:role/logs"},
    "textDataDeliveryEnabled": False,
    "imageDataDeliveryEnabled": False,
    "embeddingDataDeliveryEnabled": False,
}
DEFAULT_TAGS = {PROFILE: {"team": "search-platform", "cost-center": "cc-42"}, OTHER_PROFILE: {}}


def control_plane(
    *,
    profiles: list[dict[str, Any]] | None = None,
    tags: dict[str, dict[str, str]] | None = None,
    pts: list[dict[str, Any]] | None = None,
    models: list[dict[str, Any]] | None = None,
    logging: dict[str, Any] | None = None,
    deny: frozenset[str] = frozenset(),
) -> Any:
    """A bedrock client answering the inventory's calls in the order it makes them (`deny`: operations that
    answer AccessDeniedException)."""
    client = boto3.client("bedrock", region_name=REGION)
    stub = Stubber(client)
    profiles = [profile()] if profiles is None else profiles
    tags = DEFAULT_TAGS if tags is None else tags

    def answer(operation: str, response: dict[str, Any], params: dict[str, Any]) -> None:
        if operation in deny:
            stub.add_client_error(operation, "AccessDeniedException", "not authorized", 403, expected_params=params)
        else:
            stub.add_response(operation, response, params)

    answer("list_inference_profiles", {"inferenceProfileSummaries": profiles}, {"typeEquals": "APPLICATION"})
    if "list_inference_profiles" not in deny:
        for item in profiles:
            arn = item["inferenceProfileArn"]
            answer("list_tags_for_resource", {"tags": [{"key": k, "value": v} for k, v in tags.get(arn, {}).items()]},
                   {"resourceARN": arn})  # fmt: skip
            if "list_tags_for_resource" in deny:
                break  # asked once: the others would get the same answer
    answer("list_provisioned_model_throughputs", {"provisionedModelSummaries": [provisioned()] if pts is None else pts},
           {})  # fmt: skip
    answer("list_foundation_models", {"modelSummaries": models or [foundation_model(TEST_MODEL)]}, {})
    answer("get_model_invocation_logging_configuration", {"loggingConfig": LOGGING_ON if logging is None else logging},
           {})  # fmt: skip
    stub.activate()
    client.stub = stub
    return client


def run(connection: AwsConnection, client: Any, region: str = REGION) -> Any:
    target = Target(connection=connection, account_id=ACCOUNT, region=region, session=boto3.session.Session())
    result = sync_inventory(target, watermark={}, since=WHEN, until=WHEN, checkpoint=lambda _: None,
                            say=lambda _: None, bedrock=client)  # fmt: skip
    client.stub.assert_no_pending_responses()
    return result


# --- the inventory tables ------------------------------------------------------------------------------------


def test_it_stores_profiles_provisioned_throughput_models_and_logging(tenant, connection, test_model) -> None:
    result = run(connection, control_plane(models=[foundation_model(TEST_MODEL), foundation_model("x.y-v1", "LEGACY")]))

    assert result.status == "succeeded", result.error
    item = InferenceProfile.objects.get(tenant=tenant)
    assert (item.arn, item.name, item.catalog_model_id, item.account_id, item.region) == (
        PROFILE, "support-bot", "acme.testmodel", ACCOUNT, REGION
    )  # fmt: skip
    assert item.model_ids == [TEST_MODEL] and item.tags == DEFAULT_TAGS[PROFILE] and item.gone_at is None
    pt = ProvisionedThroughput.objects.get(tenant=tenant)
    assert (pt.model_units, pt.commitment_duration, pt.catalog_model_id) == (2, "OneMonth", "amazon.nova-lite-v1:0")
    assert pt.commitment_expires_at == WHEN + timedelta(days=30) and pt.model_id == "amazon.nova-lite-v1:0:300k"
    lifecycles = dict(FoundationModel.objects.filter(tenant=tenant).values_list("model_id", "lifecycle"))
    assert lifecycles == {TEST_MODEL: "ACTIVE", "x.y-v1": "LEGACY"}
    logging = LoggingConfiguration.objects.get(tenant=tenant, account_id=ACCOUNT, region=REGION)
    assert logging.enabled and logging.cloudwatch_log_group == "/aws/bedrock/invocations" and not logging.s3_bucket
    assert result.items_fetched == 1 + 1 + 2 + 1


def test_a_second_sync_updates_and_marks_what_is_gone(tenant, connection, test_model) -> None:
    run(connection, control_plane(profiles=[profile(), profile(OTHER_PROFILE, "batch")]))

    run(connection, control_plane(profiles=[profile()], pts=[provisioned(units=4)], logging={}))

    assert InferenceProfile.objects.get(arn=OTHER_PROFILE).gone_at is not None  # kept, marked gone
    assert InferenceProfile.objects.get(arn=PROFILE).gone_at is None
    assert ProvisionedThroughput.objects.get(arn=PT_ARN).model_units == 4
    assert not LoggingConfiguration.objects.get(tenant=tenant).enabled

    run(connection, control_plane(profiles=[profile(), profile(OTHER_PROFILE, "batch")]))
    assert InferenceProfile.objects.get(arn=OTHER_PROFILE).gone_at is None  # listed again: present again
    assert InferenceProfile.objects.filter(tenant=tenant).count() == 2


# --- one denied call degrades alone --------------------------------------------------------------------------


def test_provisioned_throughput_denied_leaves_the_rest_synced(tenant, connection, test_model) -> None:
    result = run(connection, control_plane(deny=frozenset({"list_provisioned_model_throughputs"})))

    assert result.status == "partial"
    assert "ListProvisionedModelThroughputs" in result.error
    assert (
        "BedrockFinOpsProvisionedRead" in result.remedy and "bedrock:ListProvisionedModelThroughputs" in result.remedy
    )
    assert result.details["failed_parts"] == ["provisioned_throughput"]
    assert InferenceProfile.objects.filter(tenant=tenant).exists()
    assert FoundationModel.objects.filter(tenant=tenant).exists()
    assert LoggingConfiguration.objects.filter(tenant=tenant).exists()
    assert not ProvisionedThroughput.objects.filter(tenant=tenant).exists()


def test_logging_configuration_denied_gives_its_remedy(tenant, connection, test_model) -> None:
    result = run(connection, control_plane(deny=frozenset({"get_model_invocation_logging_configuration"})))

    assert result.status == "partial" and result.details["failed_parts"] == ["logging_configuration"]
    assert "BedrockFinOpsLoggingConfigRead" in result.remedy
    assert ProvisionedThroughput.objects.filter(tenant=tenant).exists()


def test_tags_denied_keeps_the_profiles_and_their_earlier_tags(tenant, connection, test_model) -> None:
    run(connection, control_plane())

    result = run(connection, control_plane(deny=frozenset({"list_tags_for_resource"})))

    assert result.status == "partial" and result.details["failed_parts"] == ["profile_tags"]
    assert "bedrock:ListTagsForResource" in result.remedy
    assert InferenceProfile.objects.get(arn=PROFILE).tags == DEFAULT_TAGS[PROFILE]


def test_everything_denied_fails(tenant, connection) -> None:
    calls = {"list_inference_profiles", "list_provisioned_model_throughputs", "list_foundation_models",
             "get_model_invocation_logging_configuration"}  # fmt: skip
    result = run(connection, control_plane(deny=frozenset(calls)))

    assert result.status == "failed"
    assert len(result.details["failed_parts"]) == 4 and "BedrockFinOpsInventoryRead" in result.remedy


def test_an_emulator_without_the_inventory_calls_is_noted_not_failed(tenant, connection, settings) -> None:
    settings.FINOPS_AWS_REGION = REGION
    aws.clear_credential_cache()
    with mock_aws():  # moto answers the logging configuration only
        session = boto3.session.Session(region_name=REGION)
        target = Target(connection=connection, account_id=ACCOUNT, region=REGION, session=session)
        result = sync_inventory(target, watermark={}, since=WHEN, until=WHEN, checkpoint=lambda _: None,
                                say=lambda _: None)  # fmt: skip

    assert result.status == "succeeded", result.error
    assert set(result.details["unavailable"]) == {"inference_profiles", "provisioned_throughput", "foundation_models"}
    assert not LoggingConfiguration.objects.get(tenant=tenant).enabled  # moto: logging not configured


# --- the ledger learns from the inventory -------------------------------------------------------------------


def profile_records() -> list[dict[str, Any]]:
    """Three requests naming the profile ARN (no cache tokens); the first keeps its own team tag."""
    records = bad.many_log_records(3)
    for n, record in enumerate(records):
        record.update(modelId=PROFILE, accountId=ACCOUNT, region=REGION)
        record["identity"] = {"arn": f"arn:aws:iam::{ACCOUNT}:user/profile-user"}  # no bill tags to reconcile from
        record["input"]["cacheReadInputTokenCount"] = record["input"]["cacheWriteInputTokenCount"] = 0
        record["input"]["inputTokenCount"] = 1000 * (n + 1) + 7
        record["output"]["outputTokenCount"] = 100 * (n + 1) + 3
        if n == 0:
            record["requestMetadata"] = {"team": "own-team"}
        else:
            record.pop("requestMetadata", None)
    return records


def profile_bill_line() -> dict[str, str]:
    """A bill line for the profile whose usage type names no model the catalog knows."""
    row = dict(bad.bedrock_rows()[0])
    row.update(
        identity_line_item_id="profile-line-1",
        line_item_usage_type="USE1-ZetaUnknown-input-tokens",
        line_item_resource_id=PROFILE,
        line_item_iam_principal="",
        product="{}",
        tags="{}",
        resource_tags="",
    )
    return row


@pytest.fixture
def profile_spend(tenant: Tenant, tmp_path: Path, test_model) -> list[dict[str, Any]]:
    records = profile_records()
    path = tmp_path / "logs.jsonl"
    path.write_bytes(bad.jsonl_bytes(records))
    import_invocation_logs(tenant=tenant, paths=[path])
    import_cur(tenant=tenant, paths=[bad.write_cur(tmp_path / "june.csv", [*bad.bedrock_rows(), profile_bill_line()])])
    return records


def test_profile_requests_resolve_to_the_model_and_are_repriced_by_the_right_amount(
    tenant, connection, profile_spend
) -> None:
    requests = SpendEvent.objects.filter(tenant=tenant, record_kind="request", inference_profile_arn=PROFILE)
    assert requests.count() == 3 and all(r.unpriced and r.model_id == "" for r in requests)
    query = ExplorerQuery(start=date(2026, 6, 1), end=date(2026, 6, 30), group_by=(), basis="estimated")
    estimated_before = totals(tenant, query).estimated

    result = run(connection, control_plane())

    expected = {
        r["requestId"]: r["input"]["inputTokenCount"] * PRICE_IN / M + r["output"]["outputTokenCount"] * PRICE_OUT / M
        for r in profile_spend
    }
    priced = {r.request_id: r for r in requests.all()}
    assert {k: r.cost_usd for k, r in priced.items()} == expected
    assert all(r.model_id == "acme.testmodel" and not r.unpriced for r in priced.values())
    assert totals(tenant, query).estimated - estimated_before == sum(expected.values())
    assert result.details["ledger"]["aliases_changed"] == 2  # the profile and the provisioned model
    assert ModelAlias.objects.get(alias=PROFILE.lower()).model.model_id == "acme.testmodel"
    assert AuditLog.objects.filter(tenant=tenant, action="ledger.repriced").exists()
    assert rollup_check(tenant_id=tenant.pk) == []


def test_profile_tags_fill_only_the_attribution_rows_lack(tenant, connection, profile_spend) -> None:
    run(connection, control_plane())

    teams = {
        r.request_id: (r.team, r.cost_center)
        for r in SpendEvent.objects.filter(tenant=tenant, record_kind="request", inference_profile_arn=PROFILE)
    }
    first, *others = (r["requestId"] for r in profile_spend)
    assert teams[first] == ("own-team", "cc-42")  # its own team kept, the missing cost centre filled
    assert all(teams[o] == ("search-platform", "cc-42") for o in others)
    line = SpendEvent.objects.get(tenant=tenant, record_kind="billed_line", inference_profile_arn=PROFILE)
    assert (line.team, line.model_id, line.model_ref) == ("search-platform", "acme.testmodel", "")
    untouched = SpendEvent.objects.filter(tenant=tenant).exclude(inference_profile_arn=PROFILE)
    assert not untouched.filter(team="search-platform").exists()
    assert rollup_check(tenant_id=tenant.pk) == []


def test_a_second_sync_with_nothing_new_reprices_nothing(tenant, connection, profile_spend) -> None:
    run(connection, control_plane())
    repriced = AuditLog.objects.filter(action="ledger.repriced").count()

    result = run(connection, control_plane())

    assert result.details["ledger"]["aliases_changed"] == 0
    assert result.details["ledger"]["attribution_filled"] == 0
    assert AuditLog.objects.filter(action="ledger.repriced").count() == repriced


# --- LEGACY lifecycle for the deprecation recommender --------------------------------------------------------

NOVA = "amazon.nova-lite-v1:0"  # ACTIVE in the catalog
OLD_HAIKU = "anthropic.claude-3-5-haiku-20241022-v1:0"  # LEGACY in the catalog


def request_row(tenant: Tenant, model_id: str, region: str, n: int) -> SpendEvent:
    start = datetime(2026, 6, 10, 12, tzinfo=UTC) - timedelta(days=n % 20)
    return ledger_row(
        tenant=tenant,
        record_kind="request",
        cost_basis="estimated",
        dedupe_key=f"req:{model_id}:{region}:{n}",
        usage_start=start,
        usage_end=start,
        usage_date=start.date(),
        billing_period=date(2026, 6, 1),
        account_id=ACCOUNT,
        region=region,
        model_id=model_id,
        request_id=f"{model_id}-{region}-{n}",
        requests=1,
        input_tokens=10_000,
        output_tokens=1000,
        cost_usd=Decimal("0.50"),
    )


def test_the_inventorys_lifecycle_in_the_requests_region_wins_over_the_catalog(tenant, connection) -> None:
    for n in range(10):
        request_row(tenant, NOVA, REGION, n)  # LEGACY here, says the account
        request_row(tenant, NOVA, "us-west-2", n)  # nothing listed there: the catalog's ACTIVE holds
        request_row(tenant, OLD_HAIKU, REGION, n)  # ACTIVE here, says the account
    models = [foundation_model(NOVA, "LEGACY"), foundation_model(f"{NOVA}:300k", "LEGACY"),
              foundation_model(OLD_HAIKU, "ACTIVE", "Anthropic")]  # fmt: skip
    run(connection, control_plane(profiles=[], pts=[], models=models))

    cards = deprecated_model.recommend(recommender_inputs(tenant=tenant, as_of=date(2026, 6, 10)))

    (card,) = cards
    assert card.scope == {"model_id": NOVA}
    assert card.evidence["requests"] == 10  # the us-east-1 requests only
    assert card.evidence["lifecycle_from"] == f"inventory ({REGION})"


def test_one_active_listing_keeps_a_model_active_in_the_region(tenant, connection) -> None:
    for n in range(5):
        request_row(tenant, NOVA, REGION, n)
    models = [foundation_model(NOVA, "LEGACY"), foundation_model(f"{NOVA}:300k", "ACTIVE")]
    run(connection, control_plane(profiles=[], pts=[], models=models))

    assert deprecated_model.recommend(recommender_inputs(tenant=tenant, as_of=date(2026, 6, 10))) == []


# --- through the orchestrator ---------------------------------------------------------------------------------


def test_the_orchestrator_runs_it_first_and_records_a_partial_run(
    tenant, connection, test_model, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = control_plane(deny=frozenset({"list_provisioned_model_throughputs"}))
    monkeypatch.setattr(Target, "client", lambda self, service, region=None: client)

    report = sync_connection(connection, sources=["inventory"], session_factory=lambda _c: boto3.session.Session())

    [inventory_run] = report.runs
    assert inventory_run.status == SyncRun.Status.PARTIAL
    assert "BedrockFinOpsProvisionedRead" in inventory_run.remedy
    assert InferenceProfile.objects.filter(tenant=tenant, connection=connection).count() == 1


# --- the admin: read-only, the admin's own tenants ------------------------------------------------------------

ADMIN_PAGES = {
    InferenceProfile: "inferenceprofile",
    ProvisionedThroughput: "provisionedthroughput",
    FoundationModel: "foundationmodel",
    LoggingConfiguration: "loggingconfiguration",
}


@pytest.fixture
def both_tenants(tenant: Tenant, other_tenant: Tenant, connection: AwsConnection, test_model) -> dict[str, Any]:
    theirs = AwsConnection.objects.create(tenant=other_tenant, name="globex", account_id="999988887777")
    run(connection, control_plane())
    for model in ADMIN_PAGES:
        for obj in model.objects.filter(connection=connection):
            obj.pk = None
            obj.tenant, obj.connection, obj.account_id = other_tenant, theirs, "999988887777"
            if hasattr(obj, "arn"):
                obj.arn = obj.arn.replace(ACCOUNT, "999988887777")
            obj.save()
    return {"theirs": theirs}


def test_a_customer_admin_sees_only_their_tenants_inventory(client: Client, tenant_admin, both_tenants) -> None:
    client.force_login(tenant_admin)
    for model, page in ADMIN_PAGES.items():
        listing = client.get(f"/admin/inventory/{page}/")
        assert listing.status_code == 200, page
        assert ACCOUNT.encode() in listing.content and b"999988887777" not in listing.content, page
        assert b"Globex" not in listing.content  # no tenant filter naming other tenants
        theirs = model.objects.filter(connection=both_tenants["theirs"]).first()
        assert client.get(f"/admin/inventory/{page}/{theirs.pk}/change/").status_code == 302, page


def test_the_inventory_admin_is_read_only_even_for_staff(client: Client, tenant_admin, staff, both_tenants) -> None:
    ours = InferenceProfile.objects.get(arn=PROFILE)
    for user in (tenant_admin, staff):
        client.force_login(user)
        assert client.get("/admin/inventory/inferenceprofile/add/").status_code == 403
        client.post(f"/admin/inventory/inferenceprofile/{ours.pk}/change/", {"name": "tampered"})
        assert client.post(f"/admin/inventory/inferenceprofile/{ours.pk}/delete/", {"post": "yes"}).status_code == 403
    assert InferenceProfile.objects.get(pk=ours.pk).name == "support-bot"
    client.force_login(staff)
    assert b"999988887777" in client.get("/admin/inventory/inferenceprofile/").content  # staff see every tenant


def test_a_viewer_gets_no_inventory_admin(client: Client, viewer, both_tenants) -> None:
    client.force_login(viewer)
    assert client.get("/admin/inventory/inferenceprofile/").status_code == 302
