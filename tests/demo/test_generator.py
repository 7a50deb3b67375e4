"""The demo generator writes Acme Corp's Bedrock usage in the exact AWS formats.

Everything here reads the files back with gzip/json/csv/pyarrow, independently of the
generator's own data structures. Run with ``pytest -p no:django tests/demo``.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from finops.demo.generator import (
    APP_PROFILE_ARN,
    DEMO_MODELS,
    HELPDESK_SYSTEM_PROMPT,
    PROVISIONED_MODEL_ARN,
    RUNAWAY_SESSION,
    generate_demo,
)

END = date(2026, 11, 20)
START = END - timedelta(days=59)
RUNAWAY = END - timedelta(days=9)
PROVISIONED_FROM = END - timedelta(days=13)  # story 4: the provisioned model exists for the last 14 days
RESTATED = "2026-10"
AGENT_ARN_PART = "assumed-role/AgentCoreRuntimeRole/BedrockAgentCore-0b425b4e"

LOG_FILE_RE = re.compile(
    r"^AWSLogs/(?P<acct>\d{12})/BedrockModelInvocationLogs/(?P<region>[a-z]{2}-[a-z]+-\d)/"
    r"(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/(?P<h>\d{2})/"
    r"(?P<stamp>\d{8}T\d{6}Z)_[0-9a-f]+\.json\.gz$"
)
DATA_OBJECT_RE = re.compile(
    r"^AWSLogs/\d{12}/BedrockModelInvocationLogs/[a-z0-9-]+/\d{4}/\d{2}/\d{2}/\d{2}/data/[0-9a-f-]+_input\.json\.gz$"
)
CUR_DATA_RE = re.compile(
    r"^cur2/bedrock-cur2/data/BILLING_PERIOD=(?P<period>\d{4}-\d{2})/bedrock-cur2-00001\.(csv\.gz|snappy\.parquet)$"
)
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
MAP_COLUMNS = ("product", "resource_tags", "tags")


@dataclass
class Demo:
    root: Path
    summary: Any
    records: list[dict[str, Any]]
    log_files: list[str]
    cur_rows: list[dict[str, Any]]  # final delivery, CSV and Parquet normalised to strings/floats
    first_rows: list[dict[str, Any]]


def _read_csv_gz(path: Path) -> list[dict[str, str]]:
    with gzip.open(path, "rt", newline="") as fh:
        return list(csv.DictReader(fh))


def _read_parquet(path: Path) -> list[dict[str, Any]]:
    rows = pq.read_table(path).to_pylist()
    for row in rows:
        for name in MAP_COLUMNS:
            row[name] = json.dumps(dict(row[name])) if row[name] is not None else ""
        for name, value in list(row.items()):
            if value is None:
                row[name] = ""
            elif hasattr(value, "isoformat"):
                row[name] = value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return rows


def _read_delivery(root: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for manifest in sorted(root.glob("cur2/bedrock-cur2/metadata/BILLING_PERIOD=*/bedrock-cur2-Manifest.json")):
        for uri in json.loads(manifest.read_text())["dataFiles"]:
            local = root / uri.removeprefix("s3://acme-cur-bucket/")
            period = re.search(r"BILLING_PERIOD=(\d{4}-\d{2})", uri)[1]
            part = _read_parquet(local) if local.name.endswith(".parquet") else _read_csv_gz(local)
            for row in part:
                row["_period"] = period
                row["_file"] = local.name
            rows.extend(part)
    return rows


def _read_logs(log_root: Path) -> tuple[list[dict[str, Any]], list[str]]:
    records: list[dict[str, Any]] = []
    files: list[str] = []
    for path in sorted(log_root.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(log_root).as_posix()
        files.append(rel)
        if "/data/" in rel or rel.endswith("amazon-bedrock-logs-permission-check"):
            continue  # what an importer skips
        with gzip.open(path, "rt") as fh:
            for line in fh:
                record = json.loads(line)
                record["_file"] = rel
                records.append(record)
    return records, files


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    root = tmp_path_factory.mktemp("demo60")
    summary = generate_demo(root, end_date=END, progress=lambda _line: None)
    records, files = _read_logs(root / "invocation-logs")
    return Demo(
        root=root,
        summary=summary,
        records=records,
        log_files=files,
        cur_rows=_read_delivery(root / "cur"),
        first_rows=_read_delivery(root / "cur-first-delivery"),
    )


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _day(record: dict[str, Any]) -> str:
    return record["timestamp"][:10]


def _base_model_id(model_id: str) -> str:
    if model_id == APP_PROFILE_ARN:
        return "anthropic.claude-sonnet-4-6"
    if model_id == PROVISIONED_MODEL_ARN:
        return "amazon.nova-2-lite-v1:0"
    return re.sub(r"^(us|eu|global)\.", "", model_id)


def _shape(arn: str) -> str:
    if ":user/BedrockAPIKey-" in arn:
        return "api_key"
    if ":user/" in arn:
        return "iam_user"
    role, session = arn.split("assumed-role/")[1].split("/", 1)
    if role.startswith("AWSReservedSSO_"):
        return "sso_user"
    if session.startswith("BedrockAgentCore-"):
        return "service"
    if "@" in session:
        return "federated_user"
    return "assumed_role"


def _metadata(record: dict[str, Any], key: str) -> str | None:
    return (record.get("requestMetadata") or {}).get(key)


def _request_dollars(record: dict[str, Any]) -> float:
    """What one log record costs at the DEMO_MODELS prices (0 for errors and provisioned calls)."""
    if "errorCode" in record or record["modelId"] == PROVISIONED_MODEL_ARN:
        return 0.0
    model = next(m for m in DEMO_MODELS if m.model_id == _base_model_id(record["modelId"]))
    prices = model.global_prices if record["modelId"].startswith("global.") else model.prices
    inp = record["input"]
    return (
        inp["inputTokenCount"] * prices.input
        + record["output"]["outputTokenCount"] * prices.output
        + inp.get("cacheReadInputTokenCount", 0) * (prices.cache_read or 0)
        + inp.get("cacheWriteInputTokenCount", 0) * (prices.cache_write or 0)
    ) / 1e6


def _is_token_row(row: dict[str, Any]) -> bool:
    usage_type = row["line_item_usage_type"]
    return (
        row["line_item_line_item_type"] == "Usage"
        and "ProvisionedThroughput" not in usage_type
        and not usage_type.endswith("-batch")
    )


# --- the generator as a whole ---------------------------------------------------------


def test_same_seed_and_end_date_give_identical_bytes(tmp_path: Path) -> None:
    first = generate_demo(tmp_path / "a", end_date=END, days=12, seed=7)
    second = generate_demo(tmp_path / "b", end_date=END, days=12, seed=7)
    assert first.request_count == second.request_count
    tree_a, tree_b = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    assert tree_a.keys() == tree_b.keys()
    assert tree_a == tree_b

    other = generate_demo(tmp_path / "c", end_date=END, days=12, seed=8)
    assert other.request_count != first.request_count or _tree(tmp_path / "c") != tree_a


def _content_digest(root: Path) -> str:
    """A digest of what the files say: gzip objects decompressed and Parquet read back as values, so
    that it pins the generator's output without pinning the zlib or pyarrow version."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.name.endswith(".gz"):
            data = gzip.decompress(data)
        elif path.name.endswith(".parquet"):
            table = pq.read_table(path)
            columns = [(f.name, str(f.type)) for f in table.schema]
            data = json.dumps([columns, table.to_pylist()], default=str).encode()
        digest.update(f"{path.relative_to(root).as_posix()}\n{hashlib.sha256(data).hexdigest()}\n".encode())
    return digest.hexdigest()


