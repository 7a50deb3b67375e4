"""Bill lines of one billing period -> FOCUS 1.2 rows (the Cost and Usage dataset). Pure: no database.

What a row is: one CUR bill line of the ledger (record_kind billed_line, cost_basis billed), so BilledCost
sums to the period's invoice (usage, credits, refunds, tax, fees). Request-level detail (invocation-log
rows, their estimates) is not a FOCUS charge and never enters BilledCost; the reconciliation's share of
each line that requests explain is carried as the custom column x_AllocatedCost, and per-team or per-user
chargeback of the whole bill is `manage.py chargeback`.

Every FOCUS 1.2 column is present (finops.exports.columns), then the custom (x_) columns. A column the ledger
cannot fill for a row is null, never a placeholder. The choices:

- ChargeCategory from line_item_line_item_type: Usage / DiscountedUsage / SavingsPlanCoveredUsage -> Usage, a
  Refund of a usage type -> Usage (FOCUS: usage "including refunds"), Fee types -> Purchase, Tax, Credit, and
  anything else (discounts ...) -> Adjustment. ChargeClass "Correction" when the line charges usage from before
  its billing period (a correction of an invoiced period); null otherwise, also for a refund within the period.
- Costs: BilledCost = EffectiveCost = ContractedCost = the line's unblended cost (Purchase: EffectiveCost 0, as
  FOCUS asks of purchases covering later charges; the ledger has no amortisation). ListCost = CUR's public
  on-demand cost, or the billed cost when CUR gives none. Unit prices = cost / PricingQuantity.
- Units are read from the line: PricingQuantity = line_item_usage_amount in its pricing unit ("1K tokens" ->
  "1000 Tokens", "Hrs" -> "Hours"); ConsumedQuantity = the tokens that amount is (or the amount itself).
- SKU: SkuId = service + usage type (+ the model for Marketplace usage types, which every Marketplace model
  shares); SkuPriceId = SkuId + pricing unit; SkuMeter = the token type ("Input Tokens" ...); SkuPriceDetails =
  the model and price dimensions, with x_ keys (FOCUS 1.2 defines no AI properties; others MUST start with x_).
- Accounts: BillingAccountId = the connection's CUR payer account (else its account; file imports: the
  tenant's only connection, else the account most lines name); SubAccountId = the usage account."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from finops.exports import platforms
from finops.exports.columns import (
    CHARGE_CATEGORIES,
    COLUMNS,
    CURRENCY,
    DECIMAL_COLUMNS,
    PROVIDER,
    REGION_NAMES,
    SERVICE_CATEGORY,
    SERVICE_CODE,
    SERVICE_NAME,
    SERVICE_SUBCATEGORY,
    TOKEN_FIELDS,
    TOKEN_METERS,
    USAGE_TYPES,
)


@dataclass(frozen=True)
class Account:
    id: str
    name: str


@dataclass(frozen=True)
class FocusContext:
    """What the bill lines do not carry: the billing (payer) account of each connection, the display
    names of member accounts and models. `default_billing` is used for lines imported from files."""

    default_billing: Account
    billing_by_connection: Mapping[int, Account] = field(default_factory=dict)
    account_names: Mapping[str, str] = field(default_factory=dict)
    model_names: Mapping[str, str] = field(default_factory=dict)
    # Other platforms: the billing account of a line whose tags name none (per source), and account names.
    platform_billing: Mapping[str, Account] = field(default_factory=dict)
    billing_names: Mapping[str, str] = field(default_factory=dict)


def month_bounds(period: date) -> tuple[datetime, datetime]:
    """[start, end) of a billing month, as aware UTC datetimes."""
    start = period.replace(day=1)
    end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return datetime.combine(start, time(), UTC), datetime.combine(end, time(), UTC)


def pricing_unit(unit: str) -> str | None:
    """The ledger's unit of a bill line (what CUR's pricing_unit said, or the scale derived from the rate
    when it said only "Units") in FOCUS unit format: "1K tokens" -> "1000 Tokens", "Hrs" -> "Hours"."""
    other = platforms.pricing_unit(unit)
    if other is not None:
        return other
    text = unit.replace("(derived from rate)", "").strip()
    lowered = text.lower()
    if lowered.startswith("1k tokens"):
        return "1000 Tokens"
    if lowered.startswith("1m tokens"):
        return "1000000 Tokens"
    known = {"tokens": "Tokens", "model-unit hours": "Hours", "hrs": "Hours", "hours": "Hours", "images": "Images"}
    if lowered in known:
        return known[lowered]
    if lowered in {"", "unknown", "unit", "units"}:
        return "Units"
    return text


def charge_category(line_item_type: str, usage_type: str) -> str:
    if line_item_type == "Refund":
        # FOCUS: Usage is "positive or negative charges ... including refunds"; a refund that names no
        # usage type is not a usage charge.
        return "Usage" if usage_type else "Adjustment"
    return CHARGE_CATEGORIES.get(line_item_type or "Usage", "Adjustment")


def sku_id(line: Mapping[str, Any]) -> str:
    """AWS prices Bedrock per usage type; Marketplace usage types (MP:) are shared by every Marketplace
    model, so theirs also names the model."""
    if not platforms.is_bedrock(line):
        return platforms.sku_id(line)
    usage_type = line["usage_type"] or line["operation"] or "Usage"
    if "MP:" in usage_type:
        return f"{SERVICE_CODE}:{usage_type}:{line['model_id'] or line['model_ref'] or 'unknown-model'}"
    return f"{SERVICE_CODE}:{usage_type}"


def sku_meter(line: Mapping[str, Any]) -> str:
    if line["token_type"] in TOKEN_METERS:
        return TOKEN_METERS[line["token_type"]]
    category = (line["usage_category"] or "").replace("_", " ").strip()
    return category.title() if category and category != "unparsed" else "Usage"


def sku_price_details(line: Mapping[str, Any]) -> str:
    """The model and price dimensions of the SKU price. FOCUS 1.2 defines no AI properties, and keys
    that are not FOCUS-defined MUST begin with "x_" (SkuPriceDetails-C-017-C)."""
    details: dict[str, Any] = {
        "x_ModelDeveloper": line["model_provider"] or None,
        "x_ModelFamily": line["model_family"] or None,
        "x_ModelId": line["model_id"] or line["model_ref"] or None,
        "x_TokenType": line["token_type"] or None,
        "x_ServiceTier": line["service_tier"] or None,
        "x_Route": line["route"] or None,
        "x_Context": line["context"] or None,
    }
    return json.dumps({k: v for k, v in details.items() if v is not None}, sort_keys=True)


def tags_json(tags: Any) -> str | None:
    """All tag keys as delivered (values kept; a valueless tag becomes true, as FOCUS asks)."""
    if not isinstance(tags, Mapping) or not tags:
        return None
    out: dict[str, Any] = {}
    for key, value in tags.items():
        if value is None or value == "":
            out[str(key)] = True
        elif isinstance(value, bool | int | float | str):
            out[str(key)] = value
        else:
            out[str(key)] = json.dumps(value, sort_keys=True)  # FOCUS values are scalars
    return json.dumps(out, sort_keys=True)


def resource_type(arn: str) -> str | None:
    if ":provisioned-model/" in arn:
        return "Provisioned Model"
    if ":application-inference-profile/" in arn:
        return "Application Inference Profile"
    if ":inference-profile/" in arn:
        return "Inference Profile"
    return "Bedrock Resource" if arn else None


def consumed(line: Mapping[str, Any], unit: str | None) -> tuple[Decimal | None, str | None]:
    """ConsumedQuantity and ConsumedUnit: tokens counted from the line (its quantity read in its unit),
    model-unit hours, images; the priced quantity itself when the line's unit could not be read as tokens."""
    # A provider's cost line counts no tokens itself; the Usage API's tokens of its bucket (see selectors).
    tokens = sum(int(line[f] or 0) for f in TOKEN_FIELDS) or int(line.get("usage_tokens") or 0)
    if tokens:
        return Decimal(tokens), "Tokens"
    if line["units"] is None:
        return None, None
    if line["token_type"] == "model_unit_hour":
        return line["units"], "Model Unit-Hours"
    return line["units"], unit


