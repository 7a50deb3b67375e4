"""The one NinjaAPI of the project, at /api/v1/ (OpenAPI docs at /api/v1/docs)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import NinjaAPI
from ninja.security import django_auth

from finops.ledger.api import router as ledger_router

api = NinjaAPI(
    title="Bedrock FinOps API",
    version="1.0.0",
    description="Read-only access to the spend ledger, scoped to the tenants the caller may see.",
    auth=django_auth,
    urls_namespace="api-v1",
)
api.add_router("/ledger", ledger_router)


@api.get("/health", auth=None, tags=["meta"])
def health(request: HttpRequest) -> dict[str, str]:
    return {"status": "ok"}