# Computed from the generator once story 1 became one sequential loop of short tool calls and story 3's
# system prompt as long as its billed prefix (changes to the story-full output are deliberate: update
# this with them). 14 days ending 2026-11-03
# hold all six stories: the runaway day (10-25), provisioned throughput, the LEGACY model, the two
# every-day streams, a Parquet period and the restated month (2026-10, delivered twice).
DEFAULT_14_DAY_DIGEST = "9e3406c79cc6b5c28660ac634fa4941ccf10e92cbbbe5c193fad3a6228992b3c"


def test_the_default_story_full_output_is_pinned(tmp_path: Path) -> None:
    summary = generate_demo(tmp_path / "default", end_date=date(2026, 11, 3), days=14)
    assert [p.parent.name for p in summary.cur_first_delivery] == ["BILLING_PERIOD=2026-10"]
    assert _content_digest(tmp_path / "default") == DEFAULT_14_DAY_DIGEST
    generate_demo(tmp_path / "explicit", end_date=date(2026, 11, 3), days=14, stories=True)
    assert _tree(tmp_path / "explicit") == _tree(tmp_path / "default")


def test_a_second_run_on_the_same_dir_overwrites_cleanly(tmp_path: Path) -> None:
    generate_demo(tmp_path / "x", end_date=END, days=12)
    (tmp_path / "x" / "keep-me.txt").write_text("not ours")
    generate_demo(tmp_path / "x", end_date=END, days=4)
    generate_demo(tmp_path / "fresh", end_date=END, days=4)
    reused = _tree(tmp_path / "x")
    assert reused.pop("keep-me.txt") == b"not ours"
    assert reused == _tree(tmp_path / "fresh")


