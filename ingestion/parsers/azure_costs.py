"""Azure Cost Management exports -> Azure OpenAI bill lines. Pure: a file in, provider rows out (the shape
ingestion.provider_normalize takes), rows of other services counted as skipped, broken rows rejected with
file and line while the rest of the file loads.

Two schemas, told apart by their columns (names matched without regard to case: EA exports spell them
`MeterCategory`, MCA exports `meterCategory`):

* Actual cost ("Cost and usage details", EA and MCA; Microsoft Learn, "Understand cost details fields"):
  `Date` (MCA `date`, older `UsageDate`; MM/DD/YYYY or ISO), `BillingPeriodStartDate`, `MeterCategory`,
  `MeterSubCategory`, `MeterName`, `MeterId`, `ProductName`, `Quantity`, `UnitOfMeasure`, `CostInUSD`
  (MCA `costInUsd`), `CostInBillingCurrency` (EA also `Cost`), `BillingCurrency` (`BillingCurrencyCode`),
  `ResourceId` (`InstanceId`), `ResourceGroup` (MCA `resourceGroupName`), `SubscriptionId`, `Tags`
  (JSON, or EA's `"k": "v","k2": "v2"` without braces), `ResourceLocation`, `ChargeType`.
* FOCUS ("FOCUS cost and usage details", FocusCost 1.0/1.2): `BilledCost`, `x_BilledCostInUsd`,
  `BillingCurrency`, `ChargePeriodStart`, `ChargePeriodEnd`, `BillingPeriodStart`, `ChargeCategory`,
  `ChargeClass`, `ConsumedQuantity`, `ConsumedUnit`, `x_SkuMeterCategory`, `x_SkuMeterSubcategory`,
  `x_SkuMeterName` (FOCUS 1.2 also `SkuMeter`), `ServiceName`, `ResourceId`, `ResourceName`,
  `x_ResourceGroupName`, `SubAccountId`, `Tags`, `RegionId` / `RegionName`.

Money: the USD column when the file has one (`CostInUSD`, `x_BilledCostInUsd`); the billing-currency cost
only on rows billed in USD. A row billed in another currency in a file without the USD column stops the
file with an error naming the column to add: dollars are never converted here."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from ingestion.parsers.azure_meters import is_openai_meter, parse_meter, parse_unit
from ingestion.parsers.common import FileUnreadable, Rejected, month_start, parse_decimal, parse_map, parse_timestamp
from ingestion.parsers.provider_files import iter_records, read_columns

SOURCE = "azure_openai"
MAX_LINE_DOLLARS = Decimal(10**9)
MAX_QUANTITY = Decimal(10**15)
US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:\s.*)?$")
DEPLOYMENT_IN_ID = re.compile(r"/deployments/([^/]+)", re.IGNORECASE)
ACCOUNT_IN_ID = re.compile(r"/accounts/([^/]+)", re.IGNORECASE)
DEPLOYMENT_TAGS = {"deployment", "deploymentname", "deployment_name", "azureopenaideployment", "aoai-deployment"}

# logical name -> the spellings the schemas use (matched lower-case), first found wins
ACTUAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "date": ("date", "usagedate", "usagedatetime"),
    "billing_period": ("billingperiodstartdate",),
    "category": ("metercategory",),
    "subcategory": ("metersubcategory",),
    "meter": ("metername",),
    "meter_id": ("meterid",),
    "service": ("productname", "product", "consumedservice"),
    "quantity": ("quantity", "usagequantity"),
    "unit": ("unitofmeasure",),
    "cost_usd": ("costinusd",),
    "cost_billing": ("costinbillingcurrency", "cost", "pretaxcost"),
    "currency": ("billingcurrency", "billingcurrencycode", "currency"),
    "resource_id": ("resourceid", "instanceid", "instancename"),
    "resource_group": ("resourcegroup", "resourcegroupname"),
    "subscription": ("subscriptionid", "subscriptionguid"),
    "tags": ("tags",),
    "location": ("resourcelocation", "location"),
    "charge_type": ("chargetype",),
}
FOCUS_COLUMNS: dict[str, tuple[str, ...]] = {
    "start": ("chargeperiodstart",),
    "end": ("chargeperiodend",),
    "billing_period": ("billingperiodstart",),
    "category": ("x_skumetercategory",),
    "subcategory": ("x_skumetersubcategory",),
    "meter": ("x_skumetername", "skumeter"),
    "meter_id": ("x_skumeterid", "skuid"),
    "service": ("servicename",),
    "quantity": ("consumedquantity",),
    "unit": ("consumedunit",),
    "cost_usd": ("x_billedcostinusd",),
    "cost_billing": ("billedcost",),
    "currency": ("billingcurrency",),
    "resource_id": ("resourceid",),
    "resource_name": ("resourcename",),
    "resource_group": ("x_resourcegroupname",),
    "subscription": ("subaccountid",),
    "tags": ("tags",),
    "location": ("regionid", "regionname", "x_resourcelocation"),
    "charge_type": ("chargecategory",),
    "charge_class": ("chargeclass",),
}
REQUIRED = {
    "actual": (("date", "Date"), ("meter", "MeterName"), ("quantity", "Quantity"), ("unit", "UnitOfMeasure")),
    "focus": (
        ("start", "ChargePeriodStart"),
        ("meter", "x_SkuMeterName"),
        ("quantity", "ConsumedQuantity"),
        ("unit", "ConsumedUnit"),
    ),
}


def detect_schema(columns: list[str]) -> tuple[str, dict[str, str]]:
    """("actual" | "focus", logical name -> the file's column name). FileUnreadable when it is neither or a
    column every row needs is missing (named, with what to add)."""
    lower = {c.strip().lower(): c for c in columns}
    if "billedcost" in lower and "chargeperiodstart" in lower:
        schema, wanted = "focus", FOCUS_COLUMNS
    elif "metername" in lower or "metercategory" in lower:
        schema, wanted = "actual", ACTUAL_COLUMNS
    else:
        raise FileUnreadable(
            "not an Azure cost export: it has neither MeterName (actual-cost schema) nor BilledCost and "
            "ChargePeriodStart (FOCUS schema)"
        )
    found = {
        name: next(lower[s] for s in spellings if s in lower)
        for name, spellings in wanted.items()
        if any(s in lower for s in spellings)
    }
    for name, label in REQUIRED[schema]:
        if name not in found:
            raise FileUnreadable(f"the {schema} schema needs a {label} column and the file has none")
    if "cost_usd" not in found and "cost_billing" not in found:
        column = "CostInUSD" if schema == "actual" else "x_BilledCostInUsd"
        raise FileUnreadable(f"no cost column: add {column} to the export")
    return schema, found


def _text(record: dict[str, Any], columns: dict[str, str], name: str) -> str:
    column = columns.get(name)
    value = record.get(column) if column else None
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, datetime | date | int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"{column} is not text: {type(value).__name__}")


def azure_date(value: Any, *, column: str) -> datetime:
    """MM/DD/YYYY (what MCA exports write), ISO dates and times, or a date/datetime from Parquet: UTC."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        match = US_DATE.match(value.strip())
        if match:
            month, day, year = (int(g) for g in match.groups())
            try:
                return datetime(year, month, day, tzinfo=UTC)
            except ValueError as exc:
                raise ValueError(f"{column}={value!r} is not a date") from exc
    try:
        return parse_timestamp(value)
    except ValueError as exc:
        raise ValueError(f"{column}: {exc}") from exc


def azure_tags(value: Any, *, column: str) -> dict[str, str]:
    """Tags as JSON (`{"team": "search"}`) or as EA writes them (`"team": "search","app": "x"`)."""
    if isinstance(value, str):
        text = value.strip()
        if text and not text.startswith("{"):
            value = "{" + text + "}"
    return parse_map(value, field_name=column)


def _deployment(resource_id: str, tags: dict[str, str]) -> str:
    match = DEPLOYMENT_IN_ID.search(resource_id)
    if match:
        return match.group(1)
    for key, value in tags.items():
        if key.strip().lower() in DEPLOYMENT_TAGS and value:
            return value
    return ""


def _region(location: str) -> str:
    """ARM location names (`eastus`, `swedencentral`); older exports write `East US`, `US East`."""
    return re.sub(r"\s+", "", location).lower()


class AzureFile:
    """One export file, read row by row. `skipped` counts rows that are not Azure OpenAI."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.schema, self.columns = detect_schema(read_columns(path))
        self.skipped: Counter[str] = Counter()
        self.rejected: list[Rejected] = []
        self.read = 0

    def rows(self) -> Iterator[dict[str, Any]]:
        for line, record in iter_records(self.path):
            self.read += 1
            if "__error__" in record:
                self.rejected.append(Rejected(str(self.path), line, record["__error__"]))
                continue
            try:
                row = self.parse(record, line=line)
            except ValueError as exc:
                self.rejected.append(Rejected(str(self.path), line, str(exc)))
                continue
            if row is not None:
                yield row

    def _cost(self, record: dict[str, Any], line: int) -> Decimal:
        cols = self.columns
        if "cost_usd" in cols and _text(record, cols, "cost_usd") != "":
            return parse_decimal(
                record.get(cols["cost_usd"]), field_name=cols["cost_usd"], blank_ok=False, bound=MAX_LINE_DOLLARS
            )
        currency = _text(record, cols, "currency").upper()
        if currency != "USD":
            column = "CostInUSD (MCA: costInUsd)" if self.schema == "actual" else "x_BilledCostInUsd"
            raise FileUnreadable(
                f"{self.path}:{line}: the row is billed in {currency or 'an unnamed currency'} and the file has no "
                f"US-dollar cost column; export it with {column} (costs are never converted here)"
            )
        return parse_decimal(
            record.get(cols["cost_billing"]),
            field_name=cols["cost_billing"],
            blank_ok=False,
            bound=MAX_LINE_DOLLARS,
        )

    def parse(self, record: dict[str, Any], *, line: int) -> dict[str, Any] | None:
        cols = self.columns
        meter_name = _text(record, cols, "meter")
        category = _text(record, cols, "category")
        subcategory = _text(record, cols, "subcategory")
        service = _text(record, cols, "service")
        if not is_openai_meter(category=category, subcategory=subcategory, meter_name=meter_name, service=service):
            self.skipped[f"not Azure OpenAI ({category or service or 'no meter category'})"] += 1
            return None
        if self.schema == "focus":
            start = azure_date(record.get(cols["start"]), column=cols["start"])
            end_raw = record.get(cols["end"]) if "end" in cols else None
            end = azure_date(end_raw, column=cols["end"]) if end_raw not in (None, "") else start + timedelta(days=1)
        else:
            start = azure_date(record.get(cols["date"]), column=cols["date"])
            end = start + timedelta(days=1)
        if end < start:
            raise ValueError(f"{cols.get('end', 'end')} is before {cols.get('start', cols.get('date'))}")
        period_raw = record.get(cols["billing_period"]) if "billing_period" in cols else None
        period = (
            month_start(azure_date(period_raw, column=cols["billing_period"]))
            if period_raw not in (None, "")
            else month_start(start)
        )
        quantity = parse_decimal(record.get(cols["quantity"]), field_name=cols["quantity"], bound=MAX_QUANTITY)
        unit_text = _text(record, cols, "unit")
        cost = self._cost(record, line)
        tags = azure_tags(record.get(cols["tags"]), column=cols["tags"]) if "tags" in cols else {}
        resource_id = _text(record, cols, "resource_id")
        meter = parse_meter(meter_name)
        unit = parse_unit(unit_text)
        charge = _text(record, cols, "charge_type") or "Usage"
        if _text(record, cols, "charge_class"):
            charge = f"{charge} ({_text(record, cols, 'charge_class')})"
        account = ACCOUNT_IN_ID.search(resource_id)
        extra = {
            "azure/subscription_id": _text(record, cols, "subscription").rsplit("/", 1)[-1],
            "azure/resource_group": _text(record, cols, "resource_group"),
            "azure/account": account.group(1) if account else _text(record, cols, "resource_name"),
            "azure/deployment": _deployment(resource_id, tags),
            "azure/meter_version": meter.version,
        }
        identity = sorted((str(k), str(v)) for k, v in record.items())
        return {
            "file": str(self.path),
            "line": line,
            "source": SOURCE,
            "billing_period": period,
            "usage_start": start,
            "usage_end": end,
            "line_item_type": charge,
            "usage_type": meter_name,
            "model_name": meter.model,
            "token_type": meter.token_type,
            "service_tier": meter.service_tier,
            "route": meter.route,
            "usage_category": meter.category,
            "quantity": quantity,
            "unit": unit,
            "cost_usd": cost,
            "region": _region(_text(record, cols, "location")),
            "tags": tags,
            "extra_tags": {k: v for k, v in extra.items() if v},
            "resource_id": resource_id if DEPLOYMENT_IN_ID.search(resource_id) else "",
            "identity": identity,
        }
