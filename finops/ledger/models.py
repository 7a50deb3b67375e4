"""The spend ledger and the model/price catalog. Money is Decimal; nothing here sums floats."""

from __future__ import annotations

from decimal import Decimal

from django.db import models

from connections.models import AwsConnection, Tenant
from finops.ledger.provider_catalog import PLATFORMS

MONEY = {"max_digits": 20, "decimal_places": 10}
# AWS allows tag values of 256 characters; the dimensions taken from tags hold them whole.
TAG_VALUE = 256


class Route(models.TextChoices):
    IN_REGION = "in_region", "In-region"
    GEO = "geo", "Geo cross-region"
    GLOBAL = "global", "Global cross-region"


class ServiceTier(models.TextChoices):
    STANDARD = "standard", "Standard"
    BATCH = "batch", "Batch"
    FLEX = "flex", "Flex"
    PRIORITY = "priority", "Priority"
    PROVISIONED = "provisioned", "Provisioned"
    RESERVED = "reserved", "Reserved"
    LATENCY_OPTIMIZED = "latency_optimized", "Latency-optimized"


class TokenType(models.TextChoices):
    INPUT = "input", "Input tokens"
    OUTPUT = "output", "Output tokens"
    CACHE_READ = "cache_read", "Cache read tokens"
    CACHE_WRITE = "cache_write", "Cache write tokens"
    INPUT_AUDIO = "input_audio", "Input audio tokens"
    OUTPUT_AUDIO = "output_audio", "Output audio tokens"
    INPUT_IMAGE = "input_image", "Input image tokens"
    INPUT_VIDEO = "input_video", "Input video tokens"
    OUTPUT_IMAGE = "output_image", "Output image tokens"
    IMAGE = "image", "Images"
    MODEL_UNIT_HOUR = "model_unit_hour", "Model-unit hours"


class Context(models.TextChoices):
    STANDARD = "", "Standard context"
    LONG = "long", "Long context"


class CacheTtl(models.TextChoices):
    DEFAULT = "", "5 minutes"
    ONE_HOUR = "1h", "1 hour"


class ModelCatalog(models.Model):
    class Tier(models.TextChoices):
        FLAGSHIP = "flagship", "Flagship"
        BALANCED = "balanced", "Balanced"
        EFFICIENT = "efficient", "Efficient"

    class Lifecycle(models.TextChoices):
        ACTIVE = "ACTIVE", "Active"
        LEGACY = "LEGACY", "Legacy"

    model_id = models.CharField(
        max_length=128,
        unique=True,
        help_text='Canonical id, without route prefix; "<platform>/<id>" for platforms other than Bedrock.',
    )
    # Where the model is bought (the ledger's `source`): its prices are that platform's.
    platform = models.CharField(max_length=16, choices=list(PLATFORMS.items()), default="bedrock", db_index=True)
    name = models.CharField(max_length=128)
    provider = models.CharField(max_length=64)
    family = models.CharField(max_length=64)
    tier = models.CharField(max_length=16, choices=Tier.choices)
    lifecycle = models.CharField(max_length=16, choices=Lifecycle.choices, default=Lifecycle.ACTIVE)
    # Claude 4.5+ charge 10% more on regional/geo routes than on global.
    regional_premium = models.BooleanField(default=False)
    long_context_threshold = models.PositiveIntegerField(
        null=True, blank=True, help_text="Input tokens above which a request is billed at the long-context price."
    )
    source = models.CharField(max_length=64, blank=True, help_text="Where the entry came from (seed, library, AWS).")
    pt_tokens_per_minute = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Tokens per minute one provisioned model unit serves (AWS does not publish it: ask your account "
        "team). Used for the provisioned-throughput break-even.",
    )

    class Meta:
        ordering = ["provider", "family", "model_id"]
        verbose_name = "catalog model"

    def __str__(self) -> str:
        return self.name