def test_the_default_size_stays_within_the_importers_budget(demo: Demo) -> None:
    # Sizes, not seconds: speed is measured by `manage.py benchmark_import`, never by a timed test.
    assert 30_000 <= len(demo.records) <= 45_000  # the importers' speed bounds the record count
    assert 1_000 <= len(demo.cur_rows) <= 10_000


def test_summary_matches_what_is_on_disk(demo: Demo) -> None:
    summary = demo.summary
    assert summary.request_count == len(demo.records)
    assert summary.cur_row_count == len(demo.cur_rows)
    assert summary.invocation_log_dir == demo.root / "invocation-logs"
    assert [m.parent.name for m in summary.cur_manifests] == [
        "BILLING_PERIOD=2026-09",
        "BILLING_PERIOD=2026-10",
        "BILLING_PERIOD=2026-11",
    ]
    assert all(m.is_file() for m in summary.cur_manifests)
    assert [p.name for p in summary.cur_first_delivery] == ["bedrock-cur2-00001.csv.gz"]
    assert summary.cur_first_delivery[0].is_relative_to(demo.root / "cur-first-delivery")
    assert f"BILLING_PERIOD={RESTATED}" in summary.cur_first_delivery[0].as_posix()


# --- invocation logs: layout and schema -----------------------------------------------


def test_log_objects_follow_the_s3_layout(demo: Demo) -> None:
    log_files = [f for f in demo.log_files if "/data/" not in f and not f.endswith("permission-check")]
    for rel in log_files:
        match = LOG_FILE_RE.match(rel)
        assert match, rel
        assert match["stamp"].startswith(f"{match['y']}{match['m']}{match['d']}T{match['h']}")
    for account in ("111111111111", "222222222222"):
        assert f"AWSLogs/{account}/BedrockModelInvocationLogs/amazon-bedrock-logs-permission-check" in demo.log_files
    # one file per (account, region, hour) with traffic, and each record sits in its own hour
    keys = Counter(tuple(LOG_FILE_RE.match(rel).group("acct", "region", "y", "m", "d", "h")) for rel in log_files)
    assert max(keys.values()) == 1
    for record in demo.records:
        ts = record["timestamp"]
        expected = (
            f"AWSLogs/{record['accountId']}/BedrockModelInvocationLogs/{record['region']}/"
            f"{ts[:4]}/{ts[5:7]}/{ts[8:10]}/{ts[11:13]}/"
        )
        assert record["_file"].startswith(expected)


def test_large_bodies_point_at_data_objects_that_exist(demo: Demo) -> None:
    s3_records = [r for r in demo.records if "inputBodyS3Path" in r["input"]]
    assert s3_records
    data_objects = {f for f in demo.log_files if "/data/" in f}
    assert all(DATA_OBJECT_RE.match(f) for f in data_objects)
    for record in s3_records:
        assert "inputBodyJson" not in record["input"]
        key = record["input"]["inputBodyS3Path"].removeprefix("s3://acme-bedrock-logs/")
        assert key in data_objects
        assert key.endswith(f"/data/{record['requestId']}_input.json.gz")
    assert len(data_objects) == len(s3_records)


