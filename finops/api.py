"""The one NinjaAPI of the project, at /api/v1/ (OpenAPI docs at /api/v1/docs)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Swagger
from ninja.errors import ValidationError
from ninja.security import django_auth

from budgets.api import router as budgets_router
from connections.api import router as connections_router
from connections.api_auth import (
    BearerToken,
    audit_token_writes,
    limit_tokens_to_their_tenant,
    parameter_errors_text,
    refuse_nul_characters,
)
from finops.explorer.api import router as explorer_router
from finops.exports.api import router as exports_router
from finops.ledger.api import router as ledger_router
from ingestion.api import router as sync_router
from recommendations.api import router as recommendations_router

api = NinjaAPI(
    title="Bedrock FinOps API",
    version="1.0.0",
    description=(
        "The spend ledger, the explorer, chargeback, unit economics, recommendations and connections, scoped to "
        "the tenants the caller may see (404 for any other). Authenticate with a personal API token "
        "(`Authorization: Bearer bfo_...`, created under API tokens in the user menu or with `manage.py "
        "create_api_token`) or, from the pages, with the session (writes then need the CSRF token). "
        "Money is a decimal string. Writes need the analyst or admin role; a write made with a token is audited."
    ),
    # A Bearer token first (it acts as its user, limited to its tenant if it has one), else the session.
    auth=[BearerToken(), django_auth],
    # Swagger UI from our static files (ninja is an installed app), and no validator badge: that would load
    # an image from an outside host, which the Content-Security-Policy refuses (and would leak the schema URL).
    docs=Swagger(settings={"validatorUrl": None}),
    urls_namespace="api-v1",
)
# Each operation: NUL characters refused before anything reads the parameters; then, after authentication, a
# token's tenant limit (inside) and the audit of writes made with a token (outside, so it sees refusals too).
api.add_decorator(refuse_nul_characters, mode="view")
api.add_decorator(limit_tokens_to_their_tenant)
api.add_decorator(audit_token_writes)
api.add_router("/ledger", ledger_router)
api.add_router("/explore", explorer_router)
api.add_router("/exports", exports_router)
api.add_router("/recommendations", recommendations_router)
api.add_router("/budgets", budgets_router)
api.add_router("/connections", connections_router)
api.add_router("/connections", sync_router)  # /connections/{tenant}/sync: ingestion's data, ingestion's router


@api.exception_handler(ValidationError)
def parameter_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """A parameter of the wrong type or out of range: a 400 that says which (ninja's default is a 422)."""
    return api.create_response(request, {"detail": parameter_errors_text(exc.errors), "errors": exc.errors}, status=400)


@api.get("/health", auth=None, tags=["meta"])
def health(request: HttpRequest) -> dict[str, str]:
    return {"status": "ok"}