class ModelAlias(models.Model):
    class Kind(models.TextChoices):
        RUNTIME_ID = "runtime_id", "Runtime model id"
        USAGE_TOKEN = "usage_token", "Usage-type token"
        PRODUCT_NAME = "product_name", "CUR product name"
        INFERENCE_PROFILE = "inference_profile", "Application inference profile or provisioned model ARN"

    model = models.ForeignKey(ModelCatalog, on_delete=models.CASCADE, related_name="aliases")
    alias = models.CharField(max_length=200, unique=True, help_text="Stored lower-case.")
    kind = models.CharField(max_length=20, choices=Kind.choices)

    class Meta:
        ordering = ["alias"]
        verbose_name_plural = "model aliases"

    def __str__(self) -> str:
        return self.alias

    def save(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        self.alias = self.alias.strip().lower()
        super().save(*args, **kwargs)


class ModelPrice(models.Model):
    """One effective-dated price. Blank region/route/variant means "any"; the most specific row wins."""

    model = models.ForeignKey(ModelCatalog, on_delete=models.CASCADE, related_name="prices")
    token_type = models.CharField(max_length=20, choices=TokenType.choices)
    route = models.CharField(max_length=16, choices=Route.choices, blank=True)
    service_tier = models.CharField(max_length=20, choices=ServiceTier.choices, default=ServiceTier.STANDARD)
    region = models.CharField(max_length=32, blank=True)
    context = models.CharField(max_length=16, choices=Context.choices, blank=True)
    cache_ttl = models.CharField(max_length=8, choices=CacheTtl.choices, blank=True)
    usage_type = models.CharField(
        max_length=255, blank=True, help_text="The AWS usage type this price is billed under, when known."
    )
    variant = models.CharField(
        max_length=32,
        blank=True,
        help_text='e.g. "1h" cache TTL, "long-context", "1024-standard", "1m" commitment.',
    )
    price_usd = models.DecimalField(**MONEY, help_text="USD per unit.")
    unit = models.CharField(max_length=16, default="1M tokens", help_text='"1M tokens", "image" or "hour".')
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True, help_text="Exclusive; blank means still in force.")
    source = models.CharField(max_length=255)
    as_of = models.DateField()

    class Meta:
        ordering = ["model__model_id", "token_type", "service_tier", "route", "-effective_from"]
        indexes = [models.Index(fields=["model", "token_type", "service_tier"], name="price_lookup")]

    def __str__(self) -> str:
        return (
            f"{self.model_id} {self.token_type} {self.service_tier} {self.route or 'any'}: {self.price_usd}/{self.unit}"
        )

    @property
    def per_token(self) -> Decimal:
        divisor = {"1M tokens": Decimal(1_000_000), "1K tokens": Decimal(1000)}.get(self.unit, Decimal(1))
        return self.price_usd / divisor


class TierRule(models.Model):
    """How a model new to the catalog gets its family and tier: the first rule (lowest order) whose
    pattern matches the model id or name. Staff edit these in the admin."""

    order = models.PositiveIntegerField(default=100)
    pattern = models.CharField(max_length=200, help_text="Regular expression, matched case-insensitively.")
    tier = models.CharField(max_length=16, choices=ModelCatalog.Tier.choices)
    family = models.CharField(max_length=64, blank=True, help_text="Blank: derived from the model id.")
    note = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return f"{self.pattern} -> {self.tier}"


