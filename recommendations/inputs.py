"""What the recommenders read: plain rows taken from the ledger once per run, and the catalog. The
recommenders themselves are pure functions of these (recommendations/recommenders/*.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from finops.ledger.catalog import Catalog


@dataclass(frozen=True)
class Request:
    """One invocation-log request (a ledger row of kind `request`)."""

    request_id: str
    usage_start: datetime
    usage_date: date
    account_id: str
    region: str
    model_id: str  # canonical; blank when the model is unknown
    model_tier: str
    model_provider: str
    model_family: str
    route: str
    service_tier: str
    operation: str
    application: str
    team: str
    agent_id: str
    workflow_id: str
    session_id: str
    iam_principal: str
    principal_name: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_usd: Decimal | None  # the estimate; None when unpriced
    stop_reason: str = ""
    prefix_hash: str = ""  # keyed hash of the reusable prompt prefix ("" when the body was not delivered)
    prefix_chars: int | None = None  # its length in characters; None when the body was not delivered
    uses_caching: bool = False  # the request marks a cache point or read/wrote the cache
    error_code: str = ""
    inference_profile_arn: str = ""


@dataclass(frozen=True)
class BillLine:
    """One CUR line (a ledger row of kind `billed_line`)."""

    usage_date: date
    account_id: str
    region: str
    model_id: str
    usage_type: str
    usage_category: str
    token_type: str
    service_tier: str
    line_item_type: str
    cost_usd: Decimal
    units: Decimal | None
    unit: str
    resource_arn: str  # the provisioned model or inference profile the line is for, when the bill says
    iam_principal: str = ""


@dataclass(frozen=True)
class Restatement:
    """A billing period AWS delivered again with changes (from the CUR import that replaced it)."""

    billing_period: date
    delivered_on: date
    before_usd: Decimal
    after_usd: Decimal
    rows_removed: int
    rows_added: int


@dataclass
class Inputs:
    """One tenant's data for a run: the window's requests and bill lines (and, for anomalies, the
    baseline days before it), and the catalog to price with."""

    as_of: date  # the last day looked at (inclusive)
    requests: list[Request]
    bills: list[BillLine]
    catalog: Catalog
    window_days: int = 30
    # Per-model tokens-per-minute of one provisioned model unit (admin setting), for break-even.
    tokens_per_model_unit: dict[str, int] = field(default_factory=dict)
    restatements: list[Restatement] = field(default_factory=list)
    # (region, catalog model id) -> ACTIVE or LEGACY as the tenant's accounts list the model there (inventory);
    # where present it wins over the catalog's lifecycle.
    lifecycles: dict[tuple[str, str], str] = field(default_factory=dict)

    def lifecycle(self, model_id: str, region: str) -> str:
        """The model's lifecycle in a region: the inventory's when it lists the model there, else the catalog's."""
        listed = self.lifecycles.get((region, model_id))
        if listed:
            return listed
        model = self.catalog.models.get(model_id)
        return model.lifecycle if model is not None else ""

    @property
    def start(self) -> date:
        return self.as_of - timedelta(days=self.window_days - 1)

    def window_requests(self) -> list[Request]:
        return [r for r in self.requests if self.start <= r.usage_date <= self.as_of]

    def window_bills(self) -> list[BillLine]:
        return [b for b in self.bills if self.start <= b.usage_date <= self.as_of]