MILLION = Decimal(1_000_000)


def with_quantity(line: Mapping[str, Any]) -> Mapping[str, Any]:
    """A provider's cost line without a quantity (OpenAI's and Anthropic's cost reports give dollars only) priced
    per 1M tokens over the tokens its bucket's usage reports (`usage_tokens`, see selectors); others as they are."""
    tokens = line.get("usage_tokens")
    if not tokens or line["units"] is not None or platforms.is_bedrock(line):
        return line
    return {**line, "units": Decimal(tokens) / MILLION, "unit": "1M tokens"}


def _divide(amount: Decimal, quantity: Decimal) -> Decimal:
    # 28 significant digits: the validator compares unit price x quantity with the cost to 1e-9.
    return amount / quantity


def unit_rates(lines: Iterable[Mapping[str, Any]]) -> dict[str, tuple[Decimal, Decimal]]:
    """(list, contracted) price per pricing unit of each SKU price, from its lines with a quantity, for the
    lines of the same SKU price that have none (a refund of a usage charge)."""
    sums: dict[str, list[Decimal]] = {}
    for line in map(with_quantity, lines):
        if line_category(line)[0] != "Usage" or not line["units"]:
            continue
        cost = line["cost_usd"] or Decimal(0)
        list_cost = list_cost_of(line, cost)
        key = sku_price_id(line)
        acc = sums.setdefault(key, [Decimal(0), Decimal(0), Decimal(0)])
        acc[0] += list_cost
        acc[1] += cost
        acc[2] += line["units"]
    return {k: (_divide(lc, q), _divide(c, q)) for k, (lc, c, q) in sums.items() if q > 0 and lc >= 0 and c >= 0}


