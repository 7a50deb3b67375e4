"""Deterministic synthetic "Acme Corp" Bedrock usage, written in the exact AWS file formats.

``generate_demo(out_dir)`` writes, under ``out_dir``:

* ``invocation-logs/AWSLogs/<acct>/BedrockModelInvocationLogs/<region>/YYYY/MM/DD/HH/
  <YYYYMMDDTHHMMSSZ>_<hex>.json.gz``: model invocation log records (reference B.2), one file
  per (account, region, hour) with traffic, plus large-body objects under ``.../HH/data/``
  and one ``amazon-bedrock-logs-permission-check`` object per account (importers skip both).
* ``cur/cur2/bedrock-cur2/{data,metadata}/BILLING_PERIOD=YYYY-MM/...``: the final CUR 2.0
  delivery, one manifest per billing period. The earliest period is Parquet when the range
  spans two or more periods; every other period is gzip CSV.
* ``cur-first-delivery/cur2/bedrock-cur2/...``: the FIRST delivery of the restated period
  (same S3 layout, different ``executionId``).

CUR token rows are aggregated from the very requests written to the logs, per (day, account,
region, principal, model, token type, route/resource, operation), so billed and estimated
dollars agree to rounding except where a story below says otherwise.

Same ``seed``, ``end_date`` and ``stories`` give byte-identical files: every random draw comes
from a ``random.Random`` seeded with ``(seed, day, workload)``, gzip is written with ``mtime=0``
and uuids are drawn from those seeded generators.

Stories planted for recommenders and anomaly detectors (``E`` = ``end_date``)
--------------------------------------------------------------------------------------
1. Runaway agent loop, on day ``E - 9`` (``RUNAWAY_OFFSET_DAYS``): principal
   ``arn:aws:sts::111111111111:assumed-role/AgentCoreRuntimeRole/BedrockAgentCore-0b425b4e-...``
   (``AGENT_PRINCIPAL_ARN``), requestMetadata ``agent=ticket-triage-agent``, model
   ``global.anthropic.claude-sonnet-4-6`` from us-east-1, fires ~10x its normal daily requests
   between 01:00 and 06:59 UTC, one call after the other (``RUNAWAY_WINDOW``), all in one
   ``session`` (``RUNAWAY_SESSION``), each request writing its whole growing context to the
   cache, ~90,000 tokens on the first call up to ~195,000 on the last (``RUNAWAY_CONTEXT``; CUR:
   ``USE1-Claude4.6Sonnet-cache-write-input-token-count-cross-region-global``), answering with a
   short tool call (~150 output tokens, stopReason ``tool_use``: ``RUNAWAY_OUTPUT``), with ~8%
   ``ThrottlingException`` records. The agent
   normally costs ~$2 a day; that day it costs ~$350, which shows on the company's daily total.
2. Flagship model for short classification, every day: principal
   ``arn:aws:sts::111111111111:assumed-role/FraudScoringLambdaRole/txn-classifier-fn``,
   ``team=fraud``, ``application=txn-classifier``, model ``us.anthropic.claude-opus-4-6-v1``,
   InvokeModel, ~150 input tokens and ~5 output tokens per request (~60 requests a day).
3. Long repeated system prompt without caching, every day: principal
   ``arn:aws:sts::111111111111:assumed-role/SupportBotLambdaRole/support-bot-fn``,
   ``team=support``, ``application=helpdesk-bot``, model ``us.anthropic.claude-sonnet-4-6``,
   Converse, ~6,000 input tokens, identical ``inputBodyJson.system`` text
   (``HELPDESK_SYSTEM_PROMPT``, a handbook of ``HELPDESK_PREFIX_TOKENS`` x 4 characters) and zero
   cache read/write tokens.
4. Idle provisioned throughput, the last 14 days only (``PROVISIONED_DAYS``):
   ``PROVISIONED_MODEL_ARN`` (Nova 2 Lite, 1 model unit, no commitment) is created on
   ``E - 13`` (``provisioned_since()``) and billed 24 h/day from that day through ``E`` in CUR
   as ``USE1-Nova2.0Lite-ProvisionedThroughput-NoCommit-ModelUnits`` at $60.50/h = $1,452/day
   (pricing unit ``Hrs``, empty ``line_item_iam_principal``; no rows before ``E - 13``), while
   invocation logs show at most a couple of requests a day with that ARN as ``modelId`` (from
   the platform ``llm-gateway`` role), and none before it exists.
5. LEGACY model in use, every day: ``team=marketing``, principal
   ``arn:aws:iam::111111111111:user/BedrockAPIKey-7f3k``, ``application=copy-writer``, model
   ``anthropic.claude-3-5-haiku-20241022-v1:0``; billed as the Marketplace product
   ``Claude 3.5 Haiku (Amazon Bedrock Edition)`` (usage types ``USE1-MP:USE1_InputTokenCount-
   Units`` / ``...OutputTokenCount-Units``; even-ordinal days in ``1M tokens``, odd-ordinal
   days in ``Units`` of one token).
6. Restated last month: the last billing period that is complete on ``E`` (the month before
   ``E`` unless ``E`` is a month end) is delivered twice. The first delivery (under
   ``cur-first-delivery``) lacks the last ``FIRST_DELIVERY_MISSING_DAYS`` days of the month,
   has ~1.5% lower usage and cost on about a quarter of its rows, and has no Credit/Tax rows.
   The final delivery has the corrected rows plus one ``Credit`` row (-$500.00) and one
   ``Tax`` row (6.25% of the AWS-billed usage). With the default 60 days ending
   2026-11-20 that is 2026-10, missing 2026-10-29..31 in the first delivery.

Stories 1 and 6 need a long enough range: with ``days <= 9`` there is no runaway day, and when
no billing period is complete on ``E`` there is no first delivery (``cur_first_delivery == []``).
With the default 60 days ending 2026-11-20, the runaway day is 2026-11-11, the provisioned
throughput bills 2026-11-07..20, 2026-09 is the Parquet period and 2026-10 the restated one.
``runaway_day()``, ``provisioned_since()`` and ``restated_period()`` compute these for any
``end_date``.

A healthy company: ``generate_demo(..., stories=False)``
-------------------------------------------------------
The same company with the same steady, seasonal traffic (same workloads, seeds and daily volumes)
and none of the six stories, so a recommender run on it should find nothing
(``HEALTHY_WORKLOADS``; ``manage.py demo_setup --healthy`` loads it as tenant ``acme-healthy``):

1. no runaway day: the triage agent keeps its normal usage every day;
2. the transaction classifier calls Claude Haiku 4.5 (``us.`` profile) instead of Opus 4.6;
3. the helpdesk bot caches its system prompt: the Converse body marks a ``cachePoint`` after it,
   and ``HELPDESK_PREFIX_TOKENS`` of each request's ~6,000 input tokens are a cache write when the
   cache is cold and a cache read when the previous successful call was less than
   ``PROMPT_CACHE_TTL`` (5 minutes, refreshed on each use) earlier; CUR bills the same tokens as
   ``USE1-Claude4.6Sonnet-cache-{write,read}-input-token-count`` rows. Its customers send 2-6
   messages each, 20-150 s apart, in one ``session`` (the same daily volume; conversations start
   at the usual hours), so about three calls in four read the cache (with independent arrival
   times fewer than one in five would, and the cache writes would cost more than caching saves);
4. no provisioned throughput: no ``ProvisionedThroughput`` CUR rows and no calls to it;
5. no LEGACY model: copy-writer calls Claude Haiku 4.5 (``us.`` profile), so no Marketplace rows;
6. no restatement: every period is delivered once (nothing is written under
   ``cur-first-delivery``, ``cur_first_delivery == []``) and the final delivery has only ``Usage``
   rows (no Credit, no Tax), so billed dollars match the request estimates on every day.

``stories=True`` (the default) writes the story-full company above, unchanged by this mode (a
test pins its output).

Token spend (requests priced at the ``DEMO_MODELS`` rates) is ~$410-490 on a weekday and a
median day of ~$440 with the default seed, spread over data-science (Sonnet 4.6 document
analysis with prompt caching, Opus 4.6 research), fraud (Opus case review, plus the tiny story-2
classifier calls), platform (Opus code review through the LLM gateway), and smaller search,
support and marketing streams; see the sizing note above ``WORKLOADS``.

Also present: data-science batch rows (CUR only, ``USE1-Claude4.5Haiku-input-tokens-batch``
at 50% of the regional rate, weekdays), an application inference profile
(``APP_PROFILE_ARN`` -> Claude Sonnet 4.6, tagged ``team=marketing``), ``global.`` calls
billed with ``-cross-region-global``, ``eu.`` calls from eu-west-1 (usage-type prefix ``EU``),
untagged principals, ``inputBodyS3Path`` records, and ``errorCode`` records.
"""

from __future__ import annotations

import base64
import csv
import gzip
import hashlib
import io
import json
import math
import random
import shutil
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

# --------------------------------------------------------------------------------------
# The company
# --------------------------------------------------------------------------------------

PROD_ACCOUNT = "111111111111"
DEV_ACCOUNT = "222222222222"
PAYER_ACCOUNT = PROD_ACCOUNT
ACCOUNTS: dict[str, str] = {PROD_ACCOUNT: "acme-prod", DEV_ACCOUNT: "acme-dev"}
# Account tags reach CUR `tags` as `accountTag/<key>`; the dev account is deliberately untagged.
ACCOUNT_TAGS: dict[str, dict[str, str]] = {PROD_ACCOUNT: {"environment": "prod"}, DEV_ACCOUNT: {}}
ACCOUNT_ENVIRONMENT: dict[str, str] = {PROD_ACCOUNT: "prod", DEV_ACCOUNT: "dev"}

TEAMS = ("search", "support", "data-science", "marketing", "platform", "fraud")
REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
REGION_PREFIX: dict[str, str] = {"us-east-1": "USE1", "us-west-2": "USW2", "eu-west-1": "EU"}
REGION_NAMES: dict[str, str] = {
    "us-east-1": "US East (N. Virginia)",
    "us-west-2": "US West (Oregon)",
    "eu-west-1": "EU (Ireland)",
}

CUR_BUCKET = "acme-cur-bucket"
CUR_PREFIX = "cur2"
EXPORT_NAME = "bedrock-cur2"
LOG_BUCKET = "acme-bedrock-logs"

APP_PROFILE_ID = "a1b2c3d4e5f6"
APP_PROFILE_ARN = f"arn:aws:bedrock:us-east-1:{PROD_ACCOUNT}:application-inference-profile/{APP_PROFILE_ID}"
APP_PROFILE_TAGS: dict[str, str] = {
    "team": "marketing",
    "application": "campaign-writer",
    "cost-center": "CC-4001",
}
PROVISIONED_MODEL_ARN = f"arn:aws:bedrock:us-east-1:{PROD_ACCOUNT}:provisioned-model/n2l1te7pt0a1"
PROVISIONED_TAGS: dict[str, str] = {"team": "platform", "application": "llm-gateway"}
PROVISIONED_USAGE_TYPE = "USE1-Nova2.0Lite-ProvisionedThroughput-NoCommit-ModelUnits"
PROVISIONED_HOURLY_RATE = Decimal("60.50")
PROVISIONED_MODEL_UNITS = 1
PROVISIONED_DAYS = 14  # the provisioned model exists (and bills) for the last 14 days only
BATCH_JOB_PREFIX = f"arn:aws:bedrock:us-east-1:{PROD_ACCOUNT}:model-invocation-job/"

