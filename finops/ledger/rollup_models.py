"""Coarser copies of the daily rollup (aggregate awareness, as in Druid, Pinot or Cube pre-aggregations): the
same cells summed over fewer dimensions, so a view that groups and filters only by those reads a fraction
of the rows. PostgreSQL keeps them equal to SpendDaily in the statement that changes it (triggers, see
finops.ledger.coarse); SQLite reads SpendDaily alone and leaves these empty."""

from __future__ import annotations

from typing import Any

from django.db import models

from connections.models import Tenant
from finops.ledger.models import LATENCY_BUCKETS, SpendDaily

# The dimensions no coarse rollup may drop: a group's sums depend on them (Sums, rollup slices; tokens are counted
# per platform, so source too).
SUM_DIMENSIONS = ("billing_period", "record_kind", "cost_basis", "source", "token_type", "unpriced")
# Without the people dimensions (user, agent, workflow): a cell per resource, principal and tag.
COARSE_DIMENSIONS = (
    "billing_period", "record_kind", "cost_basis", "source", "account_id", "region", "inference_region", "route",
    "model_id", "model_ref", "model_family", "model_tier", "model_provider", "operation", "usage_type", "token_type",
    "line_item_type", "service_tier", "context", "usage_category", "inference_profile_arn", "iam_principal",
    "principal_type", "principal_name", "role_name", "application", "team", "environment", "cost_center", "unpriced",
)  # fmt: skip
# The people and tag dimensions alone: no model, account, region or principal.
PEOPLE_DIMENSIONS = (
    "billing_period", "record_kind", "cost_basis", "source", "token_type", "line_item_type", "usage_category",
    "application", "team", "environment", "cost_center", "user_id", "agent_id", "workflow_id", "unpriced",
)  # fmt: skip
# What the explorer's sums read (SpendDaily's list price and 1-hour cache writes are read by no view).
COARSE_MEASURES = (
    "events", "requests", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
    "error_requests", "throttled_requests", "latency_count", "latency_sum_ms", *LATENCY_BUCKETS,
    "cost_usd", "allocated_cost_usd", "catalog_cost_usd", "catalog_billed_usd",
)  # fmt: skip


def _rollup_model(
    name: str,
    table: str,
    dimensions: tuple[str, ...],
    doc: str,
    *,
    weekly: bool = False,
    indexes: tuple[models.Index, ...] = (),
) -> Any:
    """A model with SpendDaily's own fields for these dimensions and COARSE_MEASURES (one definition of each
    column), keyed like SpendDaily by (tenant, usage_date, dims_key); a `weekly` one's usage_date is a Monday."""
    day = models.DateField(help_text="The Monday of the ISO week summed here.") if weekly else models.DateField()
    attrs: dict[str, Any] = {
        "__module__": __name__,
        "__doc__": doc,
        # Written by triggers on every import: no foreign key check, no tenant-only index (see SpendEvent.tenant).
        "tenant": models.ForeignKey(
            Tenant, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
        ),
        "usage_date": day,
        "dims_key": models.CharField(max_length=32, help_text="md5 of this rollup's dimension values."),
        **{f: SpendDaily._meta.get_field(f).clone() for f in (*dimensions, *COARSE_MEASURES)},
        "Meta": type(
            "Meta",
            (),
            {
                "db_table": table,
                "verbose_name": doc.split(":")[0].lower(),
                "constraints": [
                    models.UniqueConstraint(fields=["tenant", "usage_date", "dims_key"], name=f"uniq_{table}_cell")
                ],
                "indexes": list(indexes),
            },
        ),
        "__str__": lambda self: f"{self.usage_date} {self.record_kind} {self.cost_usd}",
    }
    return type(name, (models.Model,), attrs)


SpendDailyCoarse = _rollup_model(
    "SpendDailyCoarse",
    "ai_spend_daily_coarse",
    COARSE_DIMENSIONS,
    "Daily spend without people: SpendDaily summed over user, agent and workflow.",
)
SpendDailyPeople = _rollup_model(
    "SpendDailyPeople",
    "ai_spend_daily_people",
    PEOPLE_DIMENSIONS,
    "Daily spend by people and tags: SpendDaily summed over model, account, region and principal.",
    # A chart stacked by person reads its top few people's cells over the range, not every cell.
    indexes=tuple(
        models.Index(fields=["tenant", column, "usage_date"], name=f"people_{column}_idx")
        for column in ("user_id", "agent_id", "workflow_id")
    ),
)

# Smallest first: a query reads the first one that has every column it groups and filters by. People outnumber
# the combinations of model, account, region and principal in a ledger of any size, so the coarse one comes first.
COARSE_ROLLUPS: tuple[tuple[Any, tuple[str, ...]], ...] = (
    (SpendDailyCoarse, COARSE_DIMENSIONS),
    (SpendDailyPeople, PEOPLE_DIMENSIONS),
)
SpendWeeklyPeople = _rollup_model(
    "SpendWeeklyPeople",
    "ai_spend_weekly_people",
    PEOPLE_DIMENSIONS,
    "Weekly spend by people and tags: SpendDailyPeople summed over the days of each ISO week (Monday first).",
    weekly=True,
)


SpendPeopleSpan = type(
    "SpendPeopleSpan",
    (models.Model,),
    {
        "__module__": __name__,
        "__doc__": """A view (PostgreSQL), not a table: SpendWeeklyPeople's cells (grain "week") and SpendDailyPeople's
        (grain "day") in one relation, so a range's whole weeks and the days at its edges are summed in one query
        (finops.explorer.cells.range_cells). Read only; created by finops.ledger.coarse.weekly_install.""",
        "id": models.BigIntegerField(primary_key=True),
        "grain": models.CharField(max_length=4),
        "tenant": models.ForeignKey(Tenant, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False),
        "usage_date": models.DateField(),
        **{f: SpendDaily._meta.get_field(f).clone() for f in (*PEOPLE_DIMENSIONS, *COARSE_MEASURES)},
        "Meta": type("Meta", (), {"managed": False, "db_table": "ai_spend_people_span"}),
        "__str__": lambda self: f"{self.grain} {self.usage_date} {self.cost_usd}",
    },
)


# Weekly rollups: (the weekly one, its dimensions, the daily rollup it sums, the view of both).
WEEKLY_ROLLUPS: tuple[tuple[Any, tuple[str, ...], Any, Any], ...] = (
    (SpendWeeklyPeople, PEOPLE_DIMENSIONS, SpendDailyPeople, SpendPeopleSpan),
)