def test_records_have_the_model_invocation_log_schema(demo: Demo) -> None:
    operations = Counter()
    for record in demo.records:
        assert record["schemaType"] == "ModelInvocationLog"
        assert record["schemaVersion"] == "1.0"
        assert TS_RE.match(record["timestamp"])
        assert re.fullmatch(r"\d{12}", record["accountId"])
        assert UUID_RE.match(record["requestId"])
        assert record["identity"]["arn"].startswith("arn:aws:")
        assert f"::{record['accountId']}:" in record["identity"]["arn"]
        operations[record["operation"]] += 1
        inp, out = record["input"], record["output"]
        assert inp["inputContentType"] == "application/json"
        assert isinstance(inp["inputTokenCount"], int)
        if "errorCode" in record:
            assert out["outputTokenCount"] == 0
        else:
            body = out["outputBodyJson"]
            assert body["usage"]["outputTokens"] == out["outputTokenCount"]
            assert body["usage"]["inputTokens"] == inp["inputTokenCount"]
            assert body["metrics"]["latencyMs"] > 0
        if record["modelId"].startswith(("us.", "eu.", "global.")) or record["modelId"] == APP_PROFILE_ARN:
            assert record["inferenceRegion"] != record["region"]
        else:
            assert "inferenceRegion" not in record
        for key, value in (record.get("requestMetadata") or {}).items():
            assert key in {"team", "application", "user", "agent", "workflow", "session", "environment"}
            assert isinstance(value, str)
    assert set(operations) == {"Converse", "ConverseStream", "InvokeModel", "InvokeModelWithResponseStream"}
    errors = Counter(r.get("errorCode") for r in demo.records)
    assert errors["ThrottlingException"] > 0 and errors["ValidationException"] > 0
    # Llama logs carry no cache counters: importers must cope with their absence.
    llama = [r for r in demo.records if r["modelId"].startswith("meta.")]
    assert llama and all("cacheReadInputTokenCount" not in r["input"] for r in llama)


def test_it_covers_sixty_days_two_accounts_three_regions_and_six_teams(demo: Demo) -> None:
    days = {_day(r) for r in demo.records}
    assert len(days) == 60
    assert min(days) == START.isoformat() and max(days) == END.isoformat()
    assert {r["accountId"] for r in demo.records} == {"111111111111", "222222222222"}
    assert {r["region"] for r in demo.records} == {"us-east-1", "us-west-2", "eu-west-1"}
    teams = {_metadata(r, "team") for r in demo.records} - {None}
    assert teams == {"search", "support", "data-science", "marketing", "platform", "fraud"}
    # some traffic carries no requestMetadata at all: attribution must fall back to the principal
    assert any("requestMetadata" not in r for r in demo.records)


def test_principals_cover_every_identity_shape(demo: Demo) -> None:
    arns = {r["identity"]["arn"] for r in demo.records}
    assert len(arns) >= 20
    shapes = Counter(_shape(arn) for arn in arns)
    assert set(shapes) == {"iam_user", "api_key", "assumed_role", "federated_user", "sso_user", "service"}
    assert "arn:aws:iam::111111111111:user/alice" in arns
    assert "arn:aws:sts::111111111111:assumed-role/SupportBotLambdaRole/support-bot-fn" in arns
    assert "arn:aws:sts::111111111111:assumed-role/BedrockFederatedRole/dana@acme.example" in arns
    assert (
        "arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_DataScientist_0a1b2c3d4e5f6a7b/erin@acme.example" in arns
    )


def test_it_uses_at_least_eight_models_through_every_route(demo: Demo) -> None:
    model_ids = Counter(r["modelId"] for r in demo.records)
    base_ids = {_base_model_id(m) for m in model_ids}
    catalog = {m.model_id for m in DEMO_MODELS}
    assert base_ids <= catalog
    assert len(base_ids) >= 8
    assert any(m.startswith("global.") for m in model_ids)
    assert any(m.startswith("us.") for m in model_ids)
    assert any(m.startswith("eu.") for m in model_ids)
    assert APP_PROFILE_ARN in model_ids
    assert any(m in catalog for m in model_ids)  # plain in-region model ids too


# --- CUR 2.0: layout, manifest, formats -----------------------------------------------


@pytest.mark.parametrize("delivery", ["cur", "cur-first-delivery"])
def test_manifests_list_data_files_that_exist(demo: Demo, delivery: str) -> None:
    root = demo.root / delivery
    manifests = sorted(root.glob("cur2/bedrock-cur2/metadata/BILLING_PERIOD=*/bedrock-cur2-Manifest.json"))
    assert manifests
    for manifest_path in manifests:
        manifest = json.loads(manifest_path.read_text())
        assert {"executionId", "exportArn", "columns", "dataFiles"} <= manifest.keys()
        assert UUID_RE.match(manifest["executionId"])
        assert manifest["exportArn"].startswith("arn:aws:bcm-data-exports:us-east-1:111111111111:export/bedrock-cur2-")
        period = manifest_path.parent.name.removeprefix("BILLING_PERIOD=")
        for uri in manifest["dataFiles"]:
            assert uri.startswith("s3://acme-cur-bucket/cur2/bedrock-cur2/data/")
            rel = uri.removeprefix("s3://acme-cur-bucket/")
            match = CUR_DATA_RE.match(rel)
            assert match and match["period"] == period
            assert (root / rel).is_file()
        columns = {c["name"]: c["type"] for c in manifest["columns"]}
        assert columns["product"] == columns["tags"] == columns["resource_tags"] == "map"
        assert columns["line_item_usage_start_date"] == "timestamp"
        assert columns["line_item_unblended_cost"] == "double"
        assert columns["line_item_unblended_rate"] == "string"


