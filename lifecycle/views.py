"""The tenant's data page: retention, the oldest data kept, and deletion requests."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from connections.selectors import tenant_for_user, tenants_for_user
from lifecycle.deletion import grace_days
from lifecycle.selectors import tenant_data_summary


@login_required
@require_GET
def tenant_data(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    tenant = tenant_for_user(user=request.user, slug=tenant_slug)
    context = {
        "tenant": tenant,
        "tenants": list(tenants_for_user(user=request.user)),
        "summary": tenant_data_summary(tenant=tenant, today=timezone.now().date()),
        "grace_days": grace_days(),
    }
    return render(request, "lifecycle/tenant_data.html", context)
