"""Invocation logs -> ledger request rows: tokens, estimates from the section-F prices, routes,
hashing, unpriced models, skipped S3 objects and broken lines.

Fixture: tests/fixtures/invocation_logs/invocations.jsonl, one record per line:
 1 Sonnet 4.6 `us.` (cache read+write)   5 Opus 4.7 inference-profile ARN    9 errorCode, no tokens
 2 Sonnet 4.6 `global.`                   6 application-profile ARN, S3 body  10 BROKEN: negative tokens
 3 Sonnet 4.5 `eu.`                       7 BROKEN: no requestId              11 unknown model
 4 BROKEN: invalid JSON                   8 Nova Lite (AgentCore)
"""

from __future__ import annotations

import gzip
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from connections.models import AuditLog, Tenant
from finops.ledger.models import SpendEvent
from ingestion.models import ImportRun
from ingestion.services import import_invocation_logs
from tests.fixtures import make_fixtures as mf

ACCT = "123456789012"
APP_PROFILE = f"arn:aws:bedrock:us-east-1:{ACCT}:application-inference-profile/a1b2c3d4e5f6"
M = Decimal(1_000_000)
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def rid(n: int) -> str:
    return f"5b1d3f6e-0a1b-4c2d-8e3f-{n:012d}"


def per_million(*pairs: tuple[int, str]) -> Decimal:
    """Dollars for (token count, USD per 1M tokens) pairs."""
    return sum((Decimal(count) * Decimal(price) for count, price in pairs), Decimal(0)) / M


def _import(tenant: Tenant, *paths: Path) -> ImportRun:
    return import_invocation_logs(tenant=tenant, paths=list(paths or [mf.LOGS_JSONL]))


def _request(tenant: Tenant, request_id: str) -> SpendEvent:
    return SpendEvent.objects.get(tenant=tenant, request_id=request_id)


def test_good_records_load_and_broken_lines_are_rejected_with_file_line_and_reason(tenant: Tenant) -> None:
    run = _import(tenant)

    assert (run.rows_read, run.rows_loaded, run.rows_rejected) == (11, 8, 3)
    assert run.status == ImportRun.Status.PARTIAL
    reasons = {(s["file"], s["line"]): s["reason"] for s in run.rejected_samples}
    label = str(mf.LOGS_JSONL)
    assert set(reasons) == {(label, 4), (label, 7), (label, 10)}
    assert reasons[(label, 4)].startswith("not valid JSON")
    assert reasons[(label, 7)] == "requestId is missing"
    assert "inputTokenCount is negative" in reasons[(label, 10)]
    assert SpendEvent.objects.filter(tenant=tenant, record_kind="request").count() == 8


def test_sonnet_4_6_us_profile_is_priced_at_the_regional_rates_with_cache_tokens(tenant: Tenant) -> None:
    _import(tenant)

    event = _request(tenant, rid(1))

    assert (event.input_tokens, event.output_tokens, event.cache_read_tokens, event.cache_write_tokens) == (
        1000,
        500,
        2000,
        400,
    )
    # Section F, Sonnet 4.6 regional: 3.30 in / 16.50 out / 0.33 cache read / 4.125 cache write per 1M.
    assert event.cost_usd == per_million((1000, "3.30"), (500, "16.50"), (2000, "0.33"), (400, "4.125"))
    assert event.cost_usd == Decimal("0.01386")
    assert event.cost_basis == "estimated"
    assert event.record_kind == "request"
    assert event.requests == 1
    assert not event.unpriced
    assert event.model_id == "anthropic.claude-sonnet-4-6"
    assert (event.route, event.region, event.inference_region) == ("geo", "us-east-1", "us-east-2")
    assert event.latency_ms == 1234


def test_sonnet_4_6_global_profile_is_priced_at_the_global_rates(tenant: Tenant) -> None:
    _import(tenant)

    event = _request(tenant, rid(2))

    # Section F, Sonnet 4.6 global: 3.00 in / 15.00 out / 0.30 cache read per 1M.
    assert event.cost_usd == per_million((2000, "3.00"), (1000, "15.00"), (10000, "0.30"))
    assert (event.route, event.inference_region) == ("global", "us-west-2")
    assert event.cache_write_tokens == 0


