"""Login throttling (django-axes): which address a login comes from, and the page a locked-out user sees."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from axes.helpers import get_cool_off
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone


def client_ip_address(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or behind FINOPS_TRUSTED_PROXY_COUNT proxies the X-Forwarded-For entry
    the outermost trusted proxy added (entries further left are whatever the client sent, so never trusted)."""
    proxies = settings.FINOPS_TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    """The lockout page (429) for both login forms, saying when to try again; the cool-off counts from this try."""
    cool_off = get_cool_off(request)
    context: dict[str, Any] = {"failure_limit": settings.AXES_FAILURE_LIMIT, "retry_at": None, "minutes": None}
    if cool_off is not None:
        attempt_time = getattr(request, "axes_attempt_time", None) or timezone.now()
        retry_at = attempt_time + cool_off
        if retry_at.second or retry_at.microsecond:  # shown to the minute: round up, never too early
            retry_at = retry_at.replace(second=0, microsecond=0) + timedelta(minutes=1)
        context["retry_at"] = retry_at
        context["minutes"] = math.ceil(cool_off.total_seconds() / 60)
    response = render(request, "registration/locked_out.html", context, status=429)
    if cool_off is not None:
        response["Retry-After"] = str(math.ceil(cool_off.total_seconds()))
    return response