RUNAWAY_OFFSET_DAYS = 9
RUNAWAY_MULTIPLIER = 10
RUNAWAY_SESSION = "triage-loop-7c41d2"
# The loop re-sends a growing context that it writes to the cache on every call: from ~90k tokens
# on its first call to ~195k on its last (Claude Sonnet 4.6's 200k window).
RUNAWAY_CONTEXT = (90_000, 195_000)
RUNAWAY_OUTPUT = (150, 0.3)  # each loop step is a short tool call: (median, lognormal sigma) output tokens
RUNAWAY_WINDOW = (1, 7)  # the loop runs from 01:00 to 06:59 UTC
CONTEXT_LIMIT = 200_000  # prompt tokens (uncached + cache read + cache write) per request
PROMPT_CACHE_TTL = timedelta(minutes=5)  # a cached prefix lives 5 minutes after its last use
HELPDESK_PREFIX_TOKENS = 5_600  # the helpdesk system prompt's tokens (of ~6,000 input tokens a request)
FIRST_DELIVERY_MISSING_DAYS = 3
CREDIT_AMOUNT = Decimal("-500.00")
TAX_RATE = Decimal("0.0625")

MARKETPLACE_PRODUCT_CODE = "7zgyu5r4abcd1234efgh5678"


@dataclass(frozen=True)
class Prices:
    """USD per 1M tokens. ``None`` means the model has no such charge."""

    input: float
    output: float
    cache_write: float | None = None
    cache_read: float | None = None

    def for_token_type(self, token_type: str) -> float | None:
        return {
            "input": self.input,
            "output": self.output,
            "cache_write": self.cache_write,
            "cache_read": self.cache_read,
        }[token_type]


@dataclass(frozen=True)
class DemoModel:
    """One model of the demo catalog (prices from reference section F)."""

    key: str
    model_id: str  # base foundation-model id
    name: str
    provider: str
    usage_token: str  # the model part of CUR usage types, e.g. Claude4.6Sonnet
    product_code: str
    product_name: str
    tier: str  # flagship | balanced | efficient
    lifecycle: str  # ACTIVE | LEGACY
    prices: Prices  # in-region and geo (us./eu.) rate
    global_prices: Prices | None = None
    batch_prices: Prices | None = None
    runtime_ids: tuple[str, ...] = ()
    marketplace: bool = False
    logs_cache_fields: bool = True  # whether log records carry cache*InputTokenCount
    ms_per_output_token: float = 20.0


DEMO_MODELS: tuple[DemoModel, ...] = (
    DemoModel(
        key="claude-opus-4-6",
        model_id="anthropic.claude-opus-4-6-v1",
        name="Claude Opus 4.6",
        provider="Anthropic",
        usage_token="Claude4.6Opus",
        product_code="AmazonBedrockService",
        product_name="Amazon Bedrock Service",
        tier="flagship",
        lifecycle="ACTIVE",
        prices=Prices(5.50, 27.50, 6.875, 0.55),
        global_prices=Prices(5.00, 25.00, 6.25, 0.50),
        batch_prices=Prices(2.75, 13.75),
        runtime_ids=("us.anthropic.claude-opus-4-6-v1", "global.anthropic.claude-opus-4-6-v1"),
        ms_per_output_token=35.0,
    ),
    DemoModel(
        key="claude-sonnet-4-6",
        model_id="anthropic.claude-sonnet-4-6",
        name="Claude Sonnet 4.6",
        provider="Anthropic",
        usage_token="Claude4.6Sonnet",
        product_code="AmazonBedrockService",
        product_name="Amazon Bedrock Service",
        tier="balanced",
        lifecycle="ACTIVE",
        prices=Prices(3.30, 16.50, 4.125, 0.33),
        global_prices=Prices(3.00, 15.00, 3.75, 0.30),
        batch_prices=Prices(1.65, 8.25),
        runtime_ids=(
            "us.anthropic.claude-sonnet-4-6",
            "global.anthropic.claude-sonnet-4-6",
            APP_PROFILE_ARN,
        ),
        ms_per_output_token=25.0,
    ),
    DemoModel(
        key="claude-haiku-4-5",
        model_id="anthropic.claude-haiku-4-5-20251001-v1:0",
        name="Claude Haiku 4.5",
        provider="Anthropic",
        usage_token="Claude4.5Haiku",
        product_code="AmazonBedrockService",
        product_name="Amazon Bedrock Service",
        tier="efficient",
        lifecycle="ACTIVE",
        prices=Prices(1.10, 5.50, 1.375, 0.11),
        global_prices=Prices(1.00, 5.00, 1.25, 0.10),
        batch_prices=Prices(0.55, 2.75),
        runtime_ids=(
            "us.anthropic.claude-haiku-4-5-20251001-v1:0",
            "global.anthropic.claude-haiku-4-5-20251001-v1:0",
            "eu.anthropic.claude-haiku-4-5-20251001-v1:0",
        ),
        ms_per_output_token=10.0,
    ),
    DemoModel(
        key="nova-pro",
        model_id="amazon.nova-pro-v1:0",
        name="Nova Pro",
        provider="Amazon",
        usage_token="NovaPro",
        product_code="AmazonBedrock",
        product_name="Amazon Bedrock",
        tier="balanced",
        lifecycle="ACTIVE",
        prices=Prices(0.80, 3.20, None, 0.20),
        batch_prices=Prices(0.40, 1.60),
        runtime_ids=("amazon.nova-pro-v1:0",),
        ms_per_output_token=12.0,
    ),
    DemoModel(
        key="nova-lite",
        model_id="amazon.nova-lite-v1:0",
        name="Nova Lite",
        provider="Amazon",
        usage_token="NovaLite",
        product_code="AmazonBedrock",
        product_name="Amazon Bedrock",
        tier="efficient",
        lifecycle="ACTIVE",
        prices=Prices(0.06, 0.24, None, 0.015),
        batch_prices=Prices(0.03, 0.12),
        runtime_ids=("amazon.nova-lite-v1:0",),
        ms_per_output_token=6.0,
    ),
    DemoModel(
        key="nova-micro",
        model_id="amazon.nova-micro-v1:0",
        name="Nova Micro",
        provider="Amazon",
        usage_token="NovaMicro",
        product_code="AmazonBedrock",
        product_name="Amazon Bedrock",
        tier="efficient",
        lifecycle="ACTIVE",
        prices=Prices(0.035, 0.14, None, 0.00875),
        batch_prices=Prices(0.0175, 0.07),
        runtime_ids=("amazon.nova-micro-v1:0",),
        ms_per_output_token=4.0,
    ),
    DemoModel(
        key="nova-2-lite",
        model_id="amazon.nova-2-lite-v1:0",
        name="Nova 2 Lite",
        provider="Amazon",
        usage_token="Nova2.0Lite",
        product_code="AmazonBedrock",
        product_name="Amazon Bedrock",
        tier="efficient",
        lifecycle="ACTIVE",
        prices=Prices(0.33, 2.75, None, 0.0825),
        global_prices=Prices(0.30, 2.50, None, 0.075),
        runtime_ids=("us.amazon.nova-2-lite-v1:0", "global.amazon.nova-2-lite-v1:0", PROVISIONED_MODEL_ARN),
        ms_per_output_token=7.0,
    ),
    DemoModel(
        key="llama-3-3-70b",
        model_id="meta.llama3-3-70b-instruct-v1:0",
        name="Llama 3.3 70B Instruct",
        provider="Meta",
        usage_token="Llama3.3-70B",
        product_code="AmazonBedrock",
        product_name="Amazon Bedrock",
        tier="balanced",
        lifecycle="ACTIVE",
        prices=Prices(0.72, 0.72),
        batch_prices=Prices(0.36, 0.36),
        runtime_ids=("meta.llama3-3-70b-instruct-v1:0",),
        logs_cache_fields=False,
        ms_per_output_token=15.0,
    ),
    DemoModel(
        key="claude-3-5-haiku",
        model_id="anthropic.claude-3-5-haiku-20241022-v1:0",
        name="Claude 3.5 Haiku",
        provider="Anthropic",
        usage_token="Claude3.5Haiku",  # not used in usage types: Marketplace rows carry MP: types
        product_code=MARKETPLACE_PRODUCT_CODE,
        product_name="Claude 3.5 Haiku (Amazon Bedrock Edition)",
        tier="efficient",
        lifecycle="LEGACY",
        prices=Prices(0.80, 4.00, 1.00, 0.08),
        runtime_ids=("anthropic.claude-3-5-haiku-20241022-v1:0",),
        marketplace=True,
        ms_per_output_token=9.0,
    ),
)
MODELS_BY_KEY: dict[str, DemoModel] = {m.key: m for m in DEMO_MODELS}

PRINCIPAL_SHAPES = ("iam_user", "api_key", "assumed_role", "federated_user", "sso_user", "service")


@dataclass(frozen=True)
class DemoPrincipal:
    key: str
    arn: str
    account_id: str
    shape: str  # one of PRINCIPAL_SHAPES
    team: str
    iam_tags: Mapping[str, str] = field(default_factory=dict)  # -> CUR tags iamPrincipal/<key>
    user_attributes: Mapping[str, str] = field(default_factory=dict)  # -> userAttribute/<key>


def _sts(account: str, role: str, session: str) -> str:
    return f"arn:aws:sts::{account}:assumed-role/{role}/{session}"


def _iam(account: str, user: str) -> str:
    return f"arn:aws:iam::{account}:user/{user}"


AGENT_PRINCIPAL_ARN = _sts(
    PROD_ACCOUNT, "AgentCoreRuntimeRole", "BedrockAgentCore-0b425b4e-6f1d-4c2a-9e3b-7a1c5d9e2f40"
)

