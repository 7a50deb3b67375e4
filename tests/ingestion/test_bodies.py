"""What recommenders need from bodies, read at parse time: the reusable prefix (its keyed hash and its
length), whether the request already caches, the stop reason. Bodies themselves are never stored."""

from __future__ import annotations

import json
from pathlib import Path

from connections.models import Tenant
from finops.ledger.models import SpendEvent
from ingestion.parsers.bodies import reusable_prefix, stop_reason, uses_caching
from ingestion.services import import_invocation_logs
from tests.fixtures import make_fixtures as mf
from tests.ingestion import malformed as bad

POLICY = "You are Acme's helpdesk assistant. Follow the refund policy: " + "rule. " * 500
TOOL = {
    "toolSpec": {"name": "lookup_order", "description": "Find an order", "inputSchema": {"json": {"type": "object"}}}
}


def test_a_converse_prefix_is_the_system_prompt_tools_and_blocks_up_to_the_last_cache_point() -> None:
    body = {
        "system": [{"text": POLICY}],
        "toolConfig": {"tools": [TOOL]},
        "messages": [
            {"role": "user", "content": [{"text": "earlier turn"}, {"cachePoint": {"type": "default"}}]},
            {"role": "user", "content": [{"text": "the new question"}]},
        ],
    }

    prefix, chars = reusable_prefix(body)

    assert prefix == [
        {"system": [{"text": POLICY}]},
        {"tools": [TOOL]},
        {"messages": [{"text": "earlier turn"}, {"cachePoint": {"type": "default"}}]},
    ]
    assert chars == len(POLICY) + len(json.dumps([TOOL], ensure_ascii=False)) + len("earlier turn")
    assert uses_caching(body)


def test_an_anthropic_body_without_markers_has_only_its_system_prompt_as_prefix() -> None:
    body = {"system": POLICY, "messages": [{"role": "user", "content": "hello"}], "max_tokens": 10}

    prefix, chars = reusable_prefix(body)

    assert (prefix, chars) == ([{"system": POLICY}], len(POLICY))
    assert not uses_caching(body)
    marked = {**body, "system": [{"type": "text", "text": POLICY, "cache_control": {"type": "ephemeral"}}]}
    assert uses_caching(marked)


def test_a_body_with_no_system_tools_or_markers_has_no_prefix() -> None:
    assert reusable_prefix({"messages": [{"role": "user", "content": [{"text": "hi"}]}]}) is None
    assert reusable_prefix("not a body") is None


def test_stop_reasons_of_converse_anthropic_and_streamed_bodies() -> None:
    assert stop_reason({"stopReason": "end_turn"}) == "end_turn"
    assert stop_reason({"stop_reason": "max_tokens"}) == "max_tokens"
    stream = [{"messageStart": {"role": "assistant"}}, {"messageStop": {"stopReason": "tool_use"}}]
    assert stop_reason(stream) == "tool_use"
    assert stop_reason(None) == ""


def test_the_ledger_keeps_the_prefix_hash_and_length_not_the_body(tenant: Tenant, tmp_path: Path) -> None:
    records = bad.many_log_records(3)
    for record in records[:2]:
        record["input"]["inputBodyJson"] = {"system": [{"text": POLICY}], "messages": [{"role": "user", "content": []}]}
    records[1]["input"]["inputBodyJson"]["messages"] = [{"role": "user", "content": [{"text": "a different turn"}]}]
    del records[2]["input"]["inputBodyJson"]  # large body delivered to S3 / text delivery off
    records[2]["input"]["inputBodyS3Path"] = "s3://acme-logs/data/x_input.json.gz"
    path = tmp_path / "bodies.jsonl"
    path.write_bytes(bad.jsonl_bytes(records))

    import_invocation_logs(tenant=tenant, paths=[path])

    rows = {e.request_id: e for e in SpendEvent.objects.filter(tenant=tenant)}
    first, second, third = (rows[r["requestId"]] for r in records)
    assert first.prefix_hash and first.prefix_hash == second.prefix_hash  # same system prompt, other turns
    assert first.prefix_chars == len(POLICY)
    assert (third.prefix_hash, third.prefix_chars) == ("", None)  # no body: a recommender must say so
    assert first.stop_reason == records[0]["output"]["outputBodyJson"]["stopReason"]
    stored = json.dumps(list(SpendEvent.objects.filter(tenant=tenant).values()), default=str)
    assert "helpdesk assistant" not in stored


def test_a_request_that_read_the_cache_uses_caching(tenant: Tenant) -> None:
    import_invocation_logs(tenant=tenant, paths=[mf.LOGS_JSONL])

    cached = SpendEvent.objects.get(tenant=tenant, request_id="5b1d3f6e-0a1b-4c2d-8e3f-000000000001")

    assert cached.cache_read_tokens > 0 and cached.uses_caching