def list_cost_of(line: Mapping[str, Any], billed: Decimal) -> Decimal:
    """CUR's public on-demand cost of the line; the billed cost when CUR gives none (blank, or 0 on a
    line that was billed: Marketplace models have no public on-demand price in CUR)."""
    listed = line["list_cost_usd"]
    if listed is None or (listed == 0 and billed != 0):
        return billed
    return listed


def sku_price_id(line: Mapping[str, Any]) -> str:
    """One price per SKU and pricing unit (the same Marketplace usage type is billed per "Units" on some
    lines and per 1M tokens on others)."""
    return f"{sku_id(line)}/{pricing_unit(line['unit'])}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def focus_row(
    line: Mapping[str, Any],
    *,
    context: FocusContext,
    period: date,
    rates: Mapping[str, tuple[Decimal, Decimal]] | None = None,
) -> dict[str, Any]:
    """One bill line as a FOCUS 1.2 row (values typed: Decimal, aware datetime, str, int, or None)."""
    line = with_quantity(line)
    period_start, period_end = month_bounds(period)
    billed = line["cost_usd"] if line["cost_usd"] is not None else Decimal(0)
    category, corrects = line_category(line)
    # A charge for usage before this billing period corrects a period already invoiced.
    correction = corrects or line["usage_start"] < period_start
    billing = context.billing_by_connection.get(line["connection_id"] or 0, context.default_billing)
    account = line["account_id"] or None
    region = line["region"] or None
    arn = line["inference_profile_arn"] or None
    model = line["model_id"] or line["model_ref"]
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row.update(
        {
            "BilledCost": billed,
            "BillingAccountId": billing.id,
            "BillingAccountName": billing.name,
            "BillingAccountType": "Payer Account",
            "BillingCurrency": CURRENCY,
            "BillingPeriodStart": period_start,
            "BillingPeriodEnd": period_end,
            "ChargeCategory": category,
            "ChargeClass": "Correction" if correction else None,
            "ChargeFrequency": _frequency(category, line["line_item_type"]),
            "ChargePeriodStart": line["usage_start"],
            "ChargePeriodEnd": max(line["usage_end"], line["usage_start"]),
            "EffectiveCost": Decimal(0) if category == "Purchase" else billed,
            "InvoiceIssuerName": PROVIDER,
            "PricingCurrency": CURRENCY,
            "ProviderName": PROVIDER,
            "PublisherName": _publisher(line),
            "RegionId": region,
            "RegionName": REGION_NAMES.get(region, region) if region else None,
            "ResourceId": arn,
            "ResourceType": resource_type(arn or ""),
            "ServiceCategory": SERVICE_CATEGORY,
            "ServiceName": SERVICE_NAME,
            "ServiceSubcategory": SERVICE_SUBCATEGORY,
            "SubAccountId": account,
            "SubAccountName": (context.account_names.get(account) or account) if account else None,
            "SubAccountType": "AWS Account" if account else None,
            "Tags": tags_json(line["tags"]),
        }
    )
    row["ChargeDescription"] = _description(line, category, context.model_names.get(model, model))
    if not platforms.is_bedrock(line):
        _platform_identity(
            row, line, context=context, category=category, model_name=context.model_names.get(model, model)
        )
    if category in {"Usage", "Purchase"}:
        _priced_columns(row, line, billed=billed, correction=correction, rates=rates or {})
    else:
        # Charges not priced per unit (tax, credits, adjustments): their list and contracted cost is the billed.
        row["ListCost"] = row["ContractedCost"] = billed
    row["PricingCurrencyEffectiveCost"] = row["EffectiveCost"]
    row["PricingCurrencyListUnitPrice"] = row["ListUnitPrice"]
    row["PricingCurrencyContractedUnitPrice"] = row["ContractedUnitPrice"]
    row.update(_custom(line))
    return row