DEMO_PRINCIPALS: tuple[DemoPrincipal, ...] = (
    # --- prod 111111111111 ---
    DemoPrincipal(
        "alice",
        _iam(PROD_ACCOUNT, "alice"),
        PROD_ACCOUNT,
        "iam_user",
        "search",
        {"team": "search", "cost-center": "CC-1001", "application": "search-api"},
    ),
    DemoPrincipal(
        "search-reranker",
        _sts(PROD_ACCOUNT, "SearchRerankerLambdaRole", "search-reranker-fn"),
        PROD_ACCOUNT,
        "assumed_role",
        "search",
        {"team": "search", "cost-center": "CC-1001", "application": "search-reranker"},
    ),
    DemoPrincipal(
        "search-eu", _sts(PROD_ACCOUNT, "SearchEuLambdaRole", "search-eu-fn"), PROD_ACCOUNT, "assumed_role", "search"
    ),  # untagged
    DemoPrincipal(
        "support-bot",
        _sts(PROD_ACCOUNT, "SupportBotLambdaRole", "support-bot-fn"),
        PROD_ACCOUNT,
        "assumed_role",
        "support",
        {"team": "support", "cost-center": "CC-2001", "application": "helpdesk-bot"},
    ),
    DemoPrincipal(
        "triage-agent",
        AGENT_PRINCIPAL_ARN,
        PROD_ACCOUNT,
        "service",
        "support",
        {"team": "support", "cost-center": "CC-2001", "application": "ticket-triage-agent"},
    ),
    DemoPrincipal(
        "dana",
        _sts(PROD_ACCOUNT, "BedrockFederatedRole", "dana@acme.example"),
        PROD_ACCOUNT,
        "federated_user",
        "support",
        {"team": "support", "cost-center": "CC-2001"},
    ),
    DemoPrincipal(
        "erin",
        _sts(PROD_ACCOUNT, "AWSReservedSSO_DataScientist_0a1b2c3d4e5f6a7b", "erin@acme.example"),
        PROD_ACCOUNT,
        "sso_user",
        "data-science",
        {"team": "data-science", "cost-center": "CC-3001"},
        {"Department": "DataScience"},
    ),
    DemoPrincipal(
        "frank",
        _sts(PROD_ACCOUNT, "AWSReservedSSO_DataScientist_0a1b2c3d4e5f6a7b", "frank@acme.example"),
        PROD_ACCOUNT,
        "sso_user",
        "data-science",
        {"team": "data-science", "cost-center": "CC-3001"},
        {"Department": "DataScience"},
    ),
    DemoPrincipal(
        "doc-insights",
        _sts(PROD_ACCOUNT, "DocInsightsPipelineRole", "doc-insights-worker"),
        PROD_ACCOUNT,
        "assumed_role",
        "data-science",
        {"team": "data-science", "cost-center": "CC-3001", "application": "doc-insights"},
    ),
    DemoPrincipal(
        "marketing-key",
        _iam(PROD_ACCOUNT, "BedrockAPIKey-7f3k"),
        PROD_ACCOUNT,
        "api_key",
        "marketing",
        {"team": "marketing", "cost-center": "CC-4001", "application": "copy-writer"},
    ),
    DemoPrincipal("gina", _iam(PROD_ACCOUNT, "gina"), PROD_ACCOUNT, "iam_user", "marketing"),  # untagged
    DemoPrincipal(
        "hank",
        _sts(PROD_ACCOUNT, "BedrockFederatedRole", "hank@acme.example"),
        PROD_ACCOUNT,
        "federated_user",
        "marketing",
        {"team": "marketing", "cost-center": "CC-4001"},
    ),
    DemoPrincipal(
        "llm-gateway",
        _sts(PROD_ACCOUNT, "PlatformGatewayRole", "llm-gateway"),
        PROD_ACCOUNT,
        "assumed_role",
        "platform",
        {"team": "platform", "cost-center": "CC-5001", "application": "llm-gateway"},
    ),
    DemoPrincipal(
        "platform-key", _iam(PROD_ACCOUNT, "BedrockAPIKey-q9z2"), PROD_ACCOUNT, "api_key", "platform"
    ),  # untagged
    DemoPrincipal(
        "runbook-agent",
        _sts(PROD_ACCOUNT, "AgentCoreRuntimeRole", "BedrockAgentCore-5c1d8e2a-3b7f-4d90-8a61-2e4f6b8c0d13"),
        PROD_ACCOUNT,
        "service",
        "platform",
        {"team": "platform", "cost-center": "CC-5001", "application": "ops-runbook-agent"},
    ),
    DemoPrincipal(
        "txn-classifier",
        _sts(PROD_ACCOUNT, "FraudScoringLambdaRole", "txn-classifier-fn"),
        PROD_ACCOUNT,
        "assumed_role",
        "fraud",
        {"team": "fraud", "cost-center": "CC-6001", "application": "txn-classifier"},
    ),
    DemoPrincipal(
        "ivan",
        _iam(PROD_ACCOUNT, "ivan"),
        PROD_ACCOUNT,
        "iam_user",
        "fraud",
        {"team": "fraud", "cost-center": "CC-6001"},
    ),
    # --- dev 222222222222 ---
    DemoPrincipal(
        "dev-key", _iam(DEV_ACCOUNT, "BedrockAPIKey-d3v1"), DEV_ACCOUNT, "api_key", "data-science"
    ),  # untagged
    DemoPrincipal(
        "judy",
        _sts(DEV_ACCOUNT, "AWSReservedSSO_Developer_9f8e7d6c5b4a3f2e", "judy@acme.example"),
        DEV_ACCOUNT,
        "sso_user",
        "platform",
        {"team": "platform"},
        {"Department": "Engineering"},
    ),
    DemoPrincipal(
        "search-dev", _sts(DEV_ACCOUNT, "SearchDevLambdaRole", "search-dev-fn"), DEV_ACCOUNT, "assumed_role", "search"
    ),  # untagged
    DemoPrincipal("kim", _iam(DEV_ACCOUNT, "kim"), DEV_ACCOUNT, "iam_user", "support"),  # untagged
    DemoPrincipal(
        "lee",
        _sts(DEV_ACCOUNT, "BedrockFederatedRole", "lee@acme.example"),
        DEV_ACCOUNT,
        "federated_user",
        "fraud",
        {"team": "fraud", "cost-center": "CC-6001"},
    ),
)
PRINCIPALS_BY_KEY: dict[str, DemoPrincipal] = {p.key: p for p in DEMO_PRINCIPALS}

_HANDBOOK_RULES = (
    "greet the customer by first name and restate the problem in one sentence",
    "never promise refunds; route billing disputes to the billing queue with the invoice number",
    "answer only from the knowledge base excerpts and link the article you used",
    "escalate outages to the on-call rotation and give the customer the status page address",
    "never ask for a full card number, a password or a one-time code",
    "offer the self-service export before opening a data request",
    "plan changes take effect at the next billing date unless the customer asks for pro-rating",
    "keep answers under 150 words; use numbered steps for anything with more than two actions",
    "close by asking whether the answer solved the problem; open a ticket if it did not",
)


def _handbook(chars: int) -> str:
    """The helpdesk bot's system prompt: the same ~``chars`` characters of policy on every request."""
    text = "You are Acme Corp's helpdesk assistant. Follow the Acme support policy handbook below verbatim."
    section = 0
    while len(text) < chars:
        rule = _HANDBOOK_RULES[section % len(_HANDBOOK_RULES)]
        section += 1
        text += f" Section {section}: {rule}."
    return text[:chars]


# ~4 characters a token: the logged prompt really is as long as the tokens it is billed for.
HELPDESK_SYSTEM_PROMPT = _handbook(HELPDESK_PREFIX_TOKENS * 4)


@dataclass(frozen=True)
class Workload:
    """A stream of requests from one principal to one model through one route."""

    key: str
    principal: str
    region: str
    model: str
    route: str  # in_region | geo | global | app_profile | provisioned
    daily: float  # mean requests on a weekday
    input_tokens: tuple[int, float]  # (median, lognormal sigma)
    output_tokens: tuple[int, float]
    operations: tuple[tuple[str, float], ...] = (("Converse", 1.0),)
    weekend_factor: float = 0.35
    hours: str = "business"  # business | flat
    cache: tuple[float, int, int] | None = None  # (hit probability, read median, write median)
    metadata: Mapping[str, str] | None = None
    prompts: tuple[str, ...] = ("Summarise the attached notes in three bullet points.",)
    system_prompt: str | None = None
    error_rate: float = 0.01
    s3_body_fraction: float = 0.0
    users: tuple[str, ...] = ()
    max_tokens: int = 1024  # the request's output cap, as written in the logged body
    thinking: int = 0  # extended-thinking budget in tokens (Anthropic models); billed as output tokens
    cached_prefix: int = 0  # tokens of ``system_prompt`` behind a cache point (0: no cache point)
    turns: tuple[int, int] = (1, 1)  # messages per conversation (min, max); follow-ups come 20-150 s apart


def _md(**kwargs: str) -> dict[str, str]:
    return {k: v for k, v in kwargs.items()}


