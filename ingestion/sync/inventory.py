"""The Bedrock control plane of one account and region into the inventory (inventory.models): application
inference profiles (with their tags), provisioned throughput, foundation-model lifecycles and the invocation
logging configuration. Then the ledger learns from it (ingestion.sync.profiles): profile and provisioned-model
ARNs resolve to their models, requests are re-priced when that changed, profile tags fill attribution.

Each of the four parts is read on its own: one denied call leaves the others to sync and the result partial,
with that part's remedy. A part the endpoint does not implement (an emulator) is noted, not failed.
Resources a complete listing no longer has are kept and marked gone (`gone_at`), not deleted."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.utils import timezone

from connections.aws import AwsError, aws_errors
from connections.diagnostics import connection_values, remedy_for
from finops.ledger.catalog import Catalog
from finops.ledger.selectors import catalog_load
from ingestion.sync.base import Checkpoint, Progress, SourceResult, Target, iso
from ingestion.sync.profiles import resolve_from_inventory
from inventory.models import FoundationModel, InferenceProfile, ProvisionedThroughput
from inventory.services import inventory_upsert, logging_configuration_save

PROFILES, PROVISIONED, MODELS, LOGGING, TAGS = (
    "inference_profiles", "provisioned_throughput", "foundation_models", "logging_configuration", "profile_tags",
)  # fmt: skip
ACTIONS = {
    PROFILES: ["bedrock:ListInferenceProfiles", "bedrock:GetInferenceProfile"],
    TAGS: ["bedrock:ListTagsForResource"],
    MODELS: ["bedrock:ListFoundationModels"],
}


# --- pure: AWS answers -> inventory fields ----------------------------------------------------------------


def model_id_from_arn(arn: str) -> str:
    """`arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0:300k` -> `amazon.nova-lite-v1:0:300k`."""
    return arn.split("/", 1)[1] if "/" in arn else arn


def catalog_model_id(catalog: Catalog, model_ids: list[str]) -> str:
    """The one catalog model these AWS model ids (context variants, regions) are; blank when none or several."""
    found = {m.model_id for m in (catalog.resolve_model_id(i).model for i in model_ids) if m is not None}
    return found.pop() if len(found) == 1 else ""


def profile_fields(summary: dict[str, Any], tags: dict[str, str] | None, catalog: Catalog) -> dict[str, Any]:
    model_arns = [m["modelArn"] for m in summary.get("models", []) if m.get("modelArn")]
    model_ids = list(dict.fromkeys(model_id_from_arn(a) for a in model_arns))
    return {
        "arn": summary["inferenceProfileArn"],
        "profile_id": summary.get("inferenceProfileId", ""),
        "name": summary.get("inferenceProfileName", ""),
        "description": summary.get("description", ""),
        "status": summary.get("status", ""),
        "profile_type": summary.get("type", ""),
        "model_arns": model_arns,
        "model_ids": model_ids,
        "catalog_model_id": catalog_model_id(catalog, model_ids),
        "tags": tags,  # None: not readable this time, the stored tags stay
        "created_in_aws_at": summary.get("createdAt"),
        "updated_in_aws_at": summary.get("updatedAt"),
    }


def provisioned_fields(summary: dict[str, Any], catalog: Catalog) -> dict[str, Any]:
    model_id = model_id_from_arn(summary.get("foundationModelArn") or summary.get("modelArn", ""))
    return {
        "arn": summary["provisionedModelArn"],
        "name": summary.get("provisionedModelName", ""),
        "model_arn": summary.get("modelArn", ""),
        "foundation_model_arn": summary.get("foundationModelArn", ""),
        "model_id": model_id,
        "catalog_model_id": catalog_model_id(catalog, [model_id]),
        "model_units": summary.get("modelUnits", 0),
        "desired_model_units": summary.get("desiredModelUnits", 0),
        "commitment_duration": summary.get("commitmentDuration", ""),
        "commitment_expires_at": summary.get("commitmentExpirationTime"),
        "status": summary.get("status", ""),
        "failure_message": summary.get("failureMessage", ""),
        "created_in_aws_at": summary.get("creationTime"),
        "modified_in_aws_at": summary.get("lastModifiedTime"),
    }


def foundation_model_fields(summary: dict[str, Any], catalog: Catalog) -> dict[str, Any]:
    lifecycle = summary.get("modelLifecycle") or {}
    return {
        "model_id": summary["modelId"],
        "model_arn": summary.get("modelArn", ""),
        "catalog_model_id": catalog_model_id(catalog, [summary["modelId"]]),
        "provider": summary.get("providerName", ""),
        "name": summary.get("modelName", ""),
        "lifecycle": lifecycle.get("status", ""),
        "legacy_at": lifecycle.get("legacyTime"),
        "end_of_life_at": lifecycle.get("endOfLifeTime"),
        "input_modalities": summary.get("inputModalities", []),
        "output_modalities": summary.get("outputModalities", []),
        "inference_types": summary.get("inferenceTypesSupported", []),
    }


def logging_fields(config: dict[str, Any]) -> dict[str, Any]:
    cloudwatch = config.get("cloudWatchConfig") or {}
    large = cloudwatch.get("largeDataDeliveryS3Config") or {}
    s3 = config.get("s3Config") or {}
    return {
        "enabled": bool(cloudwatch.get("logGroupName") or s3.get("bucketName")),
        "cloudwatch_log_group": cloudwatch.get("logGroupName", ""),
        "cloudwatch_role_arn": cloudwatch.get("roleArn", ""),
        "large_data_bucket": large.get("bucketName", ""),
        "large_data_prefix": large.get("keyPrefix", ""),
        "s3_bucket": s3.get("bucketName", ""),
        "s3_prefix": s3.get("keyPrefix", ""),
        "text_delivery": bool(config.get("textDataDeliveryEnabled")),
        "image_delivery": bool(config.get("imageDataDeliveryEnabled")),
        "embedding_delivery": bool(config.get("embeddingDataDeliveryEnabled")),
        "video_delivery": bool(config.get("videoDataDeliveryEnabled")),
        "audio_delivery": bool(config.get("audioDataDeliveryEnabled")),
        "config": json.loads(json.dumps(config, default=str)),
    }


# --- the control plane ---------------------------------------------------------------------------------


def fetch_profiles(client: Any) -> tuple[list[tuple[dict[str, Any], dict[str, str] | None]], AwsError | None]:
    """Application inference profiles with their tags, and the error of the tag calls if they failed (the
    profiles are still returned, their tags None). The list's summaries hold what GetInferenceProfile
    returns; it is called only for a summary that came without its models."""
    found: list[tuple[dict[str, Any], dict[str, str] | None]] = []
    tag_error: AwsError | None = None
    with aws_errors("bedrock:ListInferenceProfiles"):
        pages = client.get_paginator("list_inference_profiles").paginate(typeEquals="APPLICATION")
        summaries = [s for page in pages for s in page.get("inferenceProfileSummaries", [])]
    for summary in summaries:
        if not summary.get("models"):
            with aws_errors("bedrock:GetInferenceProfile"):
                summary = client.get_inference_profile(inferenceProfileIdentifier=summary["inferenceProfileArn"])
        tags: dict[str, str] | None = None
        if tag_error is None:
            try:
                with aws_errors("bedrock:ListTagsForResource"):
                    answer = client.list_tags_for_resource(resourceARN=summary["inferenceProfileArn"])
                tags = {t["key"]: t.get("value", "") for t in answer.get("tags", [])}
            except AwsError as exc:
                tag_error = exc  # the same role, the same answer for the others: not asked again
        found.append((summary, tags))
    return found, tag_error


def fetch_provisioned(client: Any) -> list[dict[str, Any]]:
    """Provisioned throughput; a failed one is read again for its failure message (the list omits it)."""
    with aws_errors("bedrock:ListProvisionedModelThroughputs"):
        pages = client.get_paginator("list_provisioned_model_throughputs").paginate()
        items = [s for page in pages for s in page.get("provisionedModelSummaries", [])]
    out = []
    for item in items:
        if item.get("status") == "Failed":
            with aws_errors("bedrock:GetProvisionedModelThroughput"):
                detail = client.get_provisioned_model_throughput(provisionedModelId=item["provisionedModelArn"])
            item = {**item, **detail}
        out.append(item)
    return out


def fetch_foundation_models(client: Any) -> list[dict[str, Any]]:
    with aws_errors("bedrock:ListFoundationModels"):
        return list(client.list_foundation_models().get("modelSummaries", []))


def fetch_logging(client: Any) -> dict[str, Any]:
    with aws_errors("bedrock:GetModelInvocationLoggingConfiguration"):
        return dict(client.get_model_invocation_logging_configuration().get("loggingConfig") or {})


# --- the source ------------------------------------------------------------------------------------------


def _remedy(part: str, exc: AwsError, target: Target) -> str:
    if not exc.access_denied:
        return f"Sync again later; if it keeps failing, check that Bedrock is reachable in {target.region}."
    if part == PROVISIONED:
        return remedy_for("provisioned_throughput_unreadable", target.connection, region=target.region)
    if part == LOGGING:
        return remedy_for("logging_config_unreadable", target.connection, region=target.region)
    policy = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ACTIONS[part], "Resource": "*"}]},
        separators=(",", ":"),
    )
    role = connection_values(target.connection)["role_name"] or "<role_name>"
    return (f"aws iam put-role-policy --role-name {role} --policy-name BedrockFinOpsInventoryRead "
            f"--policy-document '{policy}'")  # fmt: skip


def sync_inventory(
    target: Target,
    *,
    watermark: dict[str, Any],
    since: datetime,
    until: datetime,
    checkpoint: Checkpoint,
    say: Progress,
    bedrock: Any | None = None,
) -> SourceResult:
    """Read the four parts of the inventory, then apply profiles and provisioned models to the ledger.
    `bedrock`: a client to use instead of the target's (tests stub it)."""
    client = bedrock or target.client("bedrock")
    catalog = catalog_load()
    seen_at = timezone.now()
    scope = {"connection": target.connection, "account_id": target.account_id, "region": target.region}
    result = SourceResult(watermark={"synced_at": iso(seen_at)})
    failures: dict[str, tuple[str, str]] = {}
    unavailable: list[str] = []
    counts: dict[str, Any] = {}

    def part(name: str, read: Callable[[], Any], store: Callable[[Any], None]) -> None:
        try:
            found = read()
        except AwsError as exc:
            if exc.not_implemented or exc.unreachable:
                unavailable.append(name)
                counts[name] = f"not available here ({exc.code})"
            else:
                failures[name] = (exc.summary(), _remedy(name, exc, target))
            return
        store(found)

    def _count(name: str, listed: int, upserted: Any) -> None:
        result.items_fetched += listed
        result.rows_loaded += upserted.written
        counts[name] = {"listed": listed, "added": upserted.added, "changed": upserted.changed, "gone": upserted.gone}

    def store_profiles(found: tuple[list[tuple[dict[str, Any], dict[str, str] | None]], AwsError | None]) -> None:
        items, tag_error = found
        rows = [profile_fields(summary, tags, catalog) for summary, tags in items]
        upserted = inventory_upsert(model=InferenceProfile, key="arn", items=rows, seen_at=seen_at, **scope)
        _count(PROFILES, len(rows), upserted)
        if tag_error is not None:
            failures[TAGS] = (tag_error.summary(), _remedy(TAGS, tag_error, target))

    def store_provisioned(found: list[dict[str, Any]]) -> None:
        rows = [provisioned_fields(item, catalog) for item in found]
        upserted = inventory_upsert(model=ProvisionedThroughput, key="arn", items=rows, seen_at=seen_at, **scope)
        _count(PROVISIONED, len(rows), upserted)

    def store_models(found: list[dict[str, Any]]) -> None:
        rows = [foundation_model_fields(item, catalog) for item in found]
        upserted = inventory_upsert(model=FoundationModel, key="model_id", items=rows, seen_at=seen_at, **scope)
        _count(MODELS, len(rows), upserted)

    def store_logging(found: dict[str, Any]) -> None:
        changed = logging_configuration_save(values=logging_fields(found), seen_at=seen_at, **scope)
        result.items_fetched += 1
        result.rows_loaded += int(changed)
        counts[LOGGING] = "on" if found.get("cloudWatchConfig") or found.get("s3Config") else "off"

    part(PROFILES, lambda: fetch_profiles(client), store_profiles)
    part(PROVISIONED, lambda: fetch_provisioned(client), store_provisioned)
    part(MODELS, lambda: fetch_foundation_models(client), store_models)
    part(LOGGING, lambda: fetch_logging(client), store_logging)
    say(f"  inventory: {json.dumps(counts, default=str)}")
    resolution = resolve_from_inventory(
        connection=target.connection, account_id=target.account_id, region=target.region, catalog=catalog
    )
    result.details = {"parts": counts, "ledger": resolution.as_dict()}
    if unavailable:
        result.details["unavailable"] = unavailable
    if failures:
        result.details["failed_parts"] = sorted(failures)
        failed_parts = [name for name in failures if name != TAGS]  # tags failing leaves the profiles read
        result.status = "partial" if len(failed_parts) + len(unavailable) < 4 else "failed"
        result.error = "; ".join(f"{name.replace('_', ' ')}: {error}" for name, (error, _) in failures.items())
        result.remedy = "\n".join(remedy for _, remedy in failures.values())
    elif len(unavailable) == 4:
        return SourceResult.skipped("The Bedrock control plane here answers none of the inventory calls.", watermark)
    return result
