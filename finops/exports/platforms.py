"""FOCUS identity of the bill lines of the platforms beside Amazon Bedrock (OpenAI, Anthropic, Azure OpenAI,
Vertex AI), from each line's `source` and the ids its importer kept in `tags`. Pure: no database.

Bedrock lines never come here (finops.exports.focus maps them, unchanged). The values, and where they come from:

- OpenAI / Anthropic: the provider is also the publisher and the invoice issuer; the billing account is the
  organization (tag `organization_id`), the sub-account the OpenAI project (`project_id`, `project_name`) or the
  Anthropic workspace (`workspace_id`, `workspace_name`), as their Usage and Cost Admin APIs group spend.
- Azure OpenAI: ProviderName / PublisherName / InvoiceIssuerName "Microsoft", ServiceName "Azure AI Services",
  ServiceCategory "AI and Machine Learning", ServiceSubcategory "AI Platforms": the values Microsoft's FinOps
  toolkit maps Cost Management's `microsoft.cognitiveservices/accounts` resources (Azure OpenAI included) to
  for FOCUS (microsoft/finops-toolkit, src/open-data/Services.csv). The sub-account is the subscription
  (`azure/subscription_id`), SubAccountType "Subscription" as in Microsoft's FOCUS export.
- Vertex AI: "Google Cloud"; ServiceName the billing export's `service.description` (`gcp/service`: "Vertex AI",
  or "Gemini API"); the billing account `gcp/billing_account_id`, the sub-account the project (`gcp/project_id`,
  `gcp/project_name`), SkuId Google's own `sku.id` (`gcp/sku_id`). A partner model (Claude on Vertex) keeps its
  developer as PublisherName, as Bedrock's Marketplace models do.

Everything else is built from what the line has: SkuId = the platform's prefix + the line as the provider names
it (OpenAI's `line_item`, Anthropic's cost description, Azure's meter name); SkuMeter the token type; regions
as delivered (RegionName = RegionId: no AWS names for other clouds)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from finops.ledger.provider_catalog import PLATFORMS as LEDGER_PLATFORMS


@dataclass(frozen=True)
class Platform:
    provider: str
    publisher: str
    invoice_issuer: str
    service: str
    category: str
    subcategory: str
    sku_prefix: str
    billing_tag: str  # the tag holding the billing account id
    billing_type: str
    sub_account_tag: str
    sub_account_name_tag: str
    sub_account_type: str
    resource_type: str = ""  # ResourceType of the line's resource id (inference_profile_arn), if it has one


BEDROCK = "bedrock"
AI_AND_ML = "AI and Machine Learning"
PLATFORMS: dict[str, Platform] = {
    "openai": Platform(
        provider="OpenAI",
        publisher="OpenAI",
        invoice_issuer="OpenAI",
        service="OpenAI API",
        category=AI_AND_ML,
        subcategory="Generative AI",
        sku_prefix="OpenAI",
        billing_tag="organization_id",
        billing_type="Organization",
        sub_account_tag="project_id",
        sub_account_name_tag="project_name",
        sub_account_type="Project",
    ),
    "anthropic": Platform(
        provider="Anthropic",
        publisher="Anthropic",
        invoice_issuer="Anthropic",
        service="Claude API",
        category=AI_AND_ML,
        subcategory="Generative AI",
        sku_prefix="Anthropic",
        billing_tag="organization_id",
        billing_type="Organization",
        sub_account_tag="workspace_id",
        sub_account_name_tag="workspace_name",
        sub_account_type="Workspace",
    ),
    "azure_openai": Platform(
        provider="Microsoft",
        publisher="Microsoft",
        invoice_issuer="Microsoft",
        service="Azure AI Services",
        category=AI_AND_ML,
        subcategory="AI Platforms",
        sku_prefix="AzureOpenAI",
        billing_tag="azure/billing_account_id",
        billing_type="Billing Account",
        sub_account_tag="azure/subscription_id",
        sub_account_name_tag="azure/subscription_name",
        sub_account_type="Subscription",
        resource_type="Azure OpenAI Deployment",
    ),
    "vertex": Platform(
        provider="Google Cloud",
        publisher="Google Cloud",
        invoice_issuer="Google Cloud",
        service="Vertex AI",
        category=AI_AND_ML,
        subcategory="Generative AI",
        sku_prefix="VertexAI",
        billing_tag="gcp/billing_account_id",
        billing_type="Billing Account",
        sub_account_tag="gcp/project_id",
        sub_account_name_tag="gcp/project_name",
        sub_account_type="Project",
    ),
}
# The ledger's sources and their display names, as the ledger defines them.
PLATFORM_NAMES: dict[str, str] = dict(LEDGER_PLATFORMS)
SOURCES = tuple(PLATFORM_NAMES)
# Providers' line types beyond CUR's: Azure's ChargeType / FOCUS ChargeCategory, Google's cost_type.
CHARGE_CATEGORIES = {
    "usage": "Usage",
    "purchase": "Purchase",
    "tax": "Tax",
    "credit": "Credit",
    "refund": "Usage",
    "adjustment": "Adjustment",
    "rounding": "Adjustment",
}
GOOGLE_PUBLISHERS = {"", "google"}


def is_bedrock(line: Mapping[str, Any]) -> bool:
    return (line.get("source") or BEDROCK) == BEDROCK


def platform_of(line: Mapping[str, Any]) -> Platform:
    source = line.get("source") or BEDROCK
    if source not in PLATFORMS:
        raise ValueError(f"A bill line of source {source!r} has no FOCUS identity: sources are {', '.join(SOURCES)}.")
    return PLATFORMS[source]


def tag(line: Mapping[str, Any], key: str) -> str:
    tags = line.get("tags")
    value = tags.get(key) if isinstance(tags, Mapping) and key else None
    return str(value) if value not in (None, "") else ""


def charge_type(line_item_type: str) -> tuple[str, bool]:
    """(ChargeCategory, correction) of a provider line type: "Usage (Correction)" -> ("Usage", True)."""
    kind, _, qualifier = (line_item_type or "Usage").partition("(")
    category = CHARGE_CATEGORIES.get(kind.strip().lower(), "Adjustment")
    return category, "correction" in qualifier.lower()


def service_name(line: Mapping[str, Any]) -> str:
    platform = platform_of(line)
    if line.get("source") == "vertex":
        return tag(line, "gcp/service") or platform.service
    return platform.service


def publisher(line: Mapping[str, Any]) -> str:
    platform = platform_of(line)
    developer = line.get("model_provider") or ""
    if line.get("source") == "vertex" and developer.lower() not in GOOGLE_PUBLISHERS:
        return developer  # a partner model in Vertex AI's Model Garden, sold by Google
    return platform.publisher


def sku_id(line: Mapping[str, Any]) -> str:
    """Google's own SKU id when the export gave it; else the platform and the line as the provider names it."""
    platform = platform_of(line)
    if line.get("source") == "vertex" and tag(line, "gcp/sku_id"):
        return f"{platform.sku_prefix}:{tag(line, 'gcp/sku_id')}"
    named = line.get("usage_type") or line.get("model_id") or line.get("model_ref") or line.get("operation") or "Usage"
    return f"{platform.sku_prefix}:{named}"


def sub_account(line: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(SubAccountId, SubAccountName, SubAccountType): null together when the line names none (Anthropic's
    default workspace is delivered without an id)."""
    platform = platform_of(line)
    account = tag(line, platform.sub_account_tag)
    if not account:
        return None, None, None
    return account, tag(line, platform.sub_account_name_tag) or account, platform.sub_account_type


def billing_account_id(line: Mapping[str, Any]) -> str:
    return tag(line, platform_of(line).billing_tag)


def pricing_unit(unit: str) -> str | None:
    """Units the provider importers write that CUR lines never carry."""
    lowered = (unit or "").strip().lower()
    if lowered == "ptu hours":
        return "Hours"
    return None