def test_one_period_is_parquet_with_real_map_columns(demo: Demo) -> None:
    parquet_files = list((demo.root / "cur").rglob("*.snappy.parquet"))
    assert [p.parent.name for p in parquet_files] == ["BILLING_PERIOD=2026-09"]
    schema = pq.read_schema(parquet_files[0])
    for name in MAP_COLUMNS:
        assert pa.types.is_map(schema.field(name).type), name
    assert pa.types.is_timestamp(schema.field("line_item_usage_start_date").type)
    assert pa.types.is_floating(schema.field("line_item_unblended_cost").type)
    assert pa.types.is_string(schema.field("line_item_unblended_rate").type)
    products = pq.read_table(parquet_files[0], columns=["product"]).column("product").to_pylist()
    assert all(dict(p)["product_name"] for p in products)


def test_csv_map_columns_are_json_text_blank_or_empty_object(demo: Demo) -> None:
    raw_values: Counter[str] = Counter()
    for path in (demo.root / "cur").rglob("*.csv.gz"):
        with gzip.open(path, "rt", newline="") as fh:
            header = fh.readline()
            assert header.startswith("bill_bill_type,")
            fh.seek(0)
            for row in csv.DictReader(fh):
                for name in MAP_COLUMNS:
                    value = row[name]
                    if value in ("", "{}"):
                        raw_values[value] += 1
                        continue
                    parsed = json.loads(value)
                    assert isinstance(parsed, dict) and all(isinstance(v, str) for v in parsed.values())
                for name in ("line_item_usage_start_date", "line_item_usage_end_date"):
                    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.000)?Z", row[name])
                raw_values["ms" if row["line_item_usage_start_date"].endswith(".000Z") else "s"] += 1
                assert re.fullmatch(r"[^/]+Z/[^/]+Z", row["identity_time_interval"])
    assert raw_values[""] > 0 and raw_values["{}"] > 0
    assert raw_values["ms"] > 0 and raw_values["s"] > raw_values["ms"]


def test_cur_rows_have_the_bedrock_columns(demo: Demo) -> None:
    rows = demo.cur_rows
    for row in rows:
        assert row["bill_payer_account_id"] == "111111111111"
        assert row["line_item_currency_code"] == "USD"
        assert row["line_item_usage_account_id"] in {"111111111111", "222222222222"}
        assert row["line_item_usage_account_name"] in {"acme-prod", "acme-dev"}
        assert isinstance(row["line_item_unblended_rate"], str)
        assert row["_period"] == row["bill_billing_period_start_date"][:7]
    token_rows = [r for r in rows if _is_token_row(r)]
    assert all(r["line_item_iam_principal"].startswith("arn:aws:") for r in token_rows)
    assert all(
        r["line_item_iam_principal"] == ""
        for r in rows
        if not _is_token_row(r) and "-batch" not in r["line_item_usage_type"]
    )
    codes = Counter(r["line_item_product_code"] for r in token_rows)
    assert {"AmazonBedrock", "AmazonBedrockService"} <= set(codes)
    assert all(r["product_product_family"] == "Amazon Bedrock" for r in token_rows)
    usage_types = {r["line_item_usage_type"] for r in token_rows}
    assert "USE1-Claude4.6Sonnet-input-tokens" in usage_types
    assert "USE1-Claude4.6Sonnet-cache-write-input-token-count-cross-region-global" in usage_types
    assert "USE1-Claude4.6Opus-output-tokens" in usage_types
    assert "USE1-NovaPro-cache-read-input-token-count" in usage_types
    assert "EU-Claude4.5Haiku-input-tokens" in usage_types
    assert "USW2-Claude4.6Sonnet-input-tokens" in usage_types
    assert "USE1-Llama3.3-70B-input-tokens" in usage_types
    for row in token_rows:
        product = json.loads(row["product"])
        assert {"provider", "model", "inference_type", "feature", "product_name", "servicename", "region"} <= set(
            product
        )
        assert product["region"] == row["product_region_code"]


