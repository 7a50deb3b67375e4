"""prompt_caching: a long prompt prefix sent again and again without caching.

Group requests by (application or principal, model, prefix hash). A group qualifies with at least 20
requests in the window, a prefix at or above the model's minimum cacheable length, and no cache reads.
Prefix tokens P = prefix characters / 4, capped by the group's smallest input. A 5-minute cache is
simulated over the actual request times: a request within 5 minutes of the previous one with that
prefix reads the cache, any other writes it. Savings = reads x P x (input - cache read price) -
writes x P x (cache write - input price), scaled to 30 days. Where the model has a 1-hour cache
write price, the same is simulated with a 1-hour TTL (at its write price), and the card recommends
whichever saves more: sparse traffic that a 5-minute cache misses often pays off with 1 hour.

Requests whose bodies were not delivered (text delivery off, or large bodies in S3) cannot be
measured: when many long uncached requests of a group lack bodies, the card says to turn on text
delivery instead of guessing."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from recommendations.cards import Card, fingerprint, sample_ids
from recommendations.inputs import Inputs, Request
from recommendations.recommenders.common import dollars, monthly, name, per_token, who

MIN_REQUESTS = 20
MIN_MONTHLY_SAVINGS = Decimal(5)
CHARS_PER_TOKEN = 4
TTL = timedelta(minutes=5)
ONE_HOUR = timedelta(hours=1)
# Smallest prefix a cache point accepts, by family (Anthropic: 1,024 tokens, Haiku 2,048; Nova: 1,000).
MIN_CACHEABLE = {"claude-haiku": 2048, "nova": 1000}
DEFAULT_MIN_CACHEABLE = 1024
NO_BODY_MIN_INPUT = 2000  # average input tokens above which an unmeasurable group is worth a look

CONVERSE_SNIPPET = """response = bedrock.converse(
    modelId=MODEL_ID,
    system=[
        {"text": SYSTEM_PROMPT},
        {"cachePoint": {"type": "default"}},  # everything above is cached for 5 minutes
    ],
    messages=messages,
)"""
ANTHROPIC_SNIPPET = """body = {
    "anthropic_version": "bedrock-2023-05-31",
    "system": [
        {"type": "text", "text": SYSTEM_PROMPT, "cache_control": {"type": "ephemeral"}},
    ],
    "messages": messages,
    "max_tokens": 1024,
}
bedrock.invoke_model(modelId=MODEL_ID, body=json.dumps(body))"""


def min_cacheable(family: str) -> int:
    return MIN_CACHEABLE.get(family, DEFAULT_MIN_CACHEABLE)


def simulate(requests: list[Request], ttl: timedelta = TTL) -> tuple[int, int]:
    """(cache reads, cache writes) of a cache with this TTL over these requests' times."""
    reads = writes = 0
    last = None
    for request in sorted(requests, key=lambda r: r.usage_start):
        if last is not None and request.usage_start - last <= ttl:
            reads += 1
        else:
            writes += 1
        last = request.usage_start  # every use of the prefix keeps it cached another 5 minutes
    return reads, writes