def test_eu_profile_is_a_geo_route_at_the_regional_rate(tenant: Tenant) -> None:
    _import(tenant)

    event = _request(tenant, rid(3))

    assert event.model_id == "anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert (event.route, event.region, event.inference_region) == ("geo", "eu-central-1", "eu-west-3")
    assert event.cost_usd == per_million((100, "3.30"), (50, "16.50"))


def test_an_inference_profile_arn_resolves_to_its_model_and_route(tenant: Tenant) -> None:
    _import(tenant)

    event = _request(tenant, rid(4))

    assert event.model_id == "anthropic.claude-opus-4-7"
    assert event.route == "geo"
    assert event.cost_usd == per_million((10, "5.50"), (20, "27.50"))


def test_an_application_profile_is_kept_and_left_unpriced_never_zero(tenant: Tenant) -> None:
    _import(tenant)

    event = _request(tenant, rid(5))

    assert event.inference_profile_arn == APP_PROFILE
    assert event.model_id == ""
    assert event.unpriced is True
    assert event.cost_usd is None
    assert (event.input_tokens, event.output_tokens, event.cache_write_tokens) == (3, 120, 28857)
    # The body was delivered to S3 (large-data delivery): the path is hashed, never stored.
    assert HEX64.match(event.prompt_hash)
    assert event.latency_ms is None


def test_nova_lite_in_region_is_priced_and_the_agentcore_caller_is_a_service(tenant: Tenant) -> None:
    _import(tenant)

    event = _request(tenant, rid(6))

    assert event.cost_usd == per_million((4, "0.06"), (38, "0.24"))
    assert (event.route, event.inference_region) == ("in_region", "us-east-1")
    assert event.principal_type == "service"
    assert (event.agent_id, event.session_id) == ("agentcore-runtime-1", "sess-agent-9")


def test_a_failed_call_keeps_its_error_code_and_costs_nothing(tenant: Tenant) -> None:
    _import(tenant)

    event = _request(tenant, rid(7))

    assert event.error_code == "ThrottlingException"
    assert event.cost_usd == Decimal(0)
    assert not event.unpriced


def test_an_unknown_model_is_unpriced_with_no_cost_and_keeps_its_raw_id(tenant: Tenant) -> None:
    _import(tenant)

    event = _request(tenant, rid(8))

    assert event.unpriced is True
    assert event.cost_usd is None
    assert event.model_id == ""
    assert event.model_ref == "acme.mystery-model-v1:0"
    assert (event.input_tokens, event.output_tokens) == (10, 10)


@pytest.mark.parametrize(
    ("request_number", "principal_type", "principal_name", "role_name"),
    [
        (1, "iam_user", "alice", ""),
        (2, "api_key", "BedrockAPIKey-234s", ""),
        (3, "assumed_role", "session-123", "AppRole"),
        (4, "federated_user", "user-1@acme.org", "BedrockRole"),
        (5, "sso_user", "jane.doe", "AWSReservedSSO_DataScience_0123456789abcdef"),
        (6, "service", "BedrockAgentCore-0b425b4e-1a2b-4c3d-8e9f-001122334455", "AgentRuntimeRole"),
    ],
)
def test_every_caller_shape_is_classified(
    tenant: Tenant, request_number: int, principal_type: str, principal_name: str, role_name: str
) -> None:
    _import(tenant)

    event = _request(tenant, rid(request_number))

    assert (event.principal_type, event.principal_name, event.role_name) == (principal_type, principal_name, role_name)


def test_request_metadata_maps_to_the_attribution_dimensions(tenant: Tenant) -> None:
    _import(tenant)

    event = _request(tenant, rid(1))
    traced = _request(tenant, rid(2))

    assert {
        "team": event.team,
        "application": event.application,
        "user_id": event.user_id,
        "agent_id": event.agent_id,
        "workflow_id": event.workflow_id,
        "session_id": event.session_id,
        "environment": event.environment,
    } == {
        "team": "search",
        "application": "support-bot",
        "user_id": "u-42",
        "agent_id": "triage-agent",
        "workflow_id": "wf-7",
        "session_id": "sess-1",
        "environment": "prod",
    }
    assert event.tags["workflow"] == "wf-7"
    assert (traced.team, traced.session_id) == ("mobile", "b956002a-7c1e-4f3a-9d2b-5e6f7a8b9c0d")