def test_first_party_token_rows_are_priced_per_thousand_tokens(demo: Demo) -> None:
    rows = [r for r in demo.cur_rows if r["pricing_unit"] == "1K tokens"]
    assert rows
    for row in rows:
        amount, cost = float(row["line_item_usage_amount"]), float(row["line_item_unblended_cost"])
        assert cost == pytest.approx(amount * float(row["line_item_unblended_rate"]), rel=1e-6, abs=1e-9)
    sonnet = next(r for r in rows if r["line_item_usage_type"] == "USE1-Claude4.6Sonnet-input-tokens")
    assert float(sonnet["line_item_unblended_rate"]) == pytest.approx(0.0033)
    sonnet_global = next(
        r for r in rows if r["line_item_usage_type"] == "USE1-Claude4.6Sonnet-input-tokens-cross-region-global"
    )
    assert float(sonnet_global["line_item_unblended_rate"]) == pytest.approx(0.003)


def test_tags_mix_tagged_untagged_and_profile_rows(demo: Demo) -> None:
    token_rows = [r for r in demo.cur_rows if _is_token_row(r)]
    tags = [json.loads(r["tags"]) if r["tags"] else {} for r in token_rows]
    assert any(t.get("iamPrincipal/team") == "fraud" for t in tags)
    assert any("iamPrincipal/cost-center" in t for t in tags)
    assert any("iamPrincipal/application" in t for t in tags)
    assert any("accountTag/environment" in t for t in tags)
    assert any(not any(k.startswith("iamPrincipal/") for k in t) for t in tags)  # untagged principals
    profile_rows = [r for r in token_rows if r["line_item_resource_id"] == APP_PROFILE_ARN]
    assert profile_rows
    for row in profile_rows:
        assert json.loads(row["resource_tags"])["user_team"] == "marketing"
        assert json.loads(row["tags"])["resourceTags/team"] == "marketing"


def test_batch_rows_are_half_price_and_only_in_cur(demo: Demo) -> None:
    batch = [r for r in demo.cur_rows if r["line_item_usage_type"] == "USE1-Claude4.5Haiku-input-tokens-batch"]
    assert batch
    for row in batch:
        assert float(row["line_item_unblended_rate"]) == pytest.approx(0.55 / 1000)
        assert json.loads(row["tags"])["iamPrincipal/team"] == "data-science"


def test_billed_token_dollars_match_the_request_estimates(demo: Demo) -> None:
    estimate: dict[str, float] = defaultdict(float)
    for record in demo.records:
        if "errorCode" in record or record["modelId"] == PROVISIONED_MODEL_ARN:
            continue
        estimate[_day(record)] += _request_dollars(record)
    billed: dict[str, float] = defaultdict(float)
    for row in demo.cur_rows:
        if _is_token_row(row):
            billed[row["line_item_usage_start_date"][:10]] += float(row["line_item_unblended_cost"])
    assert billed.keys() == estimate.keys()
    for day, dollars in estimate.items():
        assert billed[day] == pytest.approx(dollars, rel=0.01), day


def test_token_spend_is_a_few_hundred_dollars_a_day_across_teams(demo: Demo) -> None:
    daily: dict[str, float] = defaultdict(float)
    by_team: dict[str, float] = defaultdict(float)
    agent_daily: dict[str, float] = defaultdict(float)
    for record in demo.records:
        dollars = _request_dollars(record)
        daily[_day(record)] += dollars
        by_team[_metadata(record, "team") or "(none)"] += dollars
        if AGENT_ARN_PART in record["identity"]["arn"]:
            agent_daily[_day(record)] += dollars
    assert len(daily) == 60
    median_day = statistics.median(daily.values())
    assert 400 <= median_day <= 900

    # the runaway agent loop (story 1) stands out for the agent and on the company total
    runaway = RUNAWAY.isoformat()
    assert agent_daily[runaway] >= 5 * statistics.median(agent_daily.values())
    assert daily[runaway] - median_day > 300
    assert max(daily, key=daily.get) == runaway

    # attribution is visible: several teams carry a real share, none carries everything
    total = sum(by_team.values())
    shares = {team: dollars / total for team, dollars in by_team.items()}
    assert sum(share >= 0.05 for share in shares.values()) >= 3, shares
    assert max(shares.values()) < 0.8, shares


# --- the stories ----------------------------------------------------------------------


