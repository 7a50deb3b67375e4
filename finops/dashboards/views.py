from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse("placeholder")


@login_required
@require_GET
def overview(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    return HttpResponse("placeholder")