def _priced_columns(
    row: dict[str, Any],
    line: Mapping[str, Any],
    *,
    billed: Decimal,
    correction: bool,
    rates: Mapping[str, tuple[Decimal, Decimal]],
) -> None:
    unit = pricing_unit(line["unit"])
    quantity: Decimal | None = line["units"]
    price_id = sku_price_id(line)
    row.update(
        {
            "PricingCategory": "Standard",
            "SkuId": sku_id(line),
            "SkuMeter": sku_meter(line),
            "SkuPriceId": price_id,
            "SkuPriceDetails": sku_price_details(line),
        }
    )
    if quantity is not None:
        row["PricingQuantity"], row["PricingUnit"] = quantity, unit
    if row["ChargeCategory"] == "Usage":
        row["ConsumedQuantity"], row["ConsumedUnit"] = consumed(line, unit)
    listed = list_cost_of(line, billed)
    if quantity:
        # The bill's own dollars per pricing unit: contracted = what was billed, list = public on-demand.
        row["ListCost"], row["ContractedCost"] = listed, billed
        row["ListUnitPrice"] = _divide(listed, quantity) if listed / quantity >= 0 else None
        row["ContractedUnitPrice"] = _divide(billed, quantity) if billed / quantity >= 0 else None
    elif quantity is not None and not correction and price_id in rates:
        # No quantity (a refund in the same period): nothing at list or contracted price, the SKU's prices
        # as its other lines show them.
        row["ListCost"] = row["ContractedCost"] = Decimal(0)
        row["ListUnitPrice"], row["ContractedUnitPrice"] = rates[price_id]
    else:
        row["ListCost"], row["ContractedCost"] = listed, billed


def line_category(line: Mapping[str, Any]) -> tuple[str, bool]:
    """(ChargeCategory, whether the line type itself says it is a correction)."""
    if platforms.is_bedrock(line):
        return charge_category(line["line_item_type"], line["usage_type"]), False
    return platforms.charge_type(line["line_item_type"])