# Sizing. A company spending a few hundred dollars a day on tokens makes thousands of calls a day;
# the demo keeps the log under ~45,000 records for 60 days (import speed), so most of the dollars
# sit in ~500 long-context, reasoning-heavy calls a weekday, priced at the section-F rates:
#   ds-research (Opus 4.6, ~140k-token prompts, ~24k output incl. thinking)   ~$1.30 a call
#   fraud-investigation (Opus 4.6 global, case files, ~130k prompts, ~12k out) ~$0.80
#   gateway-code-review (Opus 4.6 global, PR diffs, ~100k prompts, ~8k out)   ~$0.50
#   ds-doc-insights (Sonnet 4.6 RAG: 30k-150k retrieved input + ~20k cached
#     instructions, ~13k output)                                             ~$0.50
# while the small, frequent calls (search re-ranking on Nova, the fraud classifier, the helpdesk
# bot, the triage agent) keep everyday sizes and cost cents. Token spend is ~$410-490 a weekday,
# ~$40-60 on weekends (median day ~$440); the runaway day (story 1) adds ~$350.
WORKLOADS: tuple[Workload, ...] = (
    Workload(
        "search-answers",
        "alice",
        "us-east-1",
        "claude-sonnet-4-6",
        "global",
        35,
        (25000, 0.4),
        (900, 0.5),
        (("Converse", 0.6), ("ConverseStream", 0.4)),
        cache=(0.8, 6000, 6000),
        metadata=_md(team="search", application="search-api", environment="prod"),
        prompts=("Answer the query using the retrieved passages.", "Rewrite the query for recall."),
        max_tokens=4096,
    ),
    Workload(
        "search-rerank",
        "search-reranker",
        "us-east-1",
        "nova-micro",
        "in_region",
        40,
        (1200, 0.3),
        (40, 0.4),
        (("InvokeModel", 1.0),),
        weekend_factor=0.6,
        hours="flat",
        metadata=_md(team="search", application="search-reranker", environment="prod"),
        prompts=("Score each passage 0-10 for relevance to the query.",),
    ),
    Workload(
        "search-rerank-lite",
        "search-reranker",
        "us-east-1",
        "nova-lite",
        "in_region",
        10,
        (2000, 0.3),
        (150, 0.4),
        (("InvokeModel", 1.0),),
        weekend_factor=0.6,
        hours="flat",
        cache=(0.5, 1500, 0),
        metadata=_md(team="search", application="search-reranker", environment="prod"),
        prompts=("Extract the entities from the passage.",),
    ),
    Workload(
        "search-eu",
        "search-eu",
        "eu-west-1",
        "claude-haiku-4-5",
        "geo",
        15,
        (3500, 0.4),
        (300, 0.5),
        (("Converse", 1.0),),
        weekend_factor=0.5,
        metadata=_md(team="search", application="search-api-eu"),
        prompts=("Beantworte die Suchanfrage kurz.", "Resume la requete."),
    ),
    Workload(
        "helpdesk-bot",
        "support-bot",
        "us-east-1",
        "claude-sonnet-4-6",
        "geo",
        40,
        (6000, 0.02),
        (450, 0.4),
        (("Converse", 1.0),),
        weekend_factor=0.45,
        metadata=_md(team="support", application="helpdesk-bot", environment="prod"),
        prompts=(
            "My invoice shows a duplicate charge.",
            "How do I reset my password?",
            "The export button does nothing.",
            "Can I change my plan mid-cycle?",
        ),
        system_prompt=HELPDESK_SYSTEM_PROMPT,
        users=tuple(f"cust-{i:05d}" for i in range(1, 400, 7)),
        max_tokens=2048,
    ),
    Workload(
        "ticket-triage",
        "triage-agent",
        "us-east-1",
        "claude-sonnet-4-6",
        "global",
        65,
        (2000, 0.4),
        (700, 0.4),
        (("Converse", 1.0),),
        weekend_factor=0.6,
        hours="flat",
        cache=(0.85, 45000, 6000),
        metadata=_md(
            team="support",
            application="ticket-triage-agent",
            agent="ticket-triage-agent",
            workflow="triage",
            environment="prod",
        ),
        prompts=("Classify the ticket and pick the queue. Tools: search_kb, set_queue.",),
        max_tokens=2048,
    ),
    Workload(
        "support-chat",
        "dana",
        "us-east-1",
        "claude-haiku-4-5",
        "geo",
        8,
        (3000, 0.5),
        (500, 0.5),
        (("ConverseStream", 1.0),),
        metadata=_md(team="support", application="agent-assist", user="dana@acme.example", environment="prod"),
        prompts=("Draft a polite reply to this customer.",),
    ),
    Workload(
        "ds-doc-insights",
        "doc-insights",
        "us-east-1",
        "claude-sonnet-4-6",
        "geo",
        185,
        (80000, 0.35),
        (12000, 0.45),
        (("InvokeModel", 0.5), ("Converse", 0.5)),
        weekend_factor=0.1,
        cache=(0.85, 20000, 20000),
        s3_body_fraction=0.6,
        metadata=_md(team="data-science", application="doc-insights", workflow="contract-review", environment="prod"),
        prompts=(
            "Extract the obligations, renewal terms and liability caps from the attached contract as JSON.",
            "Compare the risk factors in this filing with last year's and list what changed.",
        ),
        max_tokens=32000,
        thinking=8000,
    ),
    Workload(
        "ds-research",
        "erin",
        "us-east-1",
        "claude-opus-4-6",
        "geo",
        170,
        (75000, 0.4),
        (22000, 0.45),
        (("InvokeModelWithResponseStream", 0.5), ("Converse", 0.5)),
        weekend_factor=0.1,
        cache=(0.5, 60000, 60000),
        s3_body_fraction=0.4,
        metadata=_md(
            team="data-science", application="research-notebook", user="erin@acme.example", environment="prod"
        ),
        prompts=("Review this experiment design for confounders.",),
        max_tokens=64000,
        thinking=24000,
    ),
    Workload(
        "ds-research-sonnet",
        "erin",
        "us-east-1",
        "claude-sonnet-4-6",
        "geo",
        4,
        (4000, 0.5),
        (800, 0.5),
        (("Converse", 1.0),),
        cache=(0.5, 6000, 4000),
        metadata=_md(team="data-science", application="research-notebook", user="erin@acme.example"),
        prompts=("Write a pandas snippet that pivots this table.",),
    ),
    Workload(
        "ds-eval",
        "frank",
        "us-east-1",
        "nova-pro",
        "in_region",
        8,
        (6000, 0.4),
        (500, 0.4),
        (("Converse", 1.0),),
        cache=(0.4, 2500, 0),
        metadata=_md(
            team="data-science", application="eval-harness", user="frank@acme.example", workflow="nightly-eval"
        ),
        prompts=("Grade the answer against the rubric.",),
    ),
    Workload(
        "copy-writer",
        "marketing-key",
        "us-east-1",
        "claude-3-5-haiku",
        "in_region",
        12,
        (900, 0.4),
        (450, 0.4),
        (("InvokeModel", 1.0),),
        weekend_factor=0.6,
        metadata=_md(team="marketing", application="copy-writer", user="copy-service"),
        prompts=("Write three subject lines for the autumn sale email.",),
    ),
    Workload(
        "marketing-adhoc-lite",
        "gina",
        "us-east-1",
        "nova-lite",
        "in_region",
        4,
        (800, 0.5),
        (300, 0.5),
        (("Converse", 1.0),),
        prompts=("Translate this tagline into French and German.",),
    ),
    Workload(
        "marketing-adhoc-llama",
        "gina",
        "us-east-1",
        "llama-3-3-70b",
        "in_region",
        3,
        (900, 0.5),
        (350, 0.5),
        (("InvokeModel", 1.0),),
        prompts=("List ten blog post ideas about cloud cost control.",),
    ),
    Workload(
        "campaign-writer",
        "hank",
        "us-east-1",
        "claude-sonnet-4-6",
        "app_profile",
        25,
        (20000, 0.5),
        (6000, 0.4),
        (("InvokeModelWithResponseStream", 1.0),),
        cache=(0.5, 15000, 12000),
        s3_body_fraction=0.3,
        metadata=_md(
            team="marketing", application="campaign-writer", user="hank@acme.example", workflow="campaign-draft"
        ),
        prompts=("Draft the landing page copy for the campaign brief.",),
        max_tokens=16000,
    ),
    Workload(
        "gateway-pro",
        "llm-gateway",
        "us-east-1",
        "nova-pro",
        "in_region",
        12,
        (6000, 0.5),
        (500, 0.5),
        (("Converse", 0.7), ("ConverseStream", 0.3)),
        weekend_factor=0.5,
        hours="flat",
        metadata=_md(team="platform", application="llm-gateway", environment="prod"),
        prompts=("Route: summarise the incident timeline.",),
    ),
    Workload(
        "gateway-code-review",
        "llm-gateway",
        "us-east-1",
        "claude-opus-4-6",
        "global",
        90,
        (50000, 0.5),
        (7000, 0.45),
        (("Converse", 0.5), ("ConverseStream", 0.5)),
        weekend_factor=0.15,
        cache=(0.8, 50000, 20000),
        s3_body_fraction=0.3,
        metadata=_md(team="platform", application="llm-gateway", workflow="code-review", environment="prod"),
        prompts=("Route: review this pull request diff and flag risky changes.",),
        max_tokens=16000,
        thinking=8000,
    ),
    Workload(
        "gateway-provisioned",
        "llm-gateway",
        "us-east-1",
        "nova-2-lite",
        "provisioned",
        0.5,
        (300, 0.3),
        (60, 0.3),
        (("Converse", 1.0),),
        weekend_factor=1.0,
        hours="flat",
        error_rate=0.0,
        metadata=_md(team="platform", application="llm-gateway", environment="prod"),
        prompts=("health-check: reply with OK",),
    ),
    Workload(
        "platform-scripts",
        "platform-key",
        "us-east-1",
        "nova-micro",
        "in_region",
        4,
        (500, 0.5),
        (80, 0.5),
        (("InvokeModel", 1.0),),
        prompts=("Convert this log line to JSON.",),
    ),
    Workload(
        "ops-runbook",
        "runbook-agent",
        "us-east-1",
        "claude-haiku-4-5",
        "global",
        10,
        (3000, 0.4),
        (600, 0.4),
        (("Converse", 1.0),),
        weekend_factor=0.7,
        hours="flat",
        cache=(0.8, 30000, 4000),
        metadata=_md(
            team="platform",
            application="ops-runbook-agent",
            agent="ops-runbook-agent",
            workflow="runbook",
            environment="prod",
        ),
        prompts=("Which runbook step applies to this alarm? Tools: get_runbook, page_oncall.",),
    ),
    Workload(
        "txn-classifier",
        "txn-classifier",
        "us-east-1",
        "claude-opus-4-6",
        "geo",
        60,
        (150, 0.05),
        (5, 0.2),
        (("InvokeModel", 1.0),),
        weekend_factor=0.9,
        hours="flat",
        error_rate=0.005,
        metadata=_md(team="fraud", application="txn-classifier", environment="prod"),
        prompts=(
            "txn amount=129.99 USD merchant=electronics country=US card_present=false",
            "txn amount=12.00 USD merchant=grocery country=US card_present=true",
            "txn amount=2450.00 EUR merchant=jewelry country=NL card_present=false",
        ),
        system_prompt="Classify the transaction as LEGIT or FRAUD. Answer with one word.",
        max_tokens=8,
    ),
    Workload(
        "fraud-investigation",
        "ivan",
        "us-west-2",
        "claude-opus-4-6",
        "global",
        80,
        (60000, 0.45),
        (12000, 0.45),
        (("ConverseStream", 1.0),),
        weekend_factor=0.15,
        cache=(0.6, 60000, 60000),
        metadata=_md(team="fraud", application="case-review", user="ivan"),
        prompts=("Summarise the case file and list open questions.",),
        max_tokens=32000,
        thinking=8000,
        s3_body_fraction=0.3,
    ),
    Workload(
        "fraud-investigation-nova",
        "ivan",
        "us-west-2",
        "nova-pro",
        "in_region",
        3,
        (2000, 0.5),
        (300, 0.5),
        (("Converse", 1.0),),
        metadata=_md(team="fraud", application="case-review", user="ivan"),
        prompts=("Extract merchant names from the statement.",),
    ),
    # --- dev 222222222222 ---
    Workload(
        "dev-nova2",
        "dev-key",
        "us-east-1",
        "nova-2-lite",
        "geo",
        4,
        (1200, 0.6),
        (400, 0.6),
        (("Converse", 1.0),),
        cache=(0.3, 1500, 0),
        metadata=_md(team="data-science", environment="dev"),
        prompts=("test prompt: explain gradient boosting simply",),
    ),
    Workload(
        "dev-sonnet",
        "judy",
        "us-west-2",
        "claude-sonnet-4-6",
        "geo",
        10,
        (4000, 0.5),
        (3000, 0.5),
        (("ConverseStream", 1.0),),
        cache=(0.9, 80000, 15000),
        metadata=_md(team="platform", application="gateway-dev", user="judy@acme.example", environment="dev"),
        prompts=("Refactor this function and explain the change.",),
        max_tokens=8192,
    ),
    Workload(
        "dev-search",
        "search-dev",
        "us-west-2",
        "nova-lite",
        "in_region",
        4,
        (1000, 0.4),
        (100, 0.4),
        (("InvokeModel", 1.0),),
        prompts=("Score each passage 0-10 for relevance to the query.",),
    ),
    Workload(
        "dev-support",
        "kim",
        "us-west-2",
        "claude-haiku-4-5",
        "geo",
        3,
        (1000, 0.5),
        (300, 0.5),
        (("Converse", 1.0),),
        metadata=_md(environment="dev"),
        prompts=("Suggest tags for this support ticket.",),
    ),
    Workload(
        "dev-fraud",
        "lee",
        "us-west-2",
        "llama-3-3-70b",
        "in_region",
        2,
        (700, 0.4),
        (60, 0.4),
        (("InvokeModel", 1.0),),
        metadata=_md(team="fraud", application="txn-classifier-dev", environment="dev"),
        prompts=("txn amount=129.99 USD merchant=electronics -> LEGIT or FRAUD?",),
    ),
)

