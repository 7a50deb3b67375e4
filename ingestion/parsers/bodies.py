"""What the recommenders need from request and response bodies, read at parse time (bodies are never
stored): the reusable prefix of a prompt, whether the request already marks a cache point, and the
stop reason. Pure; works on Converse bodies, Anthropic Messages bodies (InvokeModel) and Nova's.

The reusable prefix is what stays the same from call to call and what a cache point can cover: the
system prompt, then the tool definitions, then the first message blocks up to the last block that
carries a `cachePoint` (Converse, Nova) or `cache_control` (Anthropic) marker, if any."""

from __future__ import annotations

import json
from typing import Any

CACHE_MARKERS = ("cachePoint", "cache_control")
MAX_DEPTH = 64  # bodies nested deeper than this are not prompts worth measuring
STOP_KEYS = ("stopReason", "stop_reason", "completionReason")


def _has_marker(value: Any, depth: int = 0) -> bool:
    """Whether a dict at most MAX_DEPTH levels down has a cache marker key. (Scalars are not visited:
    they have none.)"""
    if depth > MAX_DEPTH:
        return False
    if isinstance(value, dict):
        if "cachePoint" in value or "cache_control" in value:
            return True
        children: Any = value.values()
    elif isinstance(value, list):
        children = value
    else:
        return False
    depth += 1
    for child in children:
        if isinstance(child, dict | list) and _has_marker(child, depth):
            return True
    return False


def text_length(value: Any, depth: int = 0) -> int:
    """Characters of prompt text in a structure: every string value except the short markers
    (types, roles, cache-point kinds), which carry no tokens worth counting."""
    if depth > MAX_DEPTH:
        return 0
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(
            text_length(v, depth + 1)
            for k, v in value.items()
            if k not in {"type", "role", "cachePoint", "cache_control", "ttl"}
        )
    if isinstance(value, list):
        return sum(text_length(v, depth + 1) for v in value)
    return 0


def _blocks(message: Any) -> list[Any]:
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        return [{"text": content}]
    return list(content) if isinstance(content, list) else []


def reusable_prefix(body: Any, *, markers: bool = True) -> tuple[Any, int] | None:
    """(the prefix, its characters of text), or None when the body has none (or is not a prompt).

    `markers=False`: the caller knows no block carries a cache marker (its record's text has none), so
    the blocks are not searched for one."""
    if not isinstance(body, dict):
        return None
    parts: list[Any] = []
    if body.get("system"):
        parts.append({"system": body["system"]})
    tool_config = body.get("toolConfig")
    tools = body.get("tools") or (tool_config.get("tools") if isinstance(tool_config, dict) else None)
    if tools:
        parts.append({"tools": tools})
    messages = body.get("messages")
    if markers and isinstance(messages, list):
        flat = [block for message in messages for block in _blocks(message)]
        last = next((n for n in range(len(flat) - 1, -1, -1) if _has_marker(flat[n])), None)
        if last is not None:
            parts.append({"messages": flat[: last + 1]})
    if not parts:
        return None
    chars = sum(
        len(json.dumps(part["tools"], ensure_ascii=False)) if "tools" in part else text_length(part) for part in parts
    )
    return parts, chars


def uses_caching(body: Any) -> bool:
    """Whether the request marks a cache point anywhere (system, tools or messages)."""
    return _has_marker(body)


def stop_reason(body: Any) -> str:
    """The response's stop reason: Converse `stopReason`, Anthropic `stop_reason`, or the last one in a
    streamed body (a list of events: `messageStop.stopReason`, `delta.stop_reason`)."""
    found = ""
    for event in body[:10_000] if isinstance(body, list) else (body,):
        if not isinstance(event, dict):
            continue
        for holder in (event, event.get("messageStop"), event.get("delta"), event.get("message")):
            if isinstance(holder, dict):
                for key in STOP_KEYS:
                    value = holder.get(key)
                    if isinstance(value, str) and value:
                        found = value
    return found[:32]