def _card(inputs: Inputs, key: tuple[str, str, str, str], group: list[Request]) -> Card | None:
    dimension, value, model_id, prefix_hash = key
    catalog = inputs.catalog
    sample = group[0]
    prefix_tokens = min(max(r.prefix_chars or 0 for r in group) // CHARS_PER_TOKEN, min(r.input_tokens for r in group))
    if prefix_tokens < min_cacheable(sample.model_family):
        return None
    prices = {t: per_token(catalog, model_id, t, sample) for t in ("input", "cache_read", "cache_write")}
    if any(p is None for p in prices.values()):
        return None
    inp, read = prices["input"], prices["cache_read"]
    options = [("5m", TTL, prices["cache_write"])]
    one_hour = per_token(catalog, model_id, "cache_write", sample, cache_ttl="1h")
    if one_hour is not None and one_hour != prices["cache_write"]:
        options.append(("1h", ONE_HOUR, one_hour))
    best = None
    for label, ttl, write in options:
        reads, writes = simulate(group, ttl)
        window = reads * prefix_tokens * (inp - read) - writes * prefix_tokens * (write - inp)
        if best is None or window > best[0]:
            best = (window, label, write, reads, writes)
    window, ttl_label, write, reads, writes = best
    savings = monthly(window, inputs.window_days)
    if savings < MIN_MONTHLY_SAVINGS:
        return None
    scope = {dimension: value, "model_id": model_id}
    invoke_model = sum(1 for r in group if r.operation.startswith("InvokeModel")) > len(group) / 2
    snippet = ANTHROPIC_SNIPPET if invoke_model else CONVERSE_SNIPPET
    if ttl_label == "1h":
        snippet = (
            snippet.replace('{"type": "ephemeral"}', '{"type": "ephemeral", "ttl": "1h"}')
            .replace('{"type": "default"}', '{"type": "default", "ttl": "1h"}')
            .replace("cached for 5 minutes", "cached for 1 hour")
        )
    return Card(
        kind="prompt_caching",
        fingerprint=fingerprint("prompt_caching", **scope, prefix_hash=prefix_hash),
        title=(
            f"{value}: cache the {prefix_tokens:,}-token prompt prefix sent {len(group):,} times to "
            f"{name(catalog, model_id)} — save {dollars(savings)}/month"
        ),
        scope=scope,
        monthly_savings_usd=savings,
        confidence="high" if reads >= 3 * writes else "medium",
        evidence={
            "request_ids": sample_ids([r.request_id for r in group]),
            "requests": len(group),
            "prefix_tokens": prefix_tokens,
            "prefix_hash": prefix_hash,
            "simulated_cache_reads": reads,
            "simulated_cache_writes": writes,
            "input_price_per_1m": str(inp * 1_000_000),
            "cache_read_price_per_1m": str(read * 1_000_000),
            "cache_write_price_per_1m": str(write * 1_000_000),
            "cache_ttl": ttl_label,
            "window_days": inputs.window_days,
        },
        math=(
            f"The same {prefix_tokens:,}-token prefix (its characters / 4) went out {len(group):,} times in "
            f"{inputs.window_days} days with no cache reads. A {'1-hour' if ttl_label == '1h' else '5-minute'} cache "
            "over the real request times would "
            f"read it {reads:,} times (saving the input price minus the cache-read price on each) and write it "
            f"{writes:,} times (costing the cache-write premium): {dollars(window)} in the window, "
            f"{dollars(savings)} per 30 days."
        ),
        action=(
            f"Mark the end of the reusable prefix with a {'1-hour' if ttl_label == '1h' else '5-minute'} cache point: "
            + (
                "`cache_control` on the last system block of the Anthropic body."
                if invoke_model
                else "a `cachePoint` block after the system prompt in the Converse call."
            )
        ),
        snippet=snippet,
    )


def _no_body_card(inputs: Inputs, key: tuple[str, str, str], group: list[Request]) -> Card:
    dimension, value, model_id = key
    regions = sorted({r.region for r in group if r.region})
    scope = {dimension: value, "model_id": model_id}
    return Card(
        kind="prompt_caching",
        fingerprint=fingerprint("prompt_caching", **scope, prefix_hash="(no body)"),
        title=(
            f"{value}: {len(group):,} long uncached calls to {name(inputs.catalog, model_id)} — "
            "turn on text delivery to check"
        ),
        scope=scope,
        confidence="low",
        evidence={
            "request_ids": sample_ids([r.request_id for r in group]),
            "requests": len(group),
            "avg_input_tokens": sum(r.input_tokens for r in group) // len(group),
        },
        math="These requests are long and never read the cache, but their bodies were not logged, so the "
        "repeated part of the prompt cannot be measured: no savings are claimed.",
        action=(
            f"Turn on text delivery for model invocation logging in {', '.join(regions) or 'its region'} "
            "(textDataDeliveryEnabled): the next run measures the prompt prefix and the caching savings."
        ),
    )


def _caches(group: list[Request]) -> bool:
    """The group already uses caching (a read, or a marked cache point): nothing to recommend."""
    return any(r.cache_read_tokens or r.uses_caching for r in group)


def recommend(inputs: Inputs) -> list[Card]:
    measured: dict[tuple[str, str, str, str], list[Request]] = defaultdict(list)
    unmeasured: dict[tuple[str, str, str], list[Request]] = defaultdict(list)
    for request in inputs.window_requests():
        if not request.model_id or request.error_code:
            continue
        dimension, value = who(request)
        if request.prefix_chars is None:
            unmeasured[(dimension, value, request.model_id)].append(request)
        elif request.prefix_hash:
            measured[(dimension, value, request.model_id, request.prefix_hash)].append(request)
    cards = [
        card
        for key, group in measured.items()
        if len(group) >= MIN_REQUESTS and not _caches(group) and (card := _card(inputs, key, group))
    ]
    for key, group in unmeasured.items():
        if _caches(group):
            continue
        long = [r for r in group if r.input_tokens >= min_cacheable(r.model_family)]
        if len(long) >= 5 * MIN_REQUESTS and sum(r.input_tokens for r in long) / len(long) >= NO_BODY_MIN_INPUT:
            cards.append(_no_body_card(inputs, key, long))
    return cards