# The healthy company (``stories=False``): the same workloads with stories 2, 3 and 5 fixed and
# story 4's provisioned model gone; stories 1 and 6 are switched off in ``generate_demo``.
_HEALTHY_FIXES: dict[str, dict[str, Any]] = {
    "txn-classifier": {"model": "claude-haiku-4-5"},  # story 2: an efficient model for one-word answers
    # story 3: prompt caching, on a chat whose customers send a few messages each (as a helpdesk's do),
    # so that most calls find the cache warm
    "helpdesk-bot": {"cached_prefix": HELPDESK_PREFIX_TOKENS, "turns": (2, 6)},
    "copy-writer": {"model": "claude-haiku-4-5", "route": "geo"},  # story 5: an ACTIVE successor
}
HEALTHY_WORKLOADS: tuple[Workload, ...] = tuple(
    replace(wl, **_HEALTHY_FIXES.get(wl.key, {})) for wl in WORKLOADS if wl.route != "provisioned"
)

GEO_TARGETS: dict[str, tuple[str, ...]] = {
    "us-east-1": ("us-east-2", "us-west-2"),
    "us-west-2": ("us-east-1", "us-east-2"),
    "eu-west-1": ("eu-central-1", "eu-west-3", "eu-north-1"),
}
GLOBAL_TARGETS: tuple[str, ...] = ("us-east-2", "us-west-2", "eu-west-1", "ap-northeast-1", "eu-central-1")

_BUSINESS_HOURS = [1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 3, 4, 8, 12, 14, 14, 13, 12, 13, 14, 12, 8, 4]
_FLAT_HOURS = [5, 4, 4, 4, 4, 4, 5, 5, 6, 6, 7, 7, 7, 8, 8, 8, 8, 8, 8, 8, 8, 7, 6, 6]
_RUNAWAY_HOURS = [0, 4, 8, 8, 8, 8, 6] + [0] * 17


# --------------------------------------------------------------------------------------
# Public interface
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoSummary:
    out_dir: Path
    cur_manifests: list[Path]  # final manifests, one per billing period (import these)
    cur_first_delivery: list[Path]  # data files of the FIRST delivery of the restated month
    invocation_log_dir: Path  # root of the S3-layout log tree
    request_count: int  # invocation log records written (excluding skipped objects)
    cur_row_count: int  # CUR rows written across the final delivery


def generate_demo(
    out_dir: Path,
    *,
    end_date: date | None = None,
    days: int = 60,
    seed: int = 42,
    progress: Callable[[str], None] | None = None,
    stories: bool = True,
) -> DemoSummary:
    """Write the Acme Corp demo data set (logs + CUR) under ``out_dir``; see the module docstring.

    ``stories=False`` writes the healthy company: the same traffic without any of the six stories.
    """
    if days < 1:
        raise ValueError("days must be >= 1")
    out_dir = Path(out_dir)
    if end_date is None:
        end_date = datetime.now(UTC).date() - timedelta(days=1)
    start_date = end_date - timedelta(days=days - 1)
    say = progress or (lambda _msg: None)

    log_root = out_dir / "invocation-logs"
    cur_root = out_dir / "cur"
    first_root = out_dir / "cur-first-delivery"
    for path in (log_root, cur_root, first_root):
        if path.exists():
            shutil.rmtree(path)
    log_root.mkdir(parents=True)

    # 1. requests -> invocation logs, and the per-day CUR aggregation buckets
    buckets: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    request_count = 0
    for account in ACCOUNTS:
        _write_bytes(
            log_root / "AWSLogs" / account / "BedrockModelInvocationLogs" / "amazon-bedrock-logs-permission-check", b""
        )
    day = start_date
    batch_start, batch_records = day, 0
    while day <= end_date:
        records = _generate_day(day, end_date, seed, stories=stories)
        _write_day_logs(log_root, day, records, seed)
        _aggregate(day, records, buckets)
        request_count += len(records)
        batch_records += len(records)
        if (day - start_date).days % 10 == 9 or day == end_date:
            say(f"invocation logs {batch_start.isoformat()}..{day.isoformat()}: {batch_records:,} records")
            batch_start, batch_records = day + timedelta(days=1), 0
        day += timedelta(days=1)

    # 2. CUR rows per billing period
    periods = _billing_periods(start_date, end_date)
    complete = [p for p in periods if _next_month(p) - timedelta(days=1) <= end_date]
    restated = complete[-1] if complete and stories else None
    parquet_period = periods[0] if len(periods) >= 2 else None
    rows_by_period: dict[date, list[dict[str, Any]]] = {p: [] for p in periods}
    for row in _token_rows(buckets):
        rows_by_period[_month_start(row["_day"])].append(row)
    day = start_date
    while day <= end_date:
        if stories and day >= provisioned_since(end_date):
            rows_by_period[_month_start(day)].append(_provisioned_row(day))
        if day.weekday() < 5:
            rows_by_period[_month_start(day)].extend(_batch_rows(day, seed))
        day += timedelta(days=1)

    exec_rng = random.Random(f"{seed}|cur-executions")
    export_arn = f"arn:aws:bcm-data-exports:us-east-1:{PAYER_ACCOUNT}:export/{EXPORT_NAME}-{_uuid(exec_rng)}"
    manifests: list[Path] = []
    first_files: list[Path] = []
    cur_row_count = 0
    for period in periods:
        rows = sorted(rows_by_period[period], key=_row_sort_key)
        fmt = "parquet" if period == parquet_period else "csv"
        final_exec, first_exec = _uuid(exec_rng), _uuid(exec_rng)
        if period == restated:
            first_rows = _first_delivery_rows(rows, period, start_date)
            _, files = _write_cur_delivery(first_root, period, first_rows, fmt, first_exec, export_arn, closed=False)
            first_files.extend(files)
            say(f"CUR {period:%Y-%m} first delivery: {len(first_rows):,} rows ({fmt})")
            rows = rows + _credit_and_tax_rows(rows, period)
        manifest, _ = _write_cur_delivery(
            cur_root, period, rows, fmt, final_exec, export_arn, closed=period in complete
        )
        manifests.append(manifest)
        cur_row_count += len(rows)
        say(f"CUR {period:%Y-%m} final delivery: {len(rows):,} rows ({fmt})")

    return DemoSummary(
        out_dir=out_dir,
        cur_manifests=manifests,
        cur_first_delivery=first_files,
        invocation_log_dir=log_root,
        request_count=request_count,
        cur_row_count=cur_row_count,
    )


def runaway_day(end_date: date) -> date:
    """The day of story 1 (runaway agent loop)."""
    return end_date - timedelta(days=RUNAWAY_OFFSET_DAYS)


def provisioned_since(end_date: date) -> date:
    """The day story 4's provisioned throughput was created: billed 24 h/day from then to ``end_date``."""
    return end_date - timedelta(days=PROVISIONED_DAYS - 1)


def restated_period(end_date: date, days: int = 60) -> date | None:
    """First day of the billing period delivered twice (story 6), or None if none is complete."""
    periods = _billing_periods(end_date - timedelta(days=days - 1), end_date)
    complete = [p for p in periods if _next_month(p) - timedelta(days=1) <= end_date]
    return complete[-1] if complete else None


# --------------------------------------------------------------------------------------
# Requests and invocation logs
# --------------------------------------------------------------------------------------


@dataclass
class _Request:
    ts: datetime
    workload: Workload
    request_id: str
    operation: str
    model_id: str
    inference_region: str | None
    input_tokens: int
    output_tokens: int
    cache_read: int
    cache_write: int
    error_code: str | None
    record: dict[str, Any]
    s3_body: tuple[str, dict[str, Any]] | None  # (local relative key, body) for large data


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _lognormal(rng: random.Random, median: int, sigma: float) -> int:
    if median <= 0:
        return 0
    return max(1, int(round(median * math.exp(rng.gauss(0.0, sigma)))))


def _daily_count(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    return max(0, int(round(rng.gauss(mean, max(0.8, math.sqrt(mean) * 0.8)))))


def _pick(rng: random.Random, choices: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices], k=1)[0]


def _runtime_model_id(wl: Workload, model: DemoModel) -> str:
    if wl.route == "app_profile":
        return APP_PROFILE_ARN
    if wl.route == "provisioned":
        return PROVISIONED_MODEL_ARN
    if wl.route == "global":
        return f"global.{model.model_id}"
    if wl.route == "geo":
        return f"{'eu' if wl.region.startswith('eu-') else 'us'}.{model.model_id}"
    return model.model_id