class SpendEvent(models.Model):
    """One request, one billed CUR line, or one metric bucket."""

    class RecordKind(models.TextChoices):
        BILLED_LINE = "billed_line", "Billed line (CUR)"
        REQUEST = "request", "Request (invocation log)"
        METRIC = "metric", "Metric bucket (CloudWatch)"

    class CostBasis(models.TextChoices):
        BILLED = "billed", "Billed"
        ESTIMATED = "estimated", "Estimated"

    # identity. The write path keeps no database foreign key and no index of its own on tenant: the checks
    # cost more than half of the rows' insert at COMMIT, every composite index starts with tenant, and the
    # ORM still cascades deletes and nulls these (on_delete runs in Django). Writers set valid ids.
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False)
    connection = models.ForeignKey(
        AwsConnection, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_constraint=False
    )
    import_run = models.ForeignKey(
        "ingestion.ImportRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_constraint=False
    )
    source = models.CharField(max_length=16, default="bedrock")
    record_kind = models.CharField(max_length=16, choices=RecordKind.choices)
    cost_basis = models.CharField(max_length=16, choices=CostBasis.choices)
    dedupe_key = models.CharField(max_length=128)
    # time
    usage_start = models.DateTimeField()
    usage_end = models.DateTimeField()
    usage_date = models.DateField(help_text="UTC date of usage_start.")
    billing_period = models.DateField(help_text="First day of the billing month.")
    # where
    account_id = models.CharField(max_length=12, blank=True)
    region = models.CharField(max_length=32, blank=True)
    inference_region = models.CharField(max_length=32, blank=True)
    route = models.CharField(max_length=16, choices=Route.choices, blank=True)
    # what
    model_id = models.CharField(max_length=128, blank=True, help_text="Canonical model id; blank when unknown.")
    model_ref = models.CharField(max_length=2048, blank=True, help_text="The model as delivered, when not resolved.")
    model_family = models.CharField(max_length=64, blank=True)
    model_tier = models.CharField(max_length=16, blank=True)
    model_provider = models.CharField(max_length=64, blank=True)
    operation = models.CharField(max_length=128, blank=True)
    usage_type = models.CharField(max_length=255, blank=True)
    token_type = models.CharField(max_length=20, blank=True)
    line_item_type = models.CharField(max_length=64, blank=True)
    service_tier = models.CharField(max_length=20, choices=ServiceTier.choices, default=ServiceTier.STANDARD)
    context = models.CharField(max_length=16, choices=Context.choices, blank=True)
    usage_category = models.CharField(
        max_length=32, blank=True, help_text="tokens, image, provisioned_throughput, guardrail, ... or unparsed."
    )
    inference_profile_arn = models.CharField(max_length=2048, blank=True)
    # how much
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    cache_read_tokens = models.BigIntegerField(default=0)
    cache_write_tokens = models.BigIntegerField(default=0)
    cache_write_1h_tokens = models.BigIntegerField(
        default=0, help_text="Of cache_write_tokens, those cached for 1 hour."
    )
    units = models.DecimalField(max_digits=24, decimal_places=8, null=True, blank=True)
    unit = models.CharField(max_length=64, blank=True)
    requests = models.IntegerField(default=0)
    latency_ms = models.IntegerField(null=True, blank=True)
    cost_usd = models.DecimalField(**MONEY, null=True, blank=True, help_text="Blank when unpriced.")
    list_cost_usd = models.DecimalField(**MONEY, null=True, blank=True)
    allocated_cost_usd = models.DecimalField(
        **MONEY,
        null=True,
        blank=True,
        help_text="Requests: their share of their bucket's billed dollars. Bill lines: the part given to requests.",
    )
    catalog_cost_usd = models.DecimalField(
        **MONEY, null=True, blank=True, help_text="Bill lines: the quantity at the catalog's list price."
    )
    unpriced = models.BooleanField(default=False)
    # who
    iam_principal = models.CharField(max_length=2048, blank=True, help_text="ARN (ARNs are at most 2,048 characters).")
    principal_type = models.CharField(max_length=16, blank=True)
    principal_name = models.CharField(max_length=2048, blank=True)
    role_name = models.CharField(max_length=2048, blank=True)
    application = models.CharField(max_length=TAG_VALUE, blank=True)
    team = models.CharField(max_length=TAG_VALUE, blank=True)
    environment = models.CharField(max_length=TAG_VALUE, blank=True)
    cost_center = models.CharField(max_length=TAG_VALUE, blank=True)
    user_id = models.CharField(max_length=TAG_VALUE, blank=True)
    agent_id = models.CharField(max_length=TAG_VALUE, blank=True)
    workflow_id = models.CharField(max_length=TAG_VALUE, blank=True)
    session_id = models.CharField(max_length=TAG_VALUE, blank=True)
    request_id = models.CharField(max_length=1024, blank=True, help_text="As delivered, never cut.")
    tags = models.JSONField(default=dict, blank=True)
    # content (keyed hashes only; raw prompts are never stored)
    prompt_hash = models.CharField(max_length=64, blank=True)
    response_hash = models.CharField(max_length=64, blank=True)
    prefix_hash = models.CharField(
        max_length=64, blank=True, help_text="Keyed hash of the reusable prompt prefix (system, tools, cached blocks)."
    )
    prefix_chars = models.IntegerField(
        null=True, blank=True, help_text="Characters in that prefix; blank when the body was not delivered."
    )
    uses_caching = models.BooleanField(default=False, help_text="Marks a cache point, or read/wrote the cache.")
    stop_reason = models.CharField(max_length=32, blank=True)
    error_code = models.CharField(max_length=128, blank=True)
    data_issue = models.CharField(
        max_length=255,
        blank=True,
        help_text="Why this row was loaded with a warning (e.g. negative usage on a Usage line: cost kept, no tokens).",
    )

    class Meta:
        db_table = "ai_spend_events"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "dedupe_key"], name="uniq_spend_event_dedupe"),
        ]
        indexes = [
            models.Index(fields=["tenant", "usage_start"], name="spend_tenant_time"),
            models.Index(fields=["tenant", "usage_date"], name="spend_tenant_date"),
            models.Index(fields=["tenant", "model_id"], name="spend_tenant_model"),
            models.Index(fields=["tenant", "team"], name="spend_tenant_team"),
            models.Index(fields=["tenant", "iam_principal"], name="spend_tenant_principal"),
            models.Index(fields=["tenant", "record_kind", "billing_period"], name="spend_tenant_kind_period"),
        ]

    def __str__(self) -> str:
        return f"{self.record_kind} {self.usage_start:%Y-%m-%d} {self.model_id or self.model_ref} {self.cost_usd}"


