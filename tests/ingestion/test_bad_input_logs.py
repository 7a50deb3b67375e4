"""Invocation-log imports on malformed input: a bad record is rejected with file, line and reason and
every other record loads; a damaged file loads nothing; no value is silently turned into 0 or cut."""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from connections.models import Tenant
from finops.ledger.models import SpendEvent
from ingestion.models import ImportRun
from ingestion.services import import_invocation_logs
from tests.ingestion import malformed as bad


def _write(path: Path, records: list[Any]) -> Path:
    data = bad.jsonl_bytes(records)
    path.write_bytes(gzip.compress(data, mtime=0) if path.name.endswith(".gz") else data)
    return path


def _rejected_lines(run: ImportRun) -> dict[int, str]:
    return {r["line"]: r["reason"] for r in run.rejected_samples}


def _request_ids(tenant: Tenant) -> set[str]:
    return set(SpendEvent.objects.filter(tenant=tenant).values_list("request_id", flat=True))


def test_a_byte_that_is_not_utf8_in_record_10_of_3000_rejects_that_record_only(tenant: Tenant, tmp_path: Path) -> None:
    records = bad.many_log_records(3000)
    path = _write(tmp_path / "logs.jsonl", records)
    lines = path.read_bytes().split(b"\n")
    lines[9] = lines[9].replace(b'"requestId": "', b'"requestId": "\xc3\x28', 1)
    assert b"\xc3\x28" in lines[9]
    path.write_bytes(b"\n".join(lines))

    run = import_invocation_logs(tenant=tenant, paths=[path])

    assert (run.rows_read, run.rows_loaded, run.rows_rejected) == (3000, 2999, 1)
    assert "not valid UTF-8" in _rejected_lines(run)[10]
    assert _request_ids(tenant) == {r["requestId"] for i, r in enumerate(records) if i != 9}


def _with(record: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    record = json.loads(json.dumps(record))
    *parents, last = path.split(".")
    target = record
    for key in parents:
        target = target[key]
    target[last] = value
    return record


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        ("input.inputTokenCount", 1.7, "not a whole number"),
        ("input.inputTokenCount", "", "not a whole number"),
        ("input.inputTokenCount", [], "not a whole number"),
        ("input.inputTokenCount", False, "not a whole number"),
        ("input.inputTokenCount", float("inf"), "not a whole number"),
        ("input.inputTokenCount", float("nan"), "not a whole number"),
        ("input.inputTokenCount", 2**63, "out of range"),
        ("output.outputTokenCount", 10**15, "out of range"),
        ("input.inputTokenCount", -1, "negative"),
        ("input", [], "input is not a JSON object"),
        ("input", 0, "input is not a JSON object"),
        ("input", "", "input is not a JSON object"),
        ("input", False, "input is not a JSON object"),
        ("output.outputBodyJson.metrics.latencyMs", 1e20, "out of range"),
        ("timestamp", "9999-12-31T23:59:59.999Z", "out of range"),
        ("requestId", {"a": 1}, "requestId is not text"),
        ("requestId", "r" * 1025, "1,025 characters"),
        ("region", "us-east-1" * 10, "characters long"),
        ("region", "mars-1", "not an AWS region code"),
        ("accountId", "12345678901X", "not a 12-digit"),
        ("identity.arn", "arn:aws:iam::123456789012:user/" + "a" * 2100, "characters long"),
        ("identity.arn", "arn:aws:iam::123456789012:user/ali\x00ce", "NUL"),
        ("requestMetadata", {"team": "t" * 300}, "300 characters"),
        ("requestMetadata", {"team": "a\ud800b"}, "not valid UTF-8"),
        ("requestMetadata", {"team": {"nested": 1}}, "not text"),
        ("operation", "x" * 300, "characters long"),
    ],
)
def test_a_broken_field_rejects_its_record_by_name_and_the_others_load(
    tenant: Tenant, tmp_path: Path, path: str, value: Any, reason: str
) -> None:
    records = bad.many_log_records(5)
    records[2] = _with(records[2], path, value)

    run = import_invocation_logs(tenant=tenant, paths=[_write(tmp_path / "x.jsonl", records)])

    assert (run.rows_loaded, run.rows_rejected) == (4, 1)
    assert reason in _rejected_lines(run)[3]
    assert _request_ids(tenant) == {r["requestId"] for i, r in enumerate(records) if i != 2}


