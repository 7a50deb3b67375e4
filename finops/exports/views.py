"""The exports page (billing periods with billed data, a FOCUS 1.2 download per period) and the download."""

from __future__ import annotations

import tempfile

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from connections.models import Tenant
from connections.selectors import tenant_for_user, tenants_for_user
from finops.exports import selectors
from finops.exports.columns import FOCUS_VERSION
from finops.exports.platforms import PLATFORM_NAMES
from finops.exports.services import (
    ExportBadRequest,
    ExportNotFound,
    export_filename,
    focus_export,
    parse_period,
    parse_sources,
)
from finops.exports.writers import CONTENT_TYPES, FORMATS


@login_required
@require_GET
def exports(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """?source=openai shows (and links downloads of) one platform's bill lines; an unknown source is a 400."""
    tenant = tenant_for_user(user=request.user, slug=tenant_slug)
    try:
        sources = parse_sources(request.GET.getlist("source"))
    except ExportBadRequest as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    present = selectors.billed_sources(tenant=tenant)
    context = {
        "tenant": tenant,
        "tenants": list(tenants_for_user(user=request.user)),
        "periods": selectors.billed_periods(tenant=tenant, sources=sources),
        "platforms": [(s, PLATFORM_NAMES[s]) for s in present],
        "source": ",".join(sources),
        "source_names": ", ".join(PLATFORM_NAMES[s] for s in sources),
        "focus_version": FOCUS_VERSION,
        "formats": FORMATS,
        "current_period": timezone.now().date().replace(day=1),
    }
    return render(request, "exports/exports.html", context)


def focus_file_response(
    request: HttpRequest, *, tenant: Tenant, period_text: str, fmt: str, via: str, sources: list[str] | None = None
) -> FileResponse:
    """The export written to an anonymous temporary file, then streamed from it (FileResponse closes the file,
    which deletes it). Raises ExportBadRequest / ExportNotFound. Shared by the page and the API."""
    if fmt not in FORMATS:
        raise ExportBadRequest(f"Unknown format {fmt!r}: use {' or '.join(FORMATS)}.")
    period = parse_period(period_text)
    chosen = parse_sources(sources)
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - closed by FileResponse, or below on error
    try:
        focus_export(
            tenant=tenant, period=period, fmt=fmt, output_path=handle, actor=request.user, via=via, sources=chosen
        )
        handle.seek(0)
    except BaseException:
        handle.close()
        raise
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=export_filename(tenant, period, fmt, chosen),
        content_type=CONTENT_TYPES[fmt],
    )
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def focus_file(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """GET ?period=YYYY-MM&format=csv|parquet[&source=openai]: the period's FOCUS 1.2 file (of those platforms);
    400 for a bad period, format or source, 404 for a period without billed data (and for a tenant the user may
    not see)."""
    tenant = tenant_for_user(user=request.user, slug=tenant_slug)
    try:
        return focus_file_response(
            request,
            tenant=tenant,
            period_text=request.GET.get("period", ""),
            fmt=request.GET.get("format", "csv"),
            via="page",
            sources=request.GET.getlist("source"),
        )
    except ExportBadRequest as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    except ExportNotFound as exc:
        return HttpResponse(str(exc), status=404, content_type="text/plain; charset=utf-8")