def _generate_day(day: date, end_date: date, seed: int, *, stories: bool = True) -> list[_Request]:
    weekend = day.weekday() >= 5
    out: list[_Request] = []
    for wl in WORKLOADS if stories else HEALTHY_WORKLOADS:
        if wl.route == "provisioned" and day < provisioned_since(end_date):
            continue  # the provisioned model does not exist yet
        rng = random.Random(f"{seed}|{day.isoformat()}|{wl.key}")
        mean = wl.daily * (wl.weekend_factor if weekend else 1.0)
        n = _daily_count(rng, mean)
        sessions = [f"s-{rng.getrandbits(32):08x}" for _ in range(max(1, n // 6))]
        weights = _BUSINESS_HOURS if wl.hours == "business" else _FLAT_HOURS
        first = len(out)
        for _ in range(n):
            out.append(_make_request(rng, day, wl, weights, sessions))
        if wl.turns != (1, 1):
            _into_conversations(rng, out[first:], wl.turns)
        if wl.cached_prefix:
            _use_prompt_cache(out[first:], wl.cached_prefix)
        if stories and wl.key == "ticket-triage" and day == runaway_day(end_date):
            burst = int(round(wl.daily * RUNAWAY_MULTIPLIER * rng.uniform(1.0, 1.15)))
            for i in range(burst):
                out.append(_make_request(rng, day, wl, _RUNAWAY_HOURS, [RUNAWAY_SESSION], runaway=i / burst))
            _as_one_loop(out[-burst:], day)
    return out


def _make_request(
    rng: random.Random,
    day: date,
    wl: Workload,
    hour_weights: list[int],
    sessions: list[str],
    *,
    runaway: float | None = None,
) -> _Request:
    """One request; ``runaway`` is the call's position (0..1) in story 1's loop, else None."""
    model = MODELS_BY_KEY[wl.model]
    principal = PRINCIPALS_BY_KEY[wl.principal]
    hour = rng.choices(range(24), weights=hour_weights, k=1)[0]
    ts = datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)), tzinfo=UTC)
    request_id = _uuid(rng)
    operation = _pick(rng, wl.operations)
    model_id = _runtime_model_id(wl, model)
    inference_region: str | None = None
    if wl.route in ("geo", "app_profile"):
        inference_region = rng.choice(GEO_TARGETS[wl.region])
    elif wl.route == "global":
        inference_region = rng.choice([r for r in GLOBAL_TARGETS if r != wl.region])

    input_tokens = _lognormal(rng, *wl.input_tokens)
    # A looping agent's steps are short tool calls; its normal answers are longer.
    output_tokens = _lognormal(rng, *(RUNAWAY_OUTPUT if runaway is not None else wl.output_tokens))
    cache_read = cache_write = 0
    if wl.cache is not None:
        hit_prob, read_median, write_median = wl.cache
        if runaway is not None:
            # The loop keeps re-sending a fresh, growing context: almost every call writes cache.
            low, high = RUNAWAY_CONTEXT
            cache_write = _lognormal(rng, int(low + (high - low) * runaway), 0.03)
            cache_read = _lognormal(rng, 1500, 0.5) if rng.random() < 0.2 else 0
            input_tokens = _lognormal(rng, 400, 0.3)
        elif rng.random() < hit_prob:
            cache_read = _lognormal(rng, read_median, 0.3) if read_median else 0
        else:
            cache_write = _lognormal(rng, write_median, 0.3) if write_median else 0
        if model.prices.cache_write is None:
            cache_write = 0
    # A request never exceeds the context window or its own max_tokens.
    cache_write = min(cache_write, CONTEXT_LIMIT - 1000)
    cache_read = min(cache_read, CONTEXT_LIMIT - 1000 - cache_write)
    input_tokens = max(1, min(input_tokens, CONTEXT_LIMIT - cache_read - cache_write))
    truncated = output_tokens >= wl.max_tokens
    output_tokens = min(output_tokens, wl.max_tokens)
    error_rate = 0.08 if runaway is not None else wl.error_rate
    error_code: str | None = None
    roll = rng.random()
    if roll < error_rate:
        error_code = "ThrottlingException" if roll < error_rate * 0.75 else "ValidationException"
        input_tokens = output_tokens = cache_read = cache_write = 0

    metadata: dict[str, str] | None = dict(wl.metadata) if wl.metadata is not None else None
    if metadata is not None:
        if wl.users:
            metadata["user"] = rng.choice(wl.users)
        if "agent" in metadata or "user" in metadata:
            metadata["session"] = rng.choice(sessions)

    prompt = rng.choice(wl.prompts)
    body = _input_body(operation, model, wl, prompt, rng)
    latency = int(
        180 + output_tokens * model.ms_per_output_token * rng.uniform(0.7, 1.4) + (input_tokens + cache_write) * 0.02
    )

    inp: dict[str, Any] = {"inputContentType": "application/json"}
    s3_body: tuple[str, dict[str, Any]] | None = None
    if rng.random() < wl.s3_body_fraction and error_code is None:
        rel_key = (
            f"AWSLogs/{principal.account_id}/BedrockModelInvocationLogs/{wl.region}/"
            f"{ts:%Y/%m/%d/%H}/data/{request_id}_input.json.gz"
        )
        inp["inputBodyS3Path"] = f"s3://{LOG_BUCKET}/{rel_key}"
        s3_body = (rel_key, body)
    else:
        inp["inputBodyJson"] = body
    inp["inputTokenCount"] = input_tokens
    if model.logs_cache_fields:
        inp["cacheReadInputTokenCount"] = cache_read
        inp["cacheWriteInputTokenCount"] = cache_write

    out: dict[str, Any] = {"outputContentType": "application/json"}
    if error_code is None:
        usage: dict[str, int] = {
            "inputTokens": input_tokens,
            "outputTokens": output_tokens,
            "totalTokens": input_tokens + output_tokens + cache_read + cache_write,
        }
        if model.logs_cache_fields:
            usage["cacheReadInputTokens"] = cache_read
            usage["cacheWriteInputTokens"] = cache_write
        out["outputBodyJson"] = {
            "output": {"message": {"role": "assistant", "content": [{"text": _answer(wl, rng)}]}},
            "stopReason": "max_tokens"
            if truncated
            else "tool_use"
            if runaway is not None or ("agent" in (wl.metadata or {}) and rng.random() < 0.5)
            else "end_turn",
            "metrics": {"latencyMs": latency},
            "usage": usage,
        }
    out["outputTokenCount"] = output_tokens

    record: dict[str, Any] = {
        "schemaType": "ModelInvocationLog",
        "schemaVersion": "1.0",
        "timestamp": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "accountId": principal.account_id,
        "identity": {"arn": principal.arn},
        "region": wl.region,
        "requestId": request_id,
        "operation": operation,
        "modelId": model_id,
        "input": inp,
        "output": out,
    }
    if inference_region is not None:
        record["inferenceRegion"] = inference_region
    if metadata:
        record["requestMetadata"] = metadata
    if error_code is not None:
        record["errorCode"] = error_code
    return _Request(
        ts,
        wl,
        request_id,
        operation,
        model_id,
        inference_region,
        input_tokens,
        output_tokens,
        cache_read,
        cache_write,
        error_code,
        record,
        s3_body,
    )


def _as_one_loop(requests: list[_Request], day: date) -> None:
    """Story 1's calls, in loop order, one after the other through ``RUNAWAY_WINDOW``: each step
    starts when the previous one has answered, so call i+1 comes after call i and its bigger context."""
    start, end = (datetime.combine(day, time(h), tzinfo=UTC) for h in RUNAWAY_WINDOW)
    step = (end - start) / max(1, len(requests))
    for i, req in enumerate(requests):
        assert req.s3_body is None, "a re-timed request cannot keep its large-body object key"
        req.ts = start + step * i
        req.record["timestamp"] = req.ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def _into_conversations(rng: random.Random, requests: list[_Request], turns: tuple[int, int]) -> None:
    """Group a day's requests, in time order, into conversations of ``turns`` messages: each keeps its
    first message's time, user and session, and each follow-up comes 20-150 s after the previous one."""
    ordered = sorted(requests, key=lambda r: (r.ts, r.request_id))
    while ordered:
        size = rng.randint(*turns)
        first, follow_ups = ordered[0], ordered[1:size]
        del ordered[:size]
        ts, metadata = first.ts, first.record.get("requestMetadata") or {}
        day_end = datetime.combine(ts.date(), time(23, 59, 59), tzinfo=UTC)
        for req in follow_ups:
            assert req.s3_body is None, "a re-timed request cannot keep its large-body object key"
            ts = min(ts + timedelta(seconds=rng.randint(20, 150)), day_end)
            req.ts = ts
            req.record["timestamp"] = ts.strftime("%Y-%m-%dT%H:%M:%SZ")
            for key in ("user", "session"):
                if key in metadata:
                    req.record["requestMetadata"][key] = metadata[key]


def _use_prompt_cache(requests: list[_Request], prefix_tokens: int) -> None:
    """Move a cached system prompt's tokens from uncached input to a cache write when the cache is
    cold, or a cache read when the previous successful call used it less than the TTL ago."""
    expires: datetime | None = None
    for req in sorted(requests, key=lambda r: (r.ts, r.request_id)):
        if req.error_code is not None:
            continue  # a failed call neither reads nor refreshes the cache
        tokens = min(prefix_tokens, req.input_tokens - 1)
        req.input_tokens -= tokens
        if expires is not None and req.ts < expires:
            req.cache_read = tokens
        else:
            req.cache_write = tokens
        expires = req.ts + PROMPT_CACHE_TTL
        inp, usage = req.record["input"], req.record["output"]["outputBodyJson"]["usage"]
        inp["inputTokenCount"] = usage["inputTokens"] = req.input_tokens
        inp["cacheReadInputTokenCount"] = usage["cacheReadInputTokens"] = req.cache_read
        inp["cacheWriteInputTokenCount"] = usage["cacheWriteInputTokens"] = req.cache_write


def _input_body(operation: str, model: DemoModel, wl: Workload, prompt: str, rng: random.Random) -> dict[str, Any]:
    max_tokens = wl.max_tokens
    # Extended thinking (Anthropic only) needs the default temperature, so none is sent with it.
    thinking = (
        {"type": "enabled", "budget_tokens": wl.thinking} if wl.thinking and model.provider == "Anthropic" else None
    )
    if operation in ("Converse", "ConverseStream"):
        body: dict[str, Any] = {}
        if wl.system_prompt:
            body["system"] = [{"text": wl.system_prompt}]
            if wl.cached_prefix:
                body["system"].append({"cachePoint": {"type": "default"}})
        body["messages"] = [{"role": "user", "content": [{"text": prompt}]}]
        if thinking:
            body["inferenceConfig"] = {"maxTokens": max_tokens}
            body["additionalModelRequestFields"] = {"thinking": thinking}
        else:
            body["inferenceConfig"] = {"maxTokens": max_tokens, "temperature": 0.2}
        return body
    if model.provider == "Anthropic":
        body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": max_tokens}
        if thinking:
            body["thinking"] = thinking
        if wl.system_prompt and wl.cached_prefix:
            body["system"] = [{"type": "text", "text": wl.system_prompt, "cache_control": {"type": "ephemeral"}}]
        elif wl.system_prompt:
            body["system"] = wl.system_prompt
        body["messages"] = [{"role": "user", "content": [{"type": "text", "text": prompt}]}]
        return body
    if model.provider == "Meta":
        return {
            "prompt": f"<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n{prompt}",
            "max_gen_len": max_tokens,
            "temperature": 0.5,
        }
    return {
        "schemaVersion": "messages-v1",
        "messages": [{"role": "user", "content": [{"text": prompt}]}],
        "inferenceConfig": {"maxTokens": max_tokens, "temperature": round(rng.uniform(0.1, 0.7), 1)},
    }


def _answer(wl: Workload, rng: random.Random) -> str:
    if wl.key == "txn-classifier":
        return rng.choice(("LEGIT", "LEGIT", "LEGIT", "FRAUD"))
    if wl.route == "provisioned":
        return "OK"
    return rng.choice(("Here is a short draft.", "Done. See the summary above.", "Queue: billing."))


def _write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def _write_day_logs(root: Path, day: date, records: list[_Request], seed: int) -> None:
    groups: dict[tuple[str, str, int], list[_Request]] = defaultdict(list)
    for req in records:
        groups[(req.record["accountId"], req.record["region"], req.ts.hour)].append(req)
    rng = random.Random(f"{seed}|{day.isoformat()}|files")
    for account, region, hour in sorted(groups):
        group = sorted(groups[(account, region, hour)], key=lambda r: (r.ts, r.request_id))
        last = group[-1].ts
        name = f"{last:%Y%m%dT%H%M%S}Z_{rng.getrandbits(64):016x}.json.gz"
        folder = root / "AWSLogs" / account / "BedrockModelInvocationLogs" / region / f"{day:%Y/%m/%d}" / f"{hour:02d}"
        lines = "".join(json.dumps(r.record, separators=(",", ":")) + "\n" for r in group)
        _write_bytes(folder / name, _gzip(lines.encode()))
        for req in group:
            if req.s3_body is not None:
                rel_key, body = req.s3_body
                _write_bytes(root / rel_key, _gzip(json.dumps(body, separators=(",", ":")).encode()))


# --------------------------------------------------------------------------------------
# CUR 2.0
# --------------------------------------------------------------------------------------