# --- hashing -------------------------------------------------------------------------------------


def test_prompt_and_response_hashes_are_keyed_per_tenant(tenant: Tenant, other_tenant: Tenant) -> None:
    _import(tenant)
    _import(other_tenant)

    mine, theirs = _request(tenant, rid(1)), _request(other_tenant, rid(1))

    for value in (mine.prompt_hash, mine.response_hash, theirs.prompt_hash, theirs.response_hash):
        assert HEX64.match(value)
    assert mine.prompt_hash != theirs.prompt_hash
    assert mine.response_hash != theirs.response_hash


def test_the_same_prompt_gives_the_same_hash_within_a_tenant(tenant: Tenant, log_bucket: Path) -> None:
    _import(tenant, log_bucket)

    first = _request(tenant, "7c2e4a6b-1b2c-4d3e-9f4a-000000000010")
    second = _request(tenant, "7c2e4a6b-1b2c-4d3e-9f4a-000000000011")

    assert first.prompt_hash == second.prompt_hash  # both "Classify this ticket"
    assert first.response_hash != ""


def _everything_stored(tenant: Tenant) -> str:
    rows = list(SpendEvent.objects.filter(tenant=tenant).values())
    runs = list(ImportRun.objects.filter(tenant=tenant).values())
    audit = list(AuditLog.objects.filter(tenant=tenant).values())
    return json.dumps([rows, runs, audit], default=str)


def test_raw_prompts_and_responses_are_never_stored(tenant: Tenant, log_bucket: Path) -> None:
    _import(tenant)
    _import(tenant, log_bucket)

    stored = _everything_stored(tenant)

    assert SpendEvent.objects.filter(tenant=tenant).count() == 8 + 3
    for secret in (
        "SECRET-PROMPT-ALPHA",
        "summarise the Q2 revenue",
        "SECRET-REPLY-ALPHA",
        "SECRET-PROMPT-BETA",
        "Classify this ticket",
        "SECRET-LARGE-PAYLOAD",
    ):
        assert secret not in stored
    for event in SpendEvent.objects.filter(tenant=tenant):
        assert "SECRET" not in json.dumps(event.tags)


# --- file shapes -----------------------------------------------------------------------------------


def test_the_s3_layout_loads_hourly_gzip_files_and_skips_data_and_permission_check_objects(
    tenant: Tenant, log_bucket: Path
) -> None:
    run = _import(tenant, log_bucket)

    assert (run.rows_read, run.rows_loaded, run.rows_rejected) == (3, 3, 0)
    assert run.skipped_reasons == {"large-payload data object (file)": 2, "permission-check object (file)": 1}
    assert run.rows_skipped == 3
    assert len(run.files) == 2
    assert all(f["path"].endswith(".json.gz") and "/data/" not in f["path"] for f in run.files)
    nova_global = _request(tenant, "7c2e4a6b-1b2c-4d3e-9f4a-000000000010")
    nova_us = _request(tenant, "7c2e4a6b-1b2c-4d3e-9f4a-000000000011")
    llama = _request(tenant, "7c2e4a6b-1b2c-4d3e-9f4a-000000000012")
    # Section F, Nova 2 Lite: global 0.30 / 2.50 / cache read 0.075; regional 0.33 / 2.75. Llama 3.3 70B 0.72 / 0.72.
    assert nova_global.cost_usd == per_million((1000, "0.30"), (200, "2.50"), (4000, "0.075"))
    assert nova_global.route == "global"
    assert nova_us.cost_usd == per_million((1000, "0.33"), (200, "2.75"))
    assert nova_us.route == "geo"
    assert llama.cost_usd == per_million((500, "0.72"), (500, "0.72"))
    assert (nova_global.team, nova_global.application) == ("platform", "ticket-router")


def test_a_single_gzip_file_can_be_imported_on_its_own(tenant: Tenant, log_bucket: Path) -> None:
    hour_15 = next(log_bucket.rglob("2026/06/03/15/*.json.gz"))

    run = _import(tenant, hour_15)

    assert (run.rows_read, run.rows_loaded) == (2, 2)


