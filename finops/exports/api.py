"""Export endpoints: a billing period as a FOCUS 1.2 file, for a tenant the caller may see (404 otherwise)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from connections.api_auth import COMMON_ERRORS, api_tenant, error_responses
from finops.exports.services import ExportBadRequest, ExportNotFound
from finops.exports.views import focus_file_response

router = Router(tags=["exports"])


class FocusParams(Schema):
    period: str = Field(..., description="Billing period, YYYY-MM.")
    format: str = Field("csv", description="csv or parquet.")
    source: list[str] = Field(
        default_factory=list,
        description="Platforms (ledger sources) to export, repeated or comma-separated: bedrock, openai, anthropic, "
        "azure_openai, vertex. Default: every platform.",
    )


FILES = {
    "text/csv": {"schema": {"type": "string"}},
    "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
}


@router.get(
    "/{tenant_slug}/focus",
    response=error_responses(*COMMON_ERRORS),
    summary="FOCUS 1.2 export of one billing period (CSV or Parquet)",
    description=(
        "One row per bill line of the period (every platform, or those named in source), so BilledCost sums to the "
        "invoices; ProviderName, ServiceName and SubAccountId per platform; every FOCUS 1.2 column, the "
        "AI columns (ServiceCategory AI and Machine Learning, ServiceSubcategory Generative AI, SkuMeter per token "
        "type, SkuPriceDetails with the model) and x_ columns (token type, service tier, tokens, application, "
        "team, user, agent, cost basis). 400 for a bad period, format or source; 404 for a tenant you may not see or a "
        "period without billed data."
    ),
    openapi_extra={"responses": {200: {"description": "The FOCUS file", "content": FILES}}},
)
def focus(request: HttpRequest, tenant_slug: str, params: Query[FocusParams]) -> HttpResponse:
    tenant = api_tenant(request, tenant_slug)
    try:
        return focus_file_response(
            request, tenant=tenant, period_text=params.period, fmt=params.format, via="api", sources=params.source
        )
    except ExportBadRequest as exc:
        raise HttpError(400, str(exc)) from exc
    except ExportNotFound as exc:
        raise HttpError(404, str(exc)) from exc