def test_story_1_runaway_agent_loop(demo: Demo) -> None:
    agent = [r for r in demo.records if AGENT_ARN_PART in r["identity"]["arn"]]
    assert all(_metadata(r, "agent") == "ticket-triage-agent" for r in agent)
    per_day = Counter(_day(r) for r in agent)
    assert len(per_day) == 60
    normal = statistics.median(per_day.values())
    assert per_day.most_common(1)[0][0] == RUNAWAY.isoformat()
    assert per_day[RUNAWAY.isoformat()] > 5 * normal

    writes = defaultdict(int)
    for r in agent:
        writes[_day(r)] += r["input"]["cacheWriteInputTokenCount"]
    assert writes[RUNAWAY.isoformat()] > 10 * statistics.median(writes.values())

    cur_writes = {
        r["line_item_usage_start_date"][:10]: float(r["line_item_unblended_cost"])
        for r in demo.cur_rows
        if AGENT_ARN_PART in r["line_item_iam_principal"]
        and r["line_item_usage_type"] == "USE1-Claude4.6Sonnet-cache-write-input-token-count-cross-region-global"
    }
    assert cur_writes[RUNAWAY.isoformat()] > 10 * statistics.median(cur_writes.values())

    # the loop's shape: one session, calls one after the other between 01:00 and 06:59, the context
    # growing from call to call, each step a short tool call
    loop = sorted(
        (r for r in agent if _metadata(r, "session") == RUNAWAY_SESSION),
        key=lambda r: r["timestamp"],
    )
    assert len(loop) > 5 * normal
    assert {r["timestamp"][:10] for r in loop} == {RUNAWAY.isoformat()}
    assert "01:00:00" <= loop[0]["timestamp"][11:] and loop[-1]["timestamp"][11:] <= "06:59:59"
    ok = [r for r in loop if "errorCode" not in r]
    sizes = [r["input"]["inputTokenCount"] + r["input"]["cacheWriteInputTokenCount"] for r in ok]
    quarter = len(sizes) // 4
    assert statistics.median(sizes[-quarter:]) > 1.5 * statistics.median(sizes[:quarter])
    assert statistics.median(r["output"]["outputTokenCount"] for r in ok) <= 300
    assert {r["output"]["outputBodyJson"]["stopReason"] for r in ok} == {"tool_use"}


def test_story_2_flagship_model_for_short_classification(demo: Demo) -> None:
    calls = [r for r in demo.records if _metadata(r, "application") == "txn-classifier" and "errorCode" not in r]
    assert {_metadata(r, "team") for r in calls} == {"fraud"}
    assert {r["modelId"] for r in calls} == {"us.anthropic.claude-opus-4-6-v1"}
    assert len({_day(r) for r in calls}) == 60
    assert 130 <= statistics.mean(r["input"]["inputTokenCount"] for r in calls) <= 170
    assert statistics.mean(r["output"]["outputTokenCount"] for r in calls) <= 8


def test_story_3_long_repeated_system_prompt_without_caching(demo: Demo) -> None:
    calls = [r for r in demo.records if _metadata(r, "application") == "helpdesk-bot" and "errorCode" not in r]
    assert {_metadata(r, "team") for r in calls} == {"support"}
    assert len({_day(r) for r in calls}) == 60
    assert 5_500 <= statistics.mean(r["input"]["inputTokenCount"] for r in calls) <= 6_500
    assert all(r["input"]["cacheReadInputTokenCount"] == 0 for r in calls)
    assert all(r["input"]["cacheWriteInputTokenCount"] == 0 for r in calls)
    systems = {json.dumps(r["input"]["inputBodyJson"]["system"]) for r in calls}
    assert systems == {json.dumps([{"text": HELPDESK_SYSTEM_PROMPT}])}
    # the logged prompt is as long as the prefix it is billed for (~4 characters a token), below every
    # request's input
    assert len(HELPDESK_SYSTEM_PROMPT) == 5_600 * 4
    assert min(r["input"]["inputTokenCount"] for r in calls) >= 5_500


def test_story_4_idle_provisioned_throughput(demo: Demo) -> None:
    rows = [
        r
        for r in demo.cur_rows
        if r["line_item_usage_type"] == "USE1-Nova2.0Lite-ProvisionedThroughput-NoCommit-ModelUnits"
    ]
    billed_days = sorted(r["line_item_usage_start_date"][:10] for r in rows)
    assert billed_days == [(PROVISIONED_FROM + timedelta(days=i)).isoformat() for i in range(14)]
    for row in rows:
        assert row["pricing_unit"] == "Hrs"
        assert float(row["line_item_usage_amount"]) == 24
        assert float(row["line_item_unblended_rate"]) == pytest.approx(60.50)
        assert float(row["line_item_unblended_cost"]) == pytest.approx(24 * 60.50)
        assert row["line_item_iam_principal"] == ""
        assert row["line_item_resource_id"] == PROVISIONED_MODEL_ARN
    calls = Counter(_day(r) for r in demo.records if r["modelId"] == PROVISIONED_MODEL_ARN)
    assert 0 < sum(calls.values()) <= 2 * 14  # at most a couple a day
    assert max(calls.values()) <= 4
    assert min(calls) >= PROVISIONED_FROM.isoformat()  # no calls before the model exists
    # 14 days x 24 h x 1 model unit x $60.50
    provisioned_cost = sum(float(r["line_item_unblended_cost"]) for r in rows)
    assert provisioned_cost == pytest.approx(14 * 24 * 60.50)