def test_deeply_nested_json_rejects_its_line(tenant: Tenant, tmp_path: Path) -> None:
    records = bad.many_log_records(3)
    path = tmp_path / "deep.jsonl"
    lines = bad.jsonl_bytes(records).split(b"\n")
    lines[1] = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    path.write_bytes(b"\n".join(lines))

    run = import_invocation_logs(tenant=tenant, paths=[path])

    assert (run.rows_loaded, run.rows_rejected) == (2, 1)
    assert "nested too deeply" in _rejected_lines(run)[2]


def test_request_ids_sharing_their_first_124_characters_stay_two_requests(tenant: Tenant, tmp_path: Path) -> None:
    records = bad.many_log_records(2)
    records[0]["requestId"] = "x" * 124 + "-first"
    records[1]["requestId"] = "x" * 124 + "-second"

    run = import_invocation_logs(tenant=tenant, paths=[_write(tmp_path / "ids.jsonl", records)])
    again = import_invocation_logs(tenant=tenant, paths=[_write(tmp_path / "ids.jsonl", records)])

    assert run.rows_loaded == 2 and again.rows_loaded == 0
    assert _request_ids(tenant) == {"x" * 124 + "-first", "x" * 124 + "-second"}


def test_a_time_with_an_offset_is_dated_in_utc(tenant: Tenant, tmp_path: Path) -> None:
    records = bad.many_log_records(1)
    records[0]["timestamp"] = "2026-06-03T22:15:00-04:00"

    import_invocation_logs(tenant=tenant, paths=[_write(tmp_path / "tz.jsonl", records)])

    event = SpendEvent.objects.get(tenant=tenant)
    assert event.usage_date == date(2026, 6, 4) and event.billing_period == date(2026, 6, 1)


def test_a_record_without_token_counts_is_unpriced_not_zero(tenant: Tenant, tmp_path: Path) -> None:
    records = bad.many_log_records(1)
    del records[0]["input"]["inputTokenCount"]
    del records[0]["output"]["outputTokenCount"]
    records[0]["input"].pop("cacheReadInputTokenCount", None)
    records[0]["input"].pop("cacheWriteInputTokenCount", None)

    run = import_invocation_logs(tenant=tenant, paths=[_write(tmp_path / "nocount.jsonl", records)])

    event = SpendEvent.objects.get(tenant=tenant)
    assert (event.unpriced, event.cost_usd) == (True, None)
    assert "no token counts" in event.data_issue
    assert run.rows_flagged == 1


def _gz_with_bad_crc(data: bytes) -> bytes:
    packed = bytearray(gzip.compress(data, mtime=0))
    packed[-8] ^= 0xFF
    return bytes(packed)


def _gz_with_flipped_bit(data: bytes) -> bytes:
    packed = bytearray(gzip.compress(data, mtime=0))
    packed[len(packed) // 2] ^= 0x04
    return bytes(packed)


@pytest.mark.parametrize("damage", [_gz_with_bad_crc, _gz_with_flipped_bit])
def test_a_gzip_that_fails_its_integrity_check_loads_nothing(tenant: Tenant, tmp_path: Path, damage) -> None:  # noqa: ANN001
    records = bad.many_log_records(400)
    path = tmp_path / "20260603T140102Z_x.json.gz"
    path.write_bytes(damage(bad.jsonl_bytes(records)))

    run = import_invocation_logs(tenant=tenant, paths=[path], batch_size=50)

    assert run.status == ImportRun.Status.FAILED
    assert "nothing from this file is loaded" in run.files[0]["error"]
    assert not SpendEvent.objects.filter(tenant=tenant).exists()


def test_the_pages_work_after_any_of_these_imports(tenant: Tenant, staff, client: Client, tmp_path: Path) -> None:  # noqa: ANN001
    records = bad.many_log_records(4)
    records[1]["output"]["outputTokenCount"] = 10**9  # the largest count a request may have
    records[1]["modelId"] = "anthropic.claude-opus-4-7"
    import_invocation_logs(tenant=tenant, paths=[_write(tmp_path / "big.jsonl", records)])
    client.force_login(staff)

    assert client.get(f"/t/{tenant.slug}/").status_code == 200
    assert client.get(f"/api/v1/ledger/{tenant.slug}/report?group_by=model_id").status_code == 200
