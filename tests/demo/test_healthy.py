"""``generate_demo(..., stories=False)``: the same Acme Corp traffic without any of the six stories.

Like test_generator.py, everything reads the files back independently of the generator's own data
structures; each story's marker is checked in both modes, so that the healthy checks can fail.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from finops.demo.generator import DEMO_MODELS, PROVISIONED_MODEL_ARN, RUNAWAY_SESSION, generate_demo
from tests.demo.test_generator import (
    AGENT_ARN_PART,
    _base_model_id,
    _day,
    _is_token_row,
    _metadata,
    _read_delivery,
    _read_logs,
    _request_dollars,
    _tree,
)

END = date(2026, 11, 20)
DAYS = 30  # holds every story: runaway day 11-11, provisioned from 11-07, 2026-10 restated
LEGACY_MODEL_IDS = {m.model_id for m in DEMO_MODELS if m.lifecycle == "LEGACY"}
LEGACY_MODEL_NAMES = {m.name for m in DEMO_MODELS if m.lifecycle == "LEGACY"}
HAIKU_4_5 = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
CACHE_TTL = timedelta(minutes=5)


@dataclass
class Run:
    root: Path
    summary: Any
    records: list[dict[str, Any]]
    cur_rows: list[dict[str, Any]]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Run]:
    out = {}
    for stories in (True, False):
        root = tmp_path_factory.mktemp(f"stories-{stories}")
        summary = generate_demo(root, end_date=END, days=DAYS, stories=stories)
        records, _ = _read_logs(root / "invocation-logs")
        out[stories] = Run(root, summary, records, _read_delivery(root / "cur"))
    return out


@pytest.fixture(scope="module")
def healthy(runs: dict[bool, Run]) -> Run:
    return runs[False]


def _ok(records: list[dict[str, Any]], application: str) -> list[dict[str, Any]]:
    return [r for r in records if _metadata(r, "application") == application and "errorCode" not in r]


def _markers(run: Run) -> dict[str, bool]:
    """Whether each story shows in the files."""
    agent_daily = Counter(_day(r) for r in run.records if AGENT_ARN_PART in r["identity"]["arn"])
    opus_tiny = [
        r
        for r in run.records
        if "claude-opus" in r["modelId"] and "errorCode" not in r and r["output"]["outputTokenCount"] <= 10
    ]
    helpdesk = _ok(run.records, "helpdesk-bot")
    provisioned_rows = [r for r in run.cur_rows if "ProvisionedThroughput" in r["line_item_usage_type"]]
    provisioned_calls = [r for r in run.records if r["modelId"] == PROVISIONED_MODEL_ARN]
    legacy_calls = [r for r in run.records if _base_model_id(r["modelId"]) in LEGACY_MODEL_IDS]
    legacy_rows = [
        r for r in run.cur_rows if r["product"] and json.loads(r["product"]).get("model") in LEGACY_MODEL_NAMES
    ]
    return {
        "1 runaway day": max(agent_daily.values()) > 2 * statistics.median(agent_daily.values()),
        "2 flagship for classification": bool(opus_tiny),
        "3 helpdesk without caching": all(r["input"]["cacheReadInputTokenCount"] == 0 for r in helpdesk),
        "4 provisioned throughput": bool(provisioned_rows or provisioned_calls),
        "5 LEGACY model": bool(legacy_calls or legacy_rows),
        "6 restated month": bool(run.summary.cur_first_delivery) or any((run.root / "cur-first-delivery").rglob("*.*")),
    }


@pytest.mark.parametrize("stories", [True, False])
def test_each_story_shows_only_with_stories(runs: dict[bool, Run], stories: bool) -> None:
    markers = _markers(runs[stories])
    assert markers == dict.fromkeys(markers, stories)
    assert len(markers) == 6


def test_healthy_company_keeps_the_same_traffic(runs: dict[bool, Run]) -> None:
    # Same requests per (day, principal) once the runaway burst and the provisioned model's calls are
    # taken out of the story-full company.
    def per_day_and_principal(records: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
        return Counter((_day(r), r["identity"]["arn"]) for r in records)

    storied = [
        r
        for r in runs[True].records
        if r["modelId"] != PROVISIONED_MODEL_ARN and _metadata(r, "session") != RUNAWAY_SESSION
    ]
    assert per_day_and_principal(runs[False].records) == per_day_and_principal(storied)
    assert len({_day(r) for r in runs[False].records}) == DAYS


def test_healthy_agent_keeps_its_normal_usage_every_day(healthy: Run) -> None:
    agent = [r for r in healthy.records if AGENT_ARN_PART in r["identity"]["arn"]]
    per_day = Counter(_day(r) for r in agent)
    assert len(per_day) == DAYS
    assert max(per_day.values()) <= 2 * statistics.median(per_day.values())
    assert RUNAWAY_SESSION not in {_metadata(r, "session") for r in agent}


def test_healthy_classifier_and_copy_writer_use_active_efficient_models(healthy: Run) -> None:
    haiku = next(m for m in DEMO_MODELS if m.model_id == _base_model_id(HAIKU_4_5))
    assert (haiku.lifecycle, haiku.tier) == ("ACTIVE", "efficient")
    for application in ("txn-classifier", "copy-writer"):
        calls = _ok(healthy.records, application)
        assert len({_day(r) for r in calls}) == DAYS, application
        assert {r["modelId"] for r in calls} == {HAIKU_4_5}, application
    assert not any(r["bill_billing_entity"] == "AWS Marketplace" for r in healthy.cur_rows)


def test_healthy_helpdesk_caches_its_system_prompt(healthy: Run) -> None:
    calls = sorted(_ok(healthy.records, "helpdesk-bot"), key=lambda r: (r["timestamp"], r["requestId"]))
    assert len({_day(r) for r in calls}) == DAYS
    for record in calls:
        system = record["input"]["inputBodyJson"]["system"]
        assert system[-1] == {"cachePoint": {"type": "default"}}
        inp, usage = record["input"], record["output"]["outputBodyJson"]["usage"]
        read, write = inp["cacheReadInputTokenCount"], inp["cacheWriteInputTokenCount"]
        assert (read == 0) != (write == 0)  # the prefix is either read or written, never both or neither
        assert 5_500 <= inp["inputTokenCount"] + read + write <= 6_500
        assert (usage["cacheReadInputTokens"], usage["cacheWriteInputTokens"]) == (read, write)
        assert usage["inputTokens"] == inp["inputTokenCount"]

    # A cache write when the prefix is cold (first call of the day, or the last call was 5 minutes ago
    # or more); a read otherwise.
    previous: datetime | None = None
    for record in calls:
        ts = datetime.fromisoformat(record["timestamp"].replace("Z", "+00:00"))
        warm = previous is not None and previous.date() == ts.date() and ts - previous < CACHE_TTL
        assert (record["input"]["cacheReadInputTokenCount"] > 0) == warm, record["requestId"]
        previous = ts

    reads = sum(r["input"]["cacheReadInputTokenCount"] > 0 for r in calls)
    assert reads >= 0.5 * len(calls)  # caching pays: writes cost 1.25x input, reads 0.1x


def test_healthy_helpdesk_cache_rows_match_the_logs(healthy: Run) -> None:
    support_bot = "assumed-role/SupportBotLambdaRole/support-bot-fn"
    logged: dict[tuple[str, str], int] = defaultdict(int)
    for record in _ok(healthy.records, "helpdesk-bot"):
        logged[(_day(record), "cache-read")] += record["input"]["cacheReadInputTokenCount"]
        logged[(_day(record), "cache-write")] += record["input"]["cacheWriteInputTokenCount"]
    billed: dict[tuple[str, str], float] = defaultdict(float)
    for row in healthy.cur_rows:
        usage_type = row["line_item_usage_type"]
        if support_bot in row["line_item_iam_principal"] and usage_type.startswith("USE1-Claude4.6Sonnet-cache-"):
            kind = "cache-read" if "-cache-read-" in usage_type else "cache-write"
            billed[(row["line_item_usage_start_date"][:10], kind)] += float(row["line_item_usage_amount"]) * 1000
    assert {k for k, v in logged.items() if v} == set(billed)
    for key, tokens in billed.items():
        assert tokens == pytest.approx(logged[key]), key


def test_healthy_bill_has_one_delivery_of_usage_rows_that_matches_the_estimates(healthy: Run) -> None:
    assert healthy.summary.cur_first_delivery == []
    assert not (healthy.root / "cur-first-delivery").exists()
    assert [m.parent.name for m in healthy.summary.cur_manifests] == [
        "BILLING_PERIOD=2026-10",
        "BILLING_PERIOD=2026-11",
    ]
    assert {r["line_item_line_item_type"] for r in healthy.cur_rows} == {"Usage"}
    assert not any("ProvisionedThroughput" in r["line_item_usage_type"] for r in healthy.cur_rows)

    estimate: dict[str, float] = defaultdict(float)
    for record in healthy.records:
        estimate[_day(record)] += _request_dollars(record)
    billed: dict[str, float] = defaultdict(float)
    for row in healthy.cur_rows:
        if _is_token_row(row):
            billed[row["line_item_usage_start_date"][:10]] += float(row["line_item_unblended_cost"])
    assert billed.keys() == estimate.keys()
    for day, dollars in estimate.items():
        assert billed[day] == pytest.approx(dollars, rel=0.01), day
    assert 400 <= statistics.median(estimate.values()) <= 900


def test_healthy_output_is_deterministic_and_differs_from_the_story_full_one(tmp_path: Path) -> None:
    generate_demo(tmp_path / "a", end_date=END, days=12, stories=False)
    generate_demo(tmp_path / "b", end_date=END, days=12, stories=False)
    generate_demo(tmp_path / "c", end_date=END, days=12)
    healthy = _tree(tmp_path / "a")
    assert healthy == _tree(tmp_path / "b")
    assert healthy != _tree(tmp_path / "c")