CUR_COLUMNS: tuple[tuple[str, str], ...] = (
    ("bill_bill_type", "string"),
    ("bill_billing_entity", "string"),
    ("bill_billing_period_end_date", "timestamp"),
    ("bill_billing_period_start_date", "timestamp"),
    ("bill_invoice_id", "string"),
    ("bill_invoicing_entity", "string"),
    ("bill_payer_account_id", "string"),
    ("bill_payer_account_name", "string"),
    ("identity_line_item_id", "string"),
    ("identity_time_interval", "string"),
    ("line_item_availability_zone", "string"),
    ("line_item_blended_cost", "double"),
    ("line_item_blended_rate", "string"),
    ("line_item_currency_code", "string"),
    ("line_item_iam_principal", "string"),
    ("line_item_legal_entity", "string"),
    ("line_item_line_item_description", "string"),
    ("line_item_line_item_type", "string"),
    ("line_item_net_unblended_cost", "double"),
    ("line_item_net_unblended_rate", "string"),
    ("line_item_operation", "string"),
    ("line_item_product_code", "string"),
    ("line_item_resource_id", "string"),
    ("line_item_tax_type", "string"),
    ("line_item_unblended_cost", "double"),
    ("line_item_unblended_rate", "string"),
    ("line_item_usage_account_id", "string"),
    ("line_item_usage_account_name", "string"),
    ("line_item_usage_amount", "double"),
    ("line_item_usage_end_date", "timestamp"),
    ("line_item_usage_start_date", "timestamp"),
    ("line_item_usage_type", "string"),
    ("line_item_user_identifier", "string"),
    ("pricing_currency", "string"),
    ("pricing_public_on_demand_cost", "double"),
    ("pricing_public_on_demand_rate", "string"),
    ("pricing_term", "string"),
    ("pricing_unit", "string"),
    ("product", "map"),
    ("product_product_family", "string"),
    ("product_region_code", "string"),
    ("product_servicecode", "string"),
    ("product_usagetype", "string"),
    ("resource_tags", "map"),
    ("tags", "map"),
)

_TOKEN_TYPES = ("input", "output", "cache_read", "cache_write")
_TOKEN_SUFFIX = {
    "input": "input-tokens",
    "output": "output-tokens",
    "cache_read": "cache-read-input-token-count",
    "cache_write": "cache-write-input-token-count",
}
_MP_TOKEN = {
    "input": "InputTokenCount",
    "output": "OutputTokenCount",
    "cache_read": "CacheReadInputTokenCount",
    "cache_write": "CacheWriteInputTokenCount",
}
_INFERENCE_TYPE = {
    "input": "Input tokens",
    "output": "Output tokens",
    "cache_read": "Cache read input tokens",
    "cache_write": "Cache write input tokens",
}
_STREAMING_OPS = {"ConverseStream", "InvokeModelWithResponseStream"}


def _aggregate(day: date, records: Iterable[_Request], buckets: dict[tuple[Any, ...], list[int]]) -> None:
    """Sum billable tokens per CUR line: errors and provisioned-throughput calls bill no tokens."""
    for req in records:
        if req.error_code is not None or req.workload.route == "provisioned":
            continue
        wl = req.workload
        principal = PRINCIPALS_BY_KEY[wl.principal]
        cur_op = "InvokeModelStreamingInference" if req.operation in _STREAMING_OPS else "InvokeModelInference"
        key = (day, principal.account_id, wl.region, principal.key, wl.model, wl.route, cur_op)
        bucket = buckets[key]
        bucket[0] += req.input_tokens
        bucket[1] += req.output_tokens
        bucket[2] += req.cache_read
        bucket[3] += req.cache_write


def _money(tokens: int | float | Decimal, price_per_million: float | Decimal) -> Decimal:
    value = Decimal(str(tokens)) * Decimal(str(price_per_million)) / Decimal(1_000_000)
    return value.quantize(Decimal("1E-10"), rounding=ROUND_HALF_UP)


def _fmt_rate(value: Decimal) -> str:
    return f"{value:.10f}"


def _line_item_id(key: str) -> str:
    digest = hashlib.sha256(key.encode()).digest()
    return base64.b32encode(digest).decode().lower().rstrip("=")[:52]


def _resource_id(wl_route: str, model: DemoModel, region: str, account: str) -> str:
    if wl_route == "app_profile":
        return APP_PROFILE_ARN
    if wl_route == "global":
        return f"arn:aws:bedrock:{region}:{account}:inference-profile/global.{model.model_id}"
    if wl_route == "geo":
        geo = "eu" if region.startswith("eu-") else "us"
        return f"arn:aws:bedrock:{region}:{account}:inference-profile/{geo}.{model.model_id}"
    return f"arn:aws:bedrock:{region}::foundation-model/{model.model_id}"


def _tags_for(
    principal: DemoPrincipal | None, account: str, resource_tags: Mapping[str, str] | None = None
) -> dict[str, str]:
    tags: dict[str, str] = {}
    for key, value in (resource_tags or {}).items():
        tags[f"resourceTags/{key}"] = value
    if principal is not None:
        for key, value in principal.iam_tags.items():
            tags[f"iamPrincipal/{key}"] = value
        for key, value in principal.user_attributes.items():
            tags[f"userAttribute/{key}"] = value
    for key, value in ACCOUNT_TAGS[account].items():
        tags[f"accountTag/{key}"] = value
    return tags


def _normalized_resource_tags(tags: Mapping[str, str]) -> dict[str, str]:
    return {f"user_{k.replace('-', '_')}": v for k, v in tags.items()}


def _base_row(day: date | None, period: date, key: str) -> dict[str, Any]:
    """The columns every Bedrock row shares; the caller fills in the rest."""
    line_id = _line_item_id(key)
    if day is not None:
        start = datetime.combine(day, time(0), tzinfo=UTC)
        end = start + timedelta(days=1)
    else:
        start = datetime.combine(period, time(0), tzinfo=UTC)
        end = datetime.combine(_next_month(period), time(0), tzinfo=UTC)
    return {
        "_day": day or period,
        "_key": key,
        # ~10% of rows spell timestamps with milliseconds; ~half of empty maps are "" not "{}".
        "_ms": int(line_id[:2], 36) % 10 == 0,
        "_empty_as_blank": int(line_id[2:4], 36) % 2 == 0,
        "bill_bill_type": "Anniversary",
        "bill_billing_entity": "AWS",
        "bill_billing_period_end_date": datetime.combine(_next_month(period), time(0), tzinfo=UTC),
        "bill_billing_period_start_date": datetime.combine(period, time(0), tzinfo=UTC),
        "bill_invoice_id": "",
        "bill_invoicing_entity": "Amazon Web Services, Inc.",
        "bill_payer_account_id": PAYER_ACCOUNT,
        "bill_payer_account_name": ACCOUNTS[PAYER_ACCOUNT],
        "identity_line_item_id": line_id,
        "identity_time_interval": f"{start:%Y-%m-%dT%H:%M:%SZ}/{end:%Y-%m-%dT%H:%M:%SZ}",
        "line_item_availability_zone": "",
        "line_item_currency_code": "USD",
        "line_item_iam_principal": "",
        "line_item_legal_entity": "Amazon Web Services, Inc.",
        "line_item_line_item_type": "Usage",
        "line_item_net_unblended_cost": None,
        "line_item_net_unblended_rate": "",
        "line_item_tax_type": "",
        "line_item_usage_end_date": end,
        "line_item_usage_start_date": start,
        "line_item_user_identifier": "",
        "pricing_currency": "USD",
        "pricing_term": "OnDemand",
        "product_product_family": "Amazon Bedrock",
        "resource_tags": {},
        "tags": {},
    }


def _set_cost(row: dict[str, Any], amount: float, cost: Decimal, rate: str, *, public: bool = True) -> None:
    row["line_item_usage_amount"] = amount
    row["line_item_unblended_cost"] = float(cost)
    row["line_item_blended_cost"] = float(cost)
    row["line_item_unblended_rate"] = rate
    row["line_item_blended_rate"] = rate
    row["pricing_public_on_demand_cost"] = float(cost) if public else 0.0
    row["pricing_public_on_demand_rate"] = rate if public else ""


