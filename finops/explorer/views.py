"""The explorer's pages: thin views that parse the query string, call the selectors and render.

Every state of the explorer is its query string (finops/explorer/query.py), so a view is a link; forms
submit by GET and are redirected to the canonical query string."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.middleware import HtmxDetails

from budgets.selectors import budgets_covering
from connections.models import Tenant
from connections.selectors import tenant_for_user, tenants_for_user
from finops.dashboards import charts
from finops.explorer import csv as explorer_csv
from finops.explorer import page, page_selectors, selectors, table
from finops.explorer.query import (
    BASES,
    DIMENSIONS,
    GRANULARITIES,
    PRESETS,
    ExplorerQuery,
    QueryError,
    describe_filters,
    parse_query,
)
from finops.explorer.services import SavedViewError, saved_view_delete, saved_view_save


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _query(params: Any, latest: date | None) -> tuple[ExplorerQuery, str]:
    """The view the parameters ask for; on a bad one, the default view and what was wrong, in words."""
    try:
        return parse_query(params, latest=latest), ""
    except QueryError as exc:
        return parse_query({}, latest=latest), f"{exc} Showing the default view instead."


def _explore_url(tenant: Tenant, querystring: str = "") -> str:
    url = reverse("explore", kwargs={"tenant_slug": tenant.slug})
    return f"{url}?{querystring}" if querystring else url


def _entity_urls(tenant: Tenant) -> dict[str, str]:
    return {
        d: reverse("explore-entity", kwargs={"tenant_slug": tenant.slug, "dimension": d})
        for d in page_selectors.ENTITY_DIMENSIONS
    }


def _csv_response(text: str, name: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _download(tenant: Tenant, params: QueryDict, query: ExplorerQuery, error: str) -> HttpResponse:
    """The table (every group, all pages) or the chart's series as CSV; a bad view is refused in words rather
    than answered with the default view's numbers."""
    if error:
        return HttpResponse(error, status=400, content_type="text/plain; charset=utf-8")
    what = params.get("what", "table")
    if what == "chart":
        text = explorer_csv.chart_csv(selectors.series(tenant, query))
    elif what == "table":
        rows, total = selectors.table(tenant, query)
        text = explorer_csv.table_csv(rows, total, query)
    else:
        return HttpResponse(f"what={what!r}: use table or chart.", status=400, content_type="text/plain")
    return _csv_response(text, explorer_csv.filename(tenant.slug, query, what))


def _picker(tenant: Tenant, params: QueryDict, query: ExplorerQuery) -> dict[str, Any]:
    """The filter form's value list: the values the chosen dimension takes in the range, biggest spend first."""
    dimension = page.picker_dimension(params, query)
    names = selectors.model_names() if dimension == "model" else {}
    values = selectors.dimension_values(tenant, query.without_filter(dimension), dimension)
    return {
        "picker_dimension": dimension,
        "picker_values": [(v, selectors.label(dimension, v, names=names)) for v in values],
        "filter_dimensions": page.filterable_dimensions(),
    }


@login_required
@require_GET
@vary_on_headers("HX-Request")
def explore(request: HtmxHttpRequest, tenant_slug: str) -> HttpResponse:
    tenant = tenant_for_user(user=request.user, slug=tenant_slug)
    dates = selectors.data_dates(tenant)
    if request.htmx and request.GET.get("form") == page.FORM_FILTER:
        # The filter form chose another dimension: only its list of values.
        query, _ = _query(request.GET, dates["latest"])
        context = {"tenant": tenant, "query": query, **_picker(tenant, request.GET, query)}
        return render(request, "explorer/explore.html#value-picker", context)
    target = page.submitted(request.GET, latest=dates["latest"])
    if target is not None:
        return redirect(_explore_url(tenant, target))
    query, error = _query(request.GET, dates["latest"])
    if request.GET.get("format") == "csv":
        return _download(tenant, request.GET, query, error)
    picker = _picker(tenant, request.GET, query)

    explored = selectors.explore(tenant, query)
    cols = table.columns(query)
    names = selectors.model_names()
    figure = charts.stacked_periods(
        explored.series.periods,
        explored.series.groups,
        drill_urls=page.chart_drill_urls(query, explored.series),
        title=f"Cost per {query.granularity} ({query.basis})"
        + (f" by {DIMENSIONS[explored.series.dimension].label}" if explored.series.dimension else ""),
        granularity=query.granularity,
    )
    saved = list(page_selectors.saved_views_for(user=request.user, tenant=tenant))
    current = page.saved_querystring(query)
    context = {
        "tenant": tenant,
        "tenants": list(tenants_for_user(user=request.user)),
        "query": query,
        "explored": explored,
        "error": error,
        "range_text": page.describe_range(query, PRESETS.get(query.preset, "")),
        "grouping_text": page.describe_grouping(query),
        "filters_text": describe_filters(query.filters),
        "basis_label": BASES[query.basis],
        "columns": cols,
        "header_groups": table.header_groups(cols),
        "group_headers": table.group_headers(query),
        "rows": page.table_rows(explored.rows, query, cols, entity_urls=_entity_urls(tenant)),
        "total_cells": table.row_cells(explored.total, cols),
        "pagination": page.pagination(explored),
        "headers": page.headers(cols, query),
        "label_sort_link": page.label_sort_link(query),
        "chips": page.chips(query, names, selectors.label),
        "chart_div": charts.figure_div(figure) if explored.row_count else "",
        "csv_table": page.link(query, page=1) + "&format=csv&what=table",
        "csv_chart": page.link(query, page=1) + "&format=csv&what=chart",
        "estimated_link": page.link(query, basis="estimated", page=1),
        "clear_filters_link": page.link(query, filters=(), page=1),
        "default_link": _explore_url(tenant),
        "last_page_link": page.link(query, page=explored.pages),
        "saved_views": [(v, v.querystring == current) for v in saved],
        "current_querystring": current,
        "presets": PRESETS,
        "dimensions": [(d.name, d.label) for d in DIMENSIONS.values()],
        "granularities": GRANULARITIES,
        "bases": BASES,
        "page_sizes": sorted({*page.PAGE_SIZES, query.page_size}),
        **picker,
    }
    return render(request, "explorer/explore.html", context)