# --- the daily rollup -------------------------------------------------------------------------------

# Latency histogram edges (ms): bucket i holds latencies below LATENCY_EDGES_MS[i] (and at or above the
# previous edge); the last bucket holds everything from the last edge up. Percentiles read from it are
# interpolated inside a bucket, so they are approximate (said so where shown).
LATENCY_EDGES_MS = (250, 500, 1000, 2000, 4000, 8000, 15000, 30000, 60000, 120000, 300000)
LATENCY_BUCKETS = tuple(f"latency_b{i:02d}" for i in range(len(LATENCY_EDGES_MS) + 1))


class SpendDaily(models.Model):
    """The ledger summed per tenant, day and every dimension the explorer, dashboards and budgets group
    or filter by (finops.ledger.rollups keeps it equal to the raw rows, in the same transactions).
    Request-level detail (session, request id, hashes) stays in SpendEvent, for drill-down."""

    # No foreign key check or tenant-only index on the write path (see SpendEvent.tenant).
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False)
    usage_date = models.DateField()
    dims_key = models.CharField(max_length=32, help_text="md5 of the dimension values: one row per combination.")
    # dimensions (as in SpendEvent)
    billing_period = models.DateField()
    record_kind = models.CharField(max_length=16)
    cost_basis = models.CharField(max_length=16)
    source = models.CharField(max_length=16)
    account_id = models.CharField(max_length=12, blank=True)
    region = models.CharField(max_length=32, blank=True)
    inference_region = models.CharField(max_length=32, blank=True)
    route = models.CharField(max_length=16, blank=True)
    model_id = models.CharField(max_length=128, blank=True)
    model_ref = models.CharField(max_length=2048, blank=True)
    model_family = models.CharField(max_length=64, blank=True)
    model_tier = models.CharField(max_length=16, blank=True)
    model_provider = models.CharField(max_length=64, blank=True)
    operation = models.CharField(max_length=128, blank=True)
    usage_type = models.CharField(max_length=255, blank=True)
    token_type = models.CharField(max_length=20, blank=True)
    line_item_type = models.CharField(max_length=64, blank=True)
    service_tier = models.CharField(max_length=20, blank=True)
    context = models.CharField(max_length=16, blank=True)
    usage_category = models.CharField(max_length=32, blank=True)
    inference_profile_arn = models.CharField(max_length=2048, blank=True)
    iam_principal = models.CharField(max_length=2048, blank=True)
    principal_type = models.CharField(max_length=16, blank=True)
    principal_name = models.CharField(max_length=2048, blank=True)
    role_name = models.CharField(max_length=2048, blank=True)
    application = models.CharField(max_length=TAG_VALUE, blank=True)
    team = models.CharField(max_length=TAG_VALUE, blank=True)
    environment = models.CharField(max_length=TAG_VALUE, blank=True)
    cost_center = models.CharField(max_length=TAG_VALUE, blank=True)
    user_id = models.CharField(max_length=TAG_VALUE, blank=True)
    agent_id = models.CharField(max_length=TAG_VALUE, blank=True)
    workflow_id = models.CharField(max_length=TAG_VALUE, blank=True)
    unpriced = models.BooleanField(default=False)
    # measures
    events = models.BigIntegerField(default=0, help_text="Ledger rows summed here.")
    requests = models.BigIntegerField(default=0)
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    cache_read_tokens = models.BigIntegerField(default=0)
    cache_write_tokens = models.BigIntegerField(default=0)
    cache_write_1h_tokens = models.BigIntegerField(default=0)
    error_requests = models.BigIntegerField(default=0)
    throttled_requests = models.BigIntegerField(default=0)
    latency_count = models.BigIntegerField(default=0)
    latency_sum_ms = models.BigIntegerField(default=0)
    latency_b00 = models.BigIntegerField(default=0)
    latency_b01 = models.BigIntegerField(default=0)
    latency_b02 = models.BigIntegerField(default=0)
    latency_b03 = models.BigIntegerField(default=0)
    latency_b04 = models.BigIntegerField(default=0)
    latency_b05 = models.BigIntegerField(default=0)
    latency_b06 = models.BigIntegerField(default=0)
    latency_b07 = models.BigIntegerField(default=0)
    latency_b08 = models.BigIntegerField(default=0)
    latency_b09 = models.BigIntegerField(default=0)
    latency_b10 = models.BigIntegerField(default=0)
    latency_b11 = models.BigIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=28, decimal_places=10, default=Decimal(0))
    list_cost_usd = models.DecimalField(max_digits=28, decimal_places=10, default=Decimal(0))
    allocated_cost_usd = models.DecimalField(max_digits=28, decimal_places=10, default=Decimal(0))
    catalog_cost_usd = models.DecimalField(
        max_digits=28, decimal_places=10, default=Decimal(0), help_text="Bill lines at the catalog's list price."
    )
    catalog_billed_usd = models.DecimalField(
        max_digits=28, decimal_places=10, default=Decimal(0), help_text="The billed dollars of those same lines."
    )

    class Meta:
        db_table = "ai_spend_daily"
        verbose_name = "daily spend rollup"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "usage_date", "dims_key"], name="uniq_spend_daily_cell"),
        ]
        # (tenant, usage_date) is served by the unique index, which starts with both.
        indexes = [models.Index(fields=["tenant", "billing_period"], name="daily_tenant_period")]

    def __str__(self) -> str:
        return f"{self.usage_date} {self.record_kind} {self.model_id or self.model_ref} {self.cost_usd}"


from finops.ledger.rollup_models import (  # noqa: E402, F401  (coarser rollups)
    SpendDailyCoarse,
    SpendDailyPeople,
    SpendPeopleSpan,
    SpendWeeklyPeople,
)