def test_a_pretty_printed_single_record_file_loads(tenant: Tenant) -> None:
    run = _import(tenant, mf.LOG_SINGLE_JSON)

    assert (run.rows_read, run.rows_loaded, run.rows_rejected) == (1, 1, 0)
    event = _request(tenant, "ff4b6c63-5561-4431-93b8-06a817275900")
    assert (event.input_tokens, event.output_tokens, event.latency_ms) == (4, 38, 302)
    assert event.cost_usd == per_million((4, "0.06"), (38, "0.24"))
    assert event.principal_name == "bob"


def test_a_truncated_gzip_loads_nothing_from_that_file_and_the_other_files_still_load(
    tenant: Tenant, tmp_path: Path
) -> None:
    lines = mf.LOGS_S3_RECORDS.read_bytes()
    # Many copies with fresh request ids, so the cut lands well after several batches were loaded.
    body = b"".join(lines.replace(b"-000000000", f"-{n:09d}".encode()) for n in range(200))
    packed = gzip.compress(body)
    cut = tmp_path / "20260603T140102Z_cut.json.gz"
    cut.write_bytes(packed[: len(packed) * 3 // 4])
    intact = tmp_path / "20260603T150102Z_ok.json.gz"
    intact.write_bytes(gzip.compress(lines))
    intact_records = sum(1 for line in lines.splitlines() if line.strip())

    run = import_invocation_logs(tenant=tenant, paths=[cut, intact], batch_size=50)

    errors = {f["path"]: f.get("error", "") for f in run.files}
    assert "file ends unexpectedly" in errors[str(cut)] and "nothing from this file is loaded" in errors[str(cut)]
    assert errors[str(intact)] == ""
    assert run.status == ImportRun.Status.PARTIAL
    assert run.rows_loaded == intact_records
    assert SpendEvent.objects.filter(tenant=tenant).count() == intact_records


# --- cache counts in the response body, 1-hour cache writes ------------------------------------------------

CACHE_USAGE = mf.LOG_DIR / "cache_usage.jsonl"


def test_invokemodel_claude_cache_counts_come_from_the_response_body_usage(tenant: Tenant) -> None:
    run = _import(tenant, CACHE_USAGE)

    assert (run.rows_read, run.rows_loaded, run.rows_rejected) == (3, 3, 0)
    event = _request(tenant, "7c2e9a10-4b1f-4e8e-9d61-0000000000c1")
    assert (event.input_tokens, event.cache_read_tokens, event.cache_write_tokens) == (12, 20000, 3000)
    assert (event.cache_write_1h_tokens, event.output_tokens, event.route) == (2000, 250, "geo")
    # Sonnet 4.5 on a geographic profile pays the regional price; 1-hour writes 2x input, 5-minute 1.25x.
    assert event.cost_usd == per_million((12, "3.30"), (250, "16.50"), (20000, "0.33"), (1000, "4.125"), (2000, "6.60"))


def test_converse_cache_details_split_one_hour_and_five_minute_writes(tenant: Tenant) -> None:
    _import(tenant, CACHE_USAGE)

    event = _request(tenant, "7c2e9a10-4b1f-4e8e-9d61-0000000000c2")
    assert (event.cache_write_tokens, event.cache_write_1h_tokens, event.route) == (800, 500, "global")
    assert event.cost_usd == per_million((40, "3.00"), (10, "15.00"), (300, "3.75"), (500, "6.00"))


def test_a_failed_call_with_no_tokens_costs_nothing_and_is_not_unpriced(tenant: Tenant) -> None:
    _import(tenant, CACHE_USAGE)

    event = _request(tenant, "7c2e9a10-4b1f-4e8e-9d61-0000000000c3")
    assert (event.cost_usd, event.unpriced, event.error_code) == (Decimal(0), False, "ThrottlingException")


def test_more_one_hour_writes_than_writes_is_rejected(tenant: Tenant, tmp_path: Path) -> None:
    record = json.loads(CACHE_USAGE.read_text().splitlines()[1])
    record["output"]["outputBodyJson"]["usage"]["cacheDetails"][0]["inputTokens"] = 5000
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(record) + "\n")

    run = _import(tenant, path)

    assert run.rows_rejected == 1 and "cached for 1 hour" in run.rejected_samples[0]["reason"]