def _token_rows(buckets: Mapping[tuple[Any, ...], list[int]]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for key in sorted(buckets, key=lambda k: tuple(str(x) for x in k)):
        day, account, region, principal_key, model_key, route, cur_op = key
        model = MODELS_BY_KEY[model_key]
        principal = PRINCIPALS_BY_KEY[principal_key]
        prefix = REGION_PREFIX[region]
        for token_type, tokens in zip(_TOKEN_TYPES, buckets[key], strict=True):
            if tokens <= 0:
                continue
            row = _base_row(day, _month_start(day), "|".join(str(x) for x in key) + f"|{token_type}")
            prices = model.global_prices if route == "global" and model.global_prices else model.prices
            price = prices.for_token_type(token_type)
            if price is None:
                continue
            cost = _money(tokens, price)
            feature = "On-demand Inference"
            if model.marketplace:
                usage_type = f"{prefix}-MP:{prefix}_{_MP_TOKEN[token_type]}-Units"
                if day.toordinal() % 2 == 0:
                    amount, unit, rate = tokens / 1_000_000, "1M tokens", _fmt_rate(Decimal(str(price)))
                else:
                    amount, unit = float(tokens), "Units"
                    rate = _fmt_rate(Decimal(str(price)) / Decimal(1_000_000))
                row.update(
                    {
                        "bill_billing_entity": "AWS Marketplace",
                        "line_item_legal_entity": "Anthropic, PBC",
                        "product_servicecode": "",
                    }
                )
                _set_cost(row, amount, cost, rate, public=False)
                description = f"{model.product_name} {_INFERENCE_TYPE[token_type].lower()} in {REGION_NAMES[region]}"
            else:
                suffix = "-cross-region-global" if route == "global" else ""
                usage_type = f"{prefix}-{model.usage_token}-{_TOKEN_SUFFIX[token_type]}{suffix}"
                amount, unit = tokens / 1000, "1K tokens"
                rate = _fmt_rate(Decimal(str(price)) / Decimal(1000))
                row["product_servicecode"] = model.product_code
                _set_cost(row, amount, cost, rate)
                description = (
                    f"${Decimal(rate).normalize():f} per 1K {_INFERENCE_TYPE[token_type].lower()} "
                    f"for {model.name} in {REGION_NAMES[region]}"
                )
                if route == "global":
                    description += " (global cross-region inference)"
            resource_tags: dict[str, str] = {}
            if route == "app_profile":
                resource_tags = dict(APP_PROFILE_TAGS)
            row.update(
                {
                    "line_item_iam_principal": principal.arn,
                    "line_item_line_item_description": description,
                    "line_item_operation": cur_op,
                    "line_item_product_code": model.product_code,
                    "line_item_resource_id": _resource_id(route, model, region, account),
                    "line_item_usage_account_id": account,
                    "line_item_usage_account_name": ACCOUNTS[account],
                    "line_item_usage_type": usage_type,
                    "pricing_unit": unit,
                    "product": {
                        "provider": model.provider,
                        "model": model.name,
                        "inference_type": _INFERENCE_TYPE[token_type],
                        "feature": feature,
                        "product_name": model.product_name,
                        "servicename": model.product_name,
                        "region": region,
                    },
                    "product_region_code": region,
                    "product_usagetype": usage_type,
                    "resource_tags": _normalized_resource_tags(resource_tags),
                    "tags": _tags_for(principal, account, resource_tags),
                }
            )
            rows.append(row)
    return rows


def _provisioned_row(day: date) -> dict[str, Any]:
    hours = 24
    cost = (PROVISIONED_HOURLY_RATE * hours * PROVISIONED_MODEL_UNITS).quantize(Decimal("1E-10"))
    row = _base_row(day, _month_start(day), f"{day}|provisioned|{PROVISIONED_MODEL_ARN}")
    _set_cost(row, float(hours * PROVISIONED_MODEL_UNITS), cost, _fmt_rate(PROVISIONED_HOURLY_RATE))
    row.update(
        {
            "line_item_line_item_description": "$60.50 per model unit-hour for Nova 2 Lite provisioned throughput "
            "(no commitment) in US East (N. Virginia)",
            "line_item_operation": "Usage",
            "line_item_product_code": "AmazonBedrock",
            "line_item_resource_id": PROVISIONED_MODEL_ARN,
            "line_item_usage_account_id": PROD_ACCOUNT,
            "line_item_usage_account_name": ACCOUNTS[PROD_ACCOUNT],
            "line_item_usage_type": PROVISIONED_USAGE_TYPE,
            "pricing_unit": "Hrs",
            "product": {
                "provider": "Amazon",
                "model": "Nova 2 Lite",
                "inference_type": "Model units",
                "feature": "Provisioned Throughput",
                "product_name": "Amazon Bedrock",
                "servicename": "Amazon Bedrock",
                "region": "us-east-1",
            },
            "product_region_code": "us-east-1",
            "product_servicecode": "AmazonBedrock",
            "product_usagetype": PROVISIONED_USAGE_TYPE,
            "resource_tags": _normalized_resource_tags(PROVISIONED_TAGS),
            "tags": _tags_for(None, PROD_ACCOUNT, PROVISIONED_TAGS),
        }
    )
    return row


def _batch_rows(day: date, seed: int) -> list[dict[str, Any]]:
    """Nightly data-science batch job (CUR only: batch inference is not in invocation logs)."""
    rng = random.Random(f"{seed}|{day.isoformat()}|batch")
    model = MODELS_BY_KEY["claude-haiku-4-5"]
    principal = PRINCIPALS_BY_KEY["erin"]
    assert model.batch_prices is not None
    job_arn = f"{BATCH_JOB_PREFIX}{rng.getrandbits(48):012x}"
    tokens = {"input": _lognormal(rng, 8_000_000, 0.2), "output": _lognormal(rng, 1_500_000, 0.2)}
    rows = []
    for token_type, count in tokens.items():
        price = model.batch_prices.for_token_type(token_type)
        assert price is not None
        usage_type = f"USE1-{model.usage_token}-{_TOKEN_SUFFIX[token_type]}-batch"
        rate = _fmt_rate(Decimal(str(price)) / Decimal(1000))
        row = _base_row(day, _month_start(day), f"{day}|batch|{token_type}")
        _set_cost(row, count / 1000, _money(count, price), rate)
        row.update(
            {
                "line_item_iam_principal": principal.arn,
                "line_item_line_item_description": f"${Decimal(rate).normalize():f} per 1K "
                f"{_INFERENCE_TYPE[token_type].lower()} for {model.name} "
                "batch inference in US East (N. Virginia)",
                "line_item_operation": "Usage",
                "line_item_product_code": model.product_code,
                "line_item_resource_id": job_arn,
                "line_item_usage_account_id": PROD_ACCOUNT,
                "line_item_usage_account_name": ACCOUNTS[PROD_ACCOUNT],
                "line_item_usage_type": usage_type,
                "pricing_unit": "1K tokens",
                "product": {
                    "provider": model.provider,
                    "model": model.name,
                    "inference_type": _INFERENCE_TYPE[token_type],
                    "feature": "Batch Inference",
                    "product_name": model.product_name,
                    "servicename": model.product_name,
                    "region": "us-east-1",
                },
                "product_region_code": "us-east-1",
                "product_servicecode": model.product_code,
                "product_usagetype": usage_type,
                "tags": _tags_for(principal, PROD_ACCOUNT),
            }
        )
        rows.append(row)
    return rows


def _credit_and_tax_rows(rows: list[dict[str, Any]], period: date) -> list[dict[str, Any]]:
    aws_usage = sum(
        (
            Decimal(str(r["line_item_unblended_cost"]))
            for r in rows
            if r["line_item_line_item_type"] == "Usage" and r["bill_billing_entity"] == "AWS"
        ),
        Decimal(0),
    )
    tax = (aws_usage * TAX_RATE).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    out = []
    for kind, cost, description in (
        ("Credit", CREDIT_AMOUNT, "AWS Credits: Amazon Bedrock proof-of-concept promotional credit"),
        ("Tax", tax, "Tax of type SalesTax for product code AmazonBedrock"),
    ):
        row = _base_row(None, period, f"{period}|{kind}")
        _set_cost(row, 0.0, cost, "", public=False)
        row.update(
            {
                "line_item_line_item_type": kind,
                "line_item_line_item_description": description,
                "line_item_net_unblended_cost": float(cost),
                "line_item_operation": "",
                "line_item_product_code": "AmazonBedrock",
                "line_item_resource_id": "",
                "line_item_tax_type": "SalesTax" if kind == "Tax" else "",
                "line_item_usage_account_id": PROD_ACCOUNT,
                "line_item_usage_account_name": ACCOUNTS[PROD_ACCOUNT],
                "line_item_usage_type": "",
                "pricing_unit": "",
                "pricing_public_on_demand_rate": "",
                "product": {"product_name": "Amazon Bedrock", "servicename": "Amazon Bedrock"},
                "product_product_family": "",
                "product_region_code": "",
                "product_servicecode": "AmazonBedrock",
                "product_usagetype": "",
                "tags": {},
            }
        )
        out.append(row)
    return out


def _first_delivery_rows(rows: list[dict[str, Any]], period: date, start_date: date) -> list[dict[str, Any]]:
    """The preliminary delivery: last days missing, about a quarter of the rows metered ~1.5% low."""
    month_end = _next_month(period) - timedelta(days=1)
    days_in_range = (month_end - max(period, start_date)).days + 1
    missing = min(FIRST_DELIVERY_MISSING_DAYS, days_in_range - 1)
    cutoff = month_end - timedelta(days=missing)
    out = []
    for row in rows:
        if row["_day"] > cutoff:
            continue
        row = dict(row)
        if int(row["identity_line_item_id"][4:6], 36) % 4 == 0 and row["line_item_usage_amount"]:
            factor = Decimal("0.985")
            cost = (Decimal(str(row["line_item_unblended_cost"])) * factor).quantize(Decimal("1E-10"))
            amount = row["line_item_usage_amount"] * 0.985
            _set_cost(
                row,
                round(amount, 10),
                cost,
                row["line_item_unblended_rate"],
                public=row["pricing_public_on_demand_rate"] != "",
            )
        out.append(row)
    return out


def _row_sort_key(row: dict[str, Any]) -> tuple[str, str]:
    return (row["_day"].isoformat(), row["_key"])


def _write_cur_delivery(
    root: Path,
    period: date,
    rows: list[dict[str, Any]],
    fmt: str,
    execution_id: str,
    export_arn: str,
    *,
    closed: bool,
) -> tuple[Path, list[Path]]:
    part = f"BILLING_PERIOD={period:%Y-%m}"
    base = root / CUR_PREFIX / EXPORT_NAME
    invoice = f"{period:%Y%m}-ACME-{int(period.strftime('%Y%m')) % 9973:04d}" if closed else ""
    for row in rows:
        row["bill_invoice_id"] = invoice
    if fmt == "parquet":
        name = f"{EXPORT_NAME}-00001.snappy.parquet"
        data_path = base / "data" / part / name
        data_path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(_arrow_table(rows), data_path, compression="snappy")
    else:
        name = f"{EXPORT_NAME}-00001.csv.gz"
        data_path = base / "data" / part / name
        _write_bytes(data_path, _gzip(_csv_bytes(rows)))
    manifest = {
        "executionId": execution_id,
        "exportArn": export_arn,
        "billingPeriod": {
            "start": f"{period:%Y-%m-%d}T00:00:00.000Z",
            "end": f"{_next_month(period):%Y-%m-%d}T00:00:00.000Z",
        },
        "columns": [{"name": n, "type": t} for n, t in CUR_COLUMNS],
        "dataFiles": [f"s3://{CUR_BUCKET}/{CUR_PREFIX}/{EXPORT_NAME}/data/{part}/{name}"],
    }
    manifest_path = base / "metadata" / part / f"{EXPORT_NAME}-Manifest.json"
    _write_bytes(manifest_path, (json.dumps(manifest, indent=2) + "\n").encode())
    return manifest_path, [data_path]


def _fmt_number(value: float | None) -> str:
    if value is None:
        return ""
    text = f"{value:.10f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _csv_bytes(rows: list[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([n for n, _ in CUR_COLUMNS])
    for row in rows:
        out = []
        for name, kind in CUR_COLUMNS:
            value = row.get(name)
            if kind == "timestamp":
                ms = row["_ms"] and name.startswith("line_item_")
                out.append(value.strftime("%Y-%m-%dT%H:%M:%S.000Z" if ms else "%Y-%m-%dT%H:%M:%SZ"))
            elif kind == "double":
                out.append(_fmt_number(value))
            elif kind == "map":
                if value:
                    out.append(json.dumps(value, separators=(",", ":"), sort_keys=True))
                else:
                    out.append("" if row["_empty_as_blank"] else "{}")
            else:
                out.append(value or "")
        writer.writerow(out)
    return buf.getvalue().encode()


def _arrow_table(rows: list[dict[str, Any]]) -> pa.Table:
    arrays = []
    fields = []
    for name, kind in CUR_COLUMNS:
        values = [row.get(name) for row in rows]
        if kind == "timestamp":
            typ: pa.DataType = pa.timestamp("ms", tz="UTC")
        elif kind == "double":
            typ = pa.float64()
        elif kind == "map":
            typ = pa.map_(pa.string(), pa.string())
            values = [
                sorted(v.items()) if v else (None if row["_empty_as_blank"] else [])
                for v, row in zip(values, rows, strict=True)
            ]
        else:
            typ = pa.string()
            values = [v if v else None for v in values]
        arrays.append(pa.array(values, type=typ))
        fields.append(pa.field(name, typ))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


# --------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(period: date) -> date:
    return (period.replace(day=28) + timedelta(days=4)).replace(day=1)


def _billing_periods(start: date, end: date) -> list[date]:
    periods = []
    current = _month_start(start)
    while current <= end:
        periods.append(current)
        current = _next_month(current)
    return periods
