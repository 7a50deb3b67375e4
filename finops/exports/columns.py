"""The FOCUS 1.2 columns of the export, their types and order, and the fixed values and names the mapping uses."""

from __future__ import annotations

FOCUS_VERSION = "1.2"
SERVICE_CODE = "AmazonBedrock"
PROVIDER = "Amazon Web Services"
SERVICE_NAME = "Amazon Bedrock"
SERVICE_CATEGORY = "AI and Machine Learning"
SERVICE_SUBCATEGORY = "Generative AI"
CURRENCY = "USD"  # the ledger keeps dollars (cost_usd); CUR lines in another currency are not loaded as such

# Every column of the FOCUS 1.2 Cost and Usage dataset (the validator's CostAndUsage-D-002-M), by type.
DECIMAL_COLUMNS = frozenset(
    {
        "BilledCost",
        "CommitmentDiscountQuantity",
        "ConsumedQuantity",
        "ContractedCost",
        "ContractedUnitPrice",
        "EffectiveCost",
        "ListCost",
        "ListUnitPrice",
        "PricingCurrencyContractedUnitPrice",
        "PricingCurrencyEffectiveCost",
        "PricingCurrencyListUnitPrice",
        "PricingQuantity",
    }
)
DATETIME_COLUMNS = frozenset({"BillingPeriodEnd", "BillingPeriodStart", "ChargePeriodEnd", "ChargePeriodStart"})
STRING_COLUMNS = frozenset(
    {
        "AvailabilityZone",
        "BillingAccountId",
        "BillingAccountName",
        "BillingAccountType",
        "BillingCurrency",
        "CapacityReservationId",
        "CapacityReservationStatus",
        "ChargeCategory",
        "ChargeClass",
        "ChargeDescription",
        "ChargeFrequency",
        "CommitmentDiscountCategory",
        "CommitmentDiscountId",
        "CommitmentDiscountName",
        "CommitmentDiscountStatus",
        "CommitmentDiscountType",
        "CommitmentDiscountUnit",
        "ConsumedUnit",
        "InvoiceId",
        "InvoiceIssuerName",
        "PricingCategory",
        "PricingCurrency",
        "PricingUnit",
        "ProviderName",
        "PublisherName",
        "RegionId",
        "RegionName",
        "ResourceId",
        "ResourceName",
        "ResourceType",
        "ServiceCategory",
        "ServiceName",
        "ServiceSubcategory",
        "SkuId",
        "SkuMeter",
        "SkuPriceDetails",  # JSON object
        "SkuPriceId",
        "SubAccountId",
        "SubAccountName",
        "SubAccountType",
        "Tags",  # JSON object
    }
)
FOCUS_COLUMNS = tuple(sorted(DECIMAL_COLUMNS | DATETIME_COLUMNS | STRING_COLUMNS))
# Custom columns: the AI detail of a line (token type, tier, tokens) and who it is for.
CUSTOM_STRING_COLUMNS = (
    "x_TokenType",
    "x_ServiceTier",
    "x_Route",
    "x_UsageType",
    "x_LineItemType",
    "x_Operation",
    "x_IamPrincipal",
    "x_Application",
    "x_Team",
    "x_User",
    "x_Agent",
    "x_CostBasis",
)
CUSTOM_INTEGER_COLUMNS = ("x_InputTokens", "x_OutputTokens", "x_CacheReadTokens", "x_CacheWriteTokens")
CUSTOM_DECIMAL_COLUMNS = ("x_AllocatedCost",)
CUSTOM_COLUMNS = (*CUSTOM_STRING_COLUMNS, *CUSTOM_INTEGER_COLUMNS, *CUSTOM_DECIMAL_COLUMNS)
COLUMNS = (*FOCUS_COLUMNS, *CUSTOM_COLUMNS)

# CUR line_item_line_item_type -> ChargeCategory. Anything not listed is an Adjustment ("charges the
# provider applies that do not fall into other category values").
USAGE_TYPES = frozenset({"Usage", "DiscountedUsage", "SavingsPlanCoveredUsage"})
PURCHASE_TYPES = frozenset({"Fee", "RIFee", "SavingsPlanUpfrontFee", "SavingsPlanRecurringFee"})
CHARGE_CATEGORIES = {
    **dict.fromkeys(USAGE_TYPES, "Usage"),
    **dict.fromkeys(PURCHASE_TYPES, "Purchase"),
    "Tax": "Tax",
    "Credit": "Credit",
}

TOKEN_METERS = {
    "input": "Input Tokens",
    "output": "Output Tokens",
    "cache_read": "Cache Read Tokens",
    "cache_write": "Cache Write Tokens",
    "input_audio": "Input Audio Tokens",
    "output_audio": "Output Audio Tokens",
    "input_image": "Input Image Tokens",
    "input_video": "Input Video Tokens",
    "output_image": "Output Image Tokens",
    "image": "Images",
    "model_unit_hour": "Model Unit Hours",
}
TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")

# AWS region codes and their display names (RegionName); a code not listed is shown as its code.
REGION_NAMES = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)",
    "us-gov-east-1": "AWS GovCloud (US-East)",
    "us-gov-west-1": "AWS GovCloud (US-West)",
    "ca-central-1": "Canada (Central)",
    "ca-west-1": "Canada West (Calgary)",
    "mx-central-1": "Mexico (Central)",
    "sa-east-1": "South America (Sao Paulo)",
    "eu-central-1": "Europe (Frankfurt)",
    "eu-central-2": "Europe (Zurich)",
    "eu-west-1": "Europe (Ireland)",
    "eu-west-2": "Europe (London)",
    "eu-west-3": "Europe (Paris)",
    "eu-north-1": "Europe (Stockholm)",
    "eu-south-1": "Europe (Milan)",
    "eu-south-2": "Europe (Spain)",
    "il-central-1": "Israel (Tel Aviv)",
    "me-central-1": "Middle East (UAE)",
    "me-south-1": "Middle East (Bahrain)",
    "af-south-1": "Africa (Cape Town)",
    "ap-east-1": "Asia Pacific (Hong Kong)",
    "ap-east-2": "Asia Pacific (Taipei)",
    "ap-south-1": "Asia Pacific (Mumbai)",
    "ap-south-2": "Asia Pacific (Hyderabad)",
    "ap-northeast-1": "Asia Pacific (Tokyo)",
    "ap-northeast-2": "Asia Pacific (Seoul)",
    "ap-northeast-3": "Asia Pacific (Osaka)",
    "ap-southeast-1": "Asia Pacific (Singapore)",
    "ap-southeast-2": "Asia Pacific (Sydney)",
    "ap-southeast-3": "Asia Pacific (Jakarta)",
    "ap-southeast-4": "Asia Pacific (Melbourne)",
    "ap-southeast-5": "Asia Pacific (Malaysia)",
    "ap-southeast-7": "Asia Pacific (Thailand)",
}

# The ledger fields a bill line is read with (finops.exports.selectors.billed_lines).
LINE_FIELDS = (
    "source",
    "connection_id",
    "usage_start",
    "usage_end",
    "account_id",
    "region",
    "route",
    "model_id",
    "model_ref",
    "model_family",
    "model_provider",
    "operation",
    "usage_type",
    "token_type",
    "line_item_type",
    "service_tier",
    "context",
    "usage_category",
    "inference_profile_arn",
    *TOKEN_FIELDS,
    "units",
    "unit",
    "cost_usd",
    "list_cost_usd",
    "allocated_cost_usd",
    "cost_basis",
    "iam_principal",
    "application",
    "team",
    "user_id",
    "agent_id",
    "tags",
)
