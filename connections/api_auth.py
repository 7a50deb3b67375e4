"""What every router of the API shares: Bearer-token auth, the tenant lookup that honours a token's tenant
limit, the role check for writes, the audit of writes made with a token, errors and pagination.

A request carrying `Authorization: Bearer <token>` acts as the token's user (request.user is set to it), and
only on the token's tenant when it has one. Without a token the session works as before, with Django's CSRF
check on writes (ninja's django_auth); Bearer calls need no CSRF token, since a browser never adds that
header by itself."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, JsonResponse
from ninja import Schema
from ninja.errors import HttpError
from ninja.security import HttpBearer

from connections.models import ApiToken, Membership, Tenant
from connections.selectors import membership_role, tenant_for_user
from connections.services import api_token_authenticate, audit_log_record

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WRITERS = (Membership.Role.ANALYST, Membership.Role.ADMIN)
API_WRITE = "api.write"


class BearerToken(HttpBearer):
    """Personal API tokens (connections.models.ApiToken)."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        found = api_token_authenticate(token=token.strip())
        if found is None:
            # A token was sent and is not live: refuse, rather than fall back to a session cookie that happens to
            # come along (a revoked token must stop working everywhere).
            raise HttpError(401, "The API token is not valid: unknown, revoked or expired. Create a new one.")
        request.user = found.user
        request.api_token = found  # type: ignore[attr-defined]
        return found


def request_token(request: HttpRequest) -> ApiToken | None:
    """The token this request authenticated with, if it did (None for session calls)."""
    token = getattr(request, "api_token", None)
    return token if isinstance(token, ApiToken) else None


def api_tenant(request: HttpRequest, slug: str) -> Tenant:
    """The tenant if the caller may see it and, for a token limited to one tenant, it is that one; 404
    otherwise, so nobody learns whether another tenant exists."""
    tenant = tenant_for_user(user=request.user, slug=slug)
    token = request_token(request)
    if token is not None and token.tenant_id is not None and token.tenant_id != tenant.pk:
        raise Http404("No such tenant.")
    return tenant


def api_require_role(request: HttpRequest, tenant: Tenant, roles: Iterable[str] = WRITERS) -> str:
    """The caller's role on the tenant; 403 when it is not one of `roles` (staff count as admin)."""
    role = membership_role(user=request.user, tenant=tenant)
    allowed = tuple(roles)
    if role not in allowed:
        names = " or ".join(str(r) for r in allowed)
        raise HttpError(403, f"Your role on {tenant.slug} is {role or 'none'}: this needs {names}.")
    return str(role)


def _status_of(result: Any) -> int:
    if isinstance(result, tuple) and result and isinstance(result[0], int):
        return result[0]
    return int(getattr(result, "status_code", 200))


def _status_of_error(exc: Exception) -> int:
    if isinstance(exc, HttpError):
        return exc.status_code
    if isinstance(exc, Http404):
        return 404
    if isinstance(exc, PermissionDenied):
        return 403
    return 500


def _audit_write(request: HttpRequest, token: ApiToken, kwargs: dict[str, Any], status: int) -> None:
    tenant = None
    slug = kwargs.get("tenant_slug")
    if isinstance(slug, str):
        # Only a tenant the caller may use: a refused call on someone else's tenant goes to staff's log alone.
        try:
            tenant = api_tenant(request, slug)
        except Http404:
            tenant = None
    audit_log_record(
        tenant=tenant,
        actor=token.user,
        action=API_WRITE,
        target=f"{request.method} {request.path}"[:255],
        details={
            "token_prefix": token.prefix,
            "token_id": token.pk,
            "token_name": token.name,
            "method": request.method,
            "endpoint": request.path,
            "status": status,
        },
    )


def limit_tokens_to_their_tenant(view: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps every operation of the API (NinjaAPI.add_decorator): a token limited to one tenant gets 404 on any
    other tenant's `{tenant_slug}`, whatever the router (so a router that looks its tenant up with
    tenant_for_user alone still honours the limit; api_tenant checks it again)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        token = request_token(request)
        slug = kwargs.get("tenant_slug")
        if token is not None and token.tenant_id is not None and slug is not None and slug != token.tenant.slug:
            raise Http404("No such tenant.")
        return view(request, *args, **kwargs)

    return wrapper


def audit_token_writes(view: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps every operation of the API (NinjaAPI.add_decorator): a write made with a token is audited as
    `api.write` with the token's prefix and the endpoint, in the write's own transaction when it succeeds,
    and on its own when it is refused (so probing with a token leaves a trace too)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        token = request_token(request)
        if token is None or request.method in SAFE_METHODS:
            return view(request, *args, **kwargs)
        try:
            with transaction.atomic():
                result = view(request, *args, **kwargs)
                _audit_write(request, token, kwargs, _status_of(result))
        except Exception as exc:
            _audit_write(request, token, kwargs, _status_of_error(exc))
            raise
        return result

    return wrapper


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def refuse_nul_characters(run: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps every operation before its parameters are read (NinjaAPI.add_decorator, mode "view"): a NUL character
    in the path, the query string or a JSON body is a 400. PostgreSQL cannot store or even compare text holding
    one, so it would otherwise be a server error; no real value has one."""

    @functools.wraps(run)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        found = (
            "\x00" in request.path
            or _has_nul(kwargs)
            or any(_has_nul(k) or _has_nul(request.GET.getlist(k)) for k in request.GET)
        )
        if not found and request.body and "json" in request.content_type:
            try:
                found = _has_nul(json.loads(request.body))
            except ValueError:
                found = False  # not JSON: ninja answers that itself
        if found:
            # Answered here: this runs outside the operation, where ninja turns HttpError into a response.
            detail = {"detail": "A parameter holds a NUL character (\\x00); no stored value has one."}
            return JsonResponse(detail, status=400)
        return run(request, *args, **kwargs)

    return wrapper


# --- shapes every router uses ----------------------------------------------------------------------------


class ErrorOut(Schema):
    detail: str
    errors: list[dict[str, Any]] | None = None  # for a parameter of the wrong type: each problem, by location


def parameter_errors_text(errors: list[dict[str, Any]]) -> str:
    """Pydantic's errors in one sentence: `limit: Input should be less than or equal to 1000`."""
    parts = []
    for error in errors:
        where = [str(p) for p in error.get("loc", ()) if p not in ("query", "path", "body")] or ["request"]
        parts.append(f"{where[-1]}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "A parameter is not valid."


def error_responses(*codes: int) -> dict[int, type[Schema]]:
    """Documented error answers (always {"detail": "..."}), for an operation's `response=`."""
    return dict.fromkeys(codes, ErrorOut)


COMMON_ERRORS = (400, 401, 404)  # a bad parameter, no or a bad token, a tenant or object you may not see


class PageOut(Schema):
    page: int
    page_size: int
    pages: int
    count: int


def paginate(total: int, page: int, page_size: int) -> tuple[PageOut, int, int]:
    """The pagination block and the [first, last) slice of a list of `total` items."""
    pages = max(1, -(-total // page_size))
    first = (page - 1) * page_size
    return PageOut(page=page, page_size=page_size, pages=pages, count=total), first, first + page_size