def test_story_5_legacy_model_still_called_by_marketing(demo: Demo) -> None:
    calls = [r for r in demo.records if r["modelId"] == "anthropic.claude-3-5-haiku-20241022-v1:0"]
    assert {_metadata(r, "team") for r in calls} == {"marketing"}
    assert len({_day(r) for r in calls}) == 60
    legacy = next(m for m in DEMO_MODELS if m.model_id == "anthropic.claude-3-5-haiku-20241022-v1:0")
    assert legacy.lifecycle == "LEGACY"

    rows = [r for r in demo.cur_rows if r["line_item_usage_type"].startswith("USE1-MP:USE1_")]
    assert {r["line_item_usage_type"] for r in rows} == {
        "USE1-MP:USE1_InputTokenCount-Units",
        "USE1-MP:USE1_OutputTokenCount-Units",
    }
    assert {r["pricing_unit"] for r in rows} == {"1M tokens", "Units"}
    for row in rows:
        assert row["bill_billing_entity"] == "AWS Marketplace"
        assert row["product_servicecode"] == ""
        assert row["line_item_product_code"] not in ("AmazonBedrock", "AmazonBedrockService")
        assert json.loads(row["product"])["product_name"] == "Claude 3.5 Haiku (Amazon Bedrock Edition)"
        tokens = float(row["line_item_usage_amount"]) * (1e6 if row["pricing_unit"] == "1M tokens" else 1)
        per_million = 0.80 if "Input" in row["line_item_usage_type"] else 4.00
        assert float(row["line_item_unblended_cost"]) == pytest.approx(tokens * per_million / 1e6, rel=1e-6)


def test_story_6_restated_month_is_delivered_twice(demo: Demo) -> None:
    final = [r for r in demo.cur_rows if r["_period"] == RESTATED]
    first = demo.first_rows
    assert {r["_period"] for r in first} == {RESTATED}

    first_days = {r["line_item_usage_start_date"][:10] for r in first}
    final_days = {r["line_item_usage_start_date"][:10] for r in final if r["line_item_line_item_type"] == "Usage"}
    assert max(first_days) < max(final_days) == "2026-10-31"
    assert first_days < final_days

    def usage_cost(rows: list[dict[str, Any]], days: set[str]) -> float:
        return sum(
            float(r["line_item_unblended_cost"])
            for r in rows
            if r["line_item_line_item_type"] == "Usage" and r["line_item_usage_start_date"][:10] in days
        )

    common = usage_cost(final, first_days)
    assert usage_cost(first, first_days) != pytest.approx(common, rel=1e-4)
    assert usage_cost(first, first_days) == pytest.approx(common, rel=0.05)

    kinds = Counter(r["line_item_line_item_type"] for r in final)
    assert kinds["Credit"] == 1 and kinds["Tax"] == 1
    assert "Credit" not in {r["line_item_line_item_type"] for r in first}
    credit = next(r for r in final if r["line_item_line_item_type"] == "Credit")
    assert float(credit["line_item_unblended_cost"]) < 0
    assert credit["line_item_iam_principal"] == ""

    first_manifest = json.loads(
        next((demo.root / "cur-first-delivery").rglob("bedrock-cur2-Manifest.json")).read_text()
    )
    final_manifest = json.loads(
        (demo.root / f"cur/cur2/bedrock-cur2/metadata/BILLING_PERIOD={RESTATED}/bedrock-cur2-Manifest.json").read_text()
    )
    assert first_manifest["executionId"] != final_manifest["executionId"]
    assert first_manifest["dataFiles"] == final_manifest["dataFiles"]


def test_csv_text_reads_with_a_plain_csv_module(demo: Demo) -> None:
    path = demo.root / "cur/cur2/bedrock-cur2/data/BILLING_PERIOD=2026-11/bedrock-cur2-00001.csv.gz"
    text = gzip.decompress(path.read_bytes()).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and all(row["line_item_usage_start_date"].startswith("2026-11-") for row in rows)