# --- entity pages ---------------------------------------------------------------------------------


@login_required
@require_GET
def entity(request: HttpRequest, tenant_slug: str, dimension: str) -> HttpResponse:
    tenant = tenant_for_user(user=request.user, slug=tenant_slug)
    if dimension not in page_selectors.ENTITY_DIMENSIONS:
        raise Http404("No such page.")
    if "value" not in request.GET:
        raise Http404("Which one? The page needs ?value=.")
    value = request.GET.getlist("value")[-1]
    dates = selectors.data_dates(tenant)
    target = page.entity_submitted(request.GET, latest=dates["latest"])
    if target is not None:
        return redirect(f"{request.path}?{target}")
    query, error = _query(request.GET, dates["latest"])
    found = page_selectors.entity(tenant, query, dimension, value)
    entity_urls = _entity_urls(tenant)
    next_dimension = "principal" if dimension == "model" else "model"
    explore_query = query.with_filter(dimension, value)
    tops = [
        {
            "top": top,
            "rows": [
                {
                    "row": row,
                    "label": row.labels[top.dimension],
                    "value": row.keys[top.dimension],
                    "link": page.entity_link(entity_urls[top.dimension], row.keys[top.dimension], query),
                }
                for row in top.rows
            ],
            "explore": _explore_url(tenant, explore_query.querystring(group_by=(top.dimension,), page=1)),
        }
        for top in found.tops
    ]
    context = {
        "tenant": tenant,
        "tenants": list(tenants_for_user(user=request.user)),
        "entity": found,
        "dimension_label": DIMENSIONS[dimension].label,
        "noun": "IAM principal" if dimension == "principal" else DIMENSIONS[dimension].label.lower(),
        "allocated_link": "?" + urlencode([("value", value), *page.range_params(replace(query, basis="allocated"))]),
        "query": found.query,
        "error": error,
        "has_data": dates["latest"] is not None,
        "range_text": page.describe_range(query, PRESETS.get(query.preset, "")),
        "basis_label": BASES[query.basis],
        "unit": found.total.unit,
        "rates_by_type": [(table.TOKEN_NAMES[t], r) for t, r in found.total.unit.cost_per_1k_by_type.items()],
        "tokens": found.total.sums.tokens,
        "tops": tops,
        "trend_div": charts.figure_div(charts.daily_trend(found.daily)) if found.daily else "",
        "explore_link": _explore_url(tenant, explore_query.querystring(group_by=(next_dimension,), page=1)),
        # budgets whose scope names this entity (name, amount, actual, forecast, link)
        "budgets": budgets_covering(tenant=tenant, dimension=dimension, value=value),
        "presets": PRESETS,
        "bases": BASES,
    }
    return render(request, "explorer/entity.html", context)


# --- saved views ----------------------------------------------------------------------------------


@login_required
@require_POST
def saved_view_create(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    tenant = tenant_for_user(user=request.user, slug=tenant_slug)
    querystring = request.POST.get("querystring", "")
    try:
        query = parse_query(QueryDict(querystring), latest=selectors.latest_usage_date(tenant))
        view, created = saved_view_save(
            user=request.user,
            tenant=tenant,
            name=request.POST.get("name", ""),
            querystring=page.saved_querystring(query),
        )
    except (QueryError, SavedViewError) as exc:
        messages.error(request, f"Not saved: {exc}")
        return redirect(_explore_url(tenant, querystring))
    messages.success(request, f"{'Saved' if created else 'Updated'} “{view.name}”.")
    return redirect(_explore_url(tenant, view.querystring))


@login_required
@require_GET
def saved_view_open(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    tenant = tenant_for_user(user=request.user, slug=tenant_slug)
    view = page_selectors.saved_view_for(user=request.user, tenant=tenant, pk=pk)
    if view is None:
        raise Http404("No such saved view.")
    # A query string that no longer parses still opens: the explorer says what is wrong with it.
    return redirect(_explore_url(tenant, view.querystring))


@login_required
@require_POST
def saved_view_delete_view(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    tenant = tenant_for_user(user=request.user, slug=tenant_slug)
    view = page_selectors.saved_view_for(user=request.user, tenant=tenant, pk=pk)
    if view is None:
        raise Http404("No such saved view.")
    saved_view_delete(view=view, actor=request.user)
    messages.success(request, f"Deleted the saved view “{view.name}”.")
    return redirect(_explore_url(tenant, request.POST.get("next_query", "").lstrip("?")))