def _platform_identity(
    row: dict[str, Any], line: Mapping[str, Any], *, context: FocusContext, category: str, model_name: str
) -> None:
    """Who sold the line, for which service, billed to which account: the columns that differ from Bedrock."""
    platform = platforms.platform_of(line)
    billing_id = platforms.billing_account_id(line)
    fallback = context.platform_billing.get(line["source"], context.default_billing)
    sub_id, sub_name, sub_type = platforms.sub_account(line)
    region = line["region"] or None
    arn = line["inference_profile_arn"] or None
    service = platforms.service_name(line)
    row.update(
        {
            "BillingAccountId": billing_id or fallback.id,
            "BillingAccountName": context.billing_names.get(billing_id) or billing_id or fallback.name,
            # BillingAccountType MUST NOT be null beside an id: the tenant stands in for an account the import lacked.
            "BillingAccountType": platform.billing_type if billing_id else "Tenant",
            "InvoiceIssuerName": platform.invoice_issuer,
            "ProviderName": platform.provider,
            "PublisherName": platforms.publisher(line),
            "RegionName": region,
            "ResourceType": (platform.resource_type or "Resource") if arn else None,
            "ServiceCategory": platform.category,
            "ServiceName": service,
            "ServiceSubcategory": platform.subcategory,
            "SubAccountId": sub_id,
            "SubAccountName": sub_name,
            "SubAccountType": sub_type,
            # Google bills a partner model as its own service ("Claude Sonnet 4.5"): not named twice.
            "ChargeDescription": _description(
                line, category, "" if model_name == service else model_name, service=service
            ),
        }
    )


def _frequency(category: str, line_item_type: str) -> str:
    if category == "Purchase":
        return "Recurring" if "Recurring" in line_item_type else "One-Time"
    return "Usage-Based"


def _publisher(line: Mapping[str, Any]) -> str:
    # Marketplace usage types are sold by the model's developer through AWS Marketplace.
    if "MP:" in (line["usage_type"] or "") and line["model_provider"]:
        return line["model_provider"]
    return PROVIDER


def _description(line: Mapping[str, Any], category: str, model_name: str, *, service: str = SERVICE_NAME) -> str:
    kind = line["line_item_type"] or "Usage"
    if category in {"Tax", "Credit", "Adjustment"} and not line["usage_type"]:
        return f"{service} {kind.lower()}"
    what = sku_meter(line).lower() if line["usage_type"] else kind.lower()
    parts = [service, model_name, what]
    text = " ".join(p for p in parts if p)
    if kind not in USAGE_TYPES:
        text = f"{kind}: {text}"
    return f"{text} ({line['usage_type']})" if line["usage_type"] else text


def _custom(line: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "x_TokenType": line["token_type"] or None,
        "x_ServiceTier": line["service_tier"] or None,
        "x_Route": line["route"] or None,
        "x_UsageType": line["usage_type"] or None,
        "x_LineItemType": line["line_item_type"] or None,
        "x_Operation": line["operation"] or None,
        "x_IamPrincipal": line["iam_principal"] or None,
        "x_Application": line["application"] or None,
        "x_Team": line["team"] or None,
        "x_User": line["user_id"] or None,
        "x_Agent": line["agent_id"] or None,
        "x_CostBasis": line["cost_basis"],
        "x_InputTokens": int(line["input_tokens"] or 0),
        "x_OutputTokens": int(line["output_tokens"] or 0),
        "x_CacheReadTokens": int(line["cache_read_tokens"] or 0),
        "x_CacheWriteTokens": int(line["cache_write_tokens"] or 0),
        "x_AllocatedCost": line["allocated_cost_usd"],
    }


def focus_rows(lines: list[Mapping[str, Any]], *, context: FocusContext, period: date) -> Iterator[dict[str, Any]]:
    """The period's bill lines as FOCUS rows, in the order given."""
    rates = unit_rates(lines)
    for line in lines:
        yield focus_row(line, context=context, period=period, rates=rates)


def cell_text(column: str, value: Any) -> str:
    """A value as CSV text: decimals in plain notation, datetimes as YYYY-MM-DDTHH:mm:ssZ, null as empty."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        text = format(value, "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        text = "0" if text in {"", "-0"} else text
        # A FOCUS Decimal keeps its decimal point (42901.0), so that readers that guess types from CSV
        # text (the FOCUS validator among them) read a decimal column, not an integer one.
        return f"{text}.0" if column in DECIMAL_COLUMNS and "." not in text else text
    if isinstance(value, datetime):
        return _iso(value)
    return str(value)
