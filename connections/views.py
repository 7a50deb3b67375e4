"""Connection pages: the wizard, a connection's page with its deploy artifacts and validation, and support's
health page. Thin views: parse input, call a selector or service, render (only the fragment for htmx)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails
from django_q.models import Task

from connections import cloudformation
from connections.forms import (
    WIZARD_STEPS,
    AccountForm,
    ConnectionEditForm,
    RoleArnForm,
    initial_from_connection,
)
from connections.models import AwsConnection, Membership, Tenant
from connections.overhead import overhead_for_connection
from connections.reporting import diagnosis_text
from connections.selectors import (
    connection_for_user,
    connection_health,
    connections_for_user,
    membership_role,
    tenant_for_user,
    tenants_for_user,
    validation_started_at,
)
from connections.services import (
    connection_create,
    connection_delete,
    connection_set_paused,
    connection_template_downloaded,
    connection_update,
    connection_validation_request,
    validation_task_name,
)
from ingestion.selectors import connection_sync_status

VALIDATION_POLL_SECONDS = 5
VALIDATION_TIMEOUT = timedelta(minutes=2)
SUPPORT_PAGE_SIZE = 50


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _now() -> datetime:
    """The current time; one place so tests can move the clock for the poll's two-minute limit."""
    return timezone.now()


# --- permissions -------------------------------------------------------------------------------------


def _is_admin(request: HttpRequest, tenant: Tenant) -> bool:
    """Tenant admins and staff (membership_role says admin for staff) may change connections."""
    return membership_role(user=request.user, tenant=tenant) == Membership.Role.ADMIN


def _forbidden(request: HttpRequest, tenant: Tenant, what: str) -> HttpResponse:
    return render(
        request,
        "connections/forbidden.html",
        {"tenant": tenant, "what": what, "tenants": list(tenants_for_user(user=request.user))},
        status=403,
    )


def _page_context(request: HttpRequest, tenant: Tenant, **extra: Any) -> dict[str, Any]:
    return {"tenant": tenant, "tenants": list(tenants_for_user(user=request.user)), **extra}


def _full_page(request: HtmxHttpRequest) -> bool:
    return not request.htmx or bool(request.htmx.history_restore_request)


# --- list ----------------------------------------------------------------------------------------------


@login_required
@require_GET
def connection_list(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    tenant = tenant_for_user(user=request.user, slug=tenant_slug)
    connections = connections_for_user(user=request.user).filter(tenant=tenant).order_by("name")
    return render(
        request,
        "connections/list.html",
        _page_context(request, tenant, connections=connections, is_admin=_is_admin(request, tenant)),
    )


# --- the wizard ------------------------------------------------------------------------------------------


def _wizard_forms(request: HttpRequest, tenant: Tenant, upto: int) -> list[Any]:
    """The forms of steps 1..upto bound to the POST: earlier answers travel as hidden fields."""
    bound = []
    for form_class in WIZARD_STEPS[:upto]:
        kwargs: dict[str, Any] = {"tenant": tenant} if form_class is AccountForm else {}
        bound.append(form_class(request.POST, **kwargs))
    return bound


def _hidden_answers(forms: list[Any]) -> list[tuple[str, str]]:
    """The raw answers of earlier steps, to carry in hidden inputs (re-validated at every step)."""
    return [(name, form.data.get(name, "")) for form in forms for name in form.fields]


def _render_step(
    request: HtmxHttpRequest, tenant: Tenant, step: int, form: Any, earlier: list[Any], status: int = 200
) -> HttpResponse:
    mode = (earlier[0].cleaned_data.get("mode") if earlier and earlier[0].is_bound else "") or ""
    context = _page_context(
        request,
        tenant,
        form=form,
        step=step,
        steps=[cls.title for cls in WIZARD_STEPS] + ["Deploy", "Validate"],
        hidden=_hidden_answers(earlier),
        error_labels=[form[name].label for name in form.errors if name in form.fields],
        is_organization=mode == AwsConnection.Mode.ORGANIZATION,
    )
    template = "connections/wizard.html" if _full_page(request) else "connections/wizard.html#wizard-step"
    return render(request, template, context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def connection_new(request: HtmxHttpRequest, tenant_slug: str) -> HttpResponse:
    """Steps 1-3 of the wizard; the last one creates the connection, then its page shows deploy and validate."""
    tenant = tenant_for_user(user=request.user, slug=tenant_slug)
    if not _is_admin(request, tenant):
        return _forbidden(request, tenant, "connect an AWS account")
    if request.method == "GET":
        return _render_step(request, tenant, 1, AccountForm(tenant=tenant), [])

    try:
        step = min(max(int(request.POST.get("step", "1")), 1), len(WIZARD_STEPS))
    except ValueError:
        step = 1
    if "back" in request.POST and step > 1:
        forms = _wizard_forms(request, tenant, step - 1)
        for form in forms:
            form.is_valid()
        return _render_step(request, tenant, step - 1, forms[-1], forms[:-1])

    forms = _wizard_forms(request, tenant, step)
    for index, form in enumerate(forms):
        if not form.is_valid():
            # An earlier step can only be invalid when its hidden answers were changed: show that step again.
            return _render_step(request, tenant, index + 1, form, forms[:index])
    if step < len(WIZARD_STEPS):
        return _render_step(request, tenant, step + 1, WIZARD_STEPS[step](), forms)

    answers: dict[str, Any] = {}
    for form in forms:
        answers.update(form.cleaned_data)
    try:
        connection = connection_create(tenant=tenant, actor=request.user, **answers)
    except ValidationError as exc:
        # The service's checks mirror the forms'; should one still fail, show it on the step that asks for it.
        for index, form in enumerate(forms):
            for field, messages in exc.message_dict.items():
                if field in form.fields:
                    for message in messages:
                        form.add_error(field, message)
            if form.errors:
                return _render_step(request, tenant, index + 1, form, forms[:index])
        raise
    target = reverse("connections:detail", kwargs={"pk": connection.pk}) + "#deploy"
    if request.htmx:
        return HttpResponseClientRedirect(target)
    return redirect(target)


# --- a connection's page --------------------------------------------------------------------------------


def _artifact(build: Any, connection: AwsConnection) -> dict[str, str]:
    """One deploy artifact's text, or why it cannot be built (TemplateError says what to change)."""
    try:
        return {"text": build(connection), "error": ""}
    except cloudformation.TemplateError as exc:
        return {"text": "", "error": str(exc)}


def _policy_json(connection: AwsConnection) -> str:
    return json.dumps(cloudformation.cur_bucket_policy(connection), indent=2)


def _artifacts(connection: AwsConnection) -> dict[str, Any]:
    """The deploy step: each artifact built on its own, so one that cannot be built does not hide the others."""
    return {
        "deploy_command": _artifact(cloudformation.deploy_command, connection),
        "logging_cli": _artifact(cloudformation.logging_cli_commands, connection),
        "stackset": _artifact(cloudformation.stackset_commands, connection) if connection.is_organization else None,
        "cur_bucket_policy": _artifact(_policy_json, connection) if connection.cur_bucket else None,
    }


def _validation_context(
    request: HttpRequest, connection: AwsConnection, role_form: RoleArnForm | None = None, validate_error: str = ""
) -> dict[str, Any]:
    """The validate panel: the role ARN box, then polling while validating (at most two minutes), else the checks."""
    context: dict[str, Any] = {
        "connection": connection,
        "can_validate": _is_admin(request, connection.tenant),
        "role_form": role_form or RoleArnForm(initial={"role_arn": connection.role_arn}, connection=connection),
        "validate_error": validate_error,
        "checks": connection.last_validation or [],
        "diagnosis": diagnosis_text(connection),
        "polling": False,
        "timed_out": False,
        "task_error": "",
        "poll_seconds": VALIDATION_POLL_SECONDS,
        "timeout_minutes": int(VALIDATION_TIMEOUT.total_seconds() // 60),
    }
    if connection.status != AwsConnection.Status.VALIDATING:
        return context
    started = validation_started_at(connection)
    failed = (
        Task.objects.filter(name=validation_task_name(connection.pk), started__gte=started, success=False)
        .order_by("-stopped")
        .values_list("result", flat=True)
        .first()
    )
    elapsed = _now() - started
    context.update(started_at=started, elapsed_seconds=max(int(elapsed.total_seconds()), 0))
    if failed:
        # The worker ran the task and it raised: no point polling on.
        context["task_error"] = (str(failed).strip().splitlines() or [""])[0]
    elif elapsed > VALIDATION_TIMEOUT:
        context["timed_out"] = True
    else:
        context["polling"] = True
    return context


def _first_red_remedy(connection: AwsConnection) -> dict[str, str] | None:
    for check in connection.last_validation or []:
        if check.get("status") != "red":
            continue
        for finding in check.get("findings") or []:
            return {"check": str(check.get("label", check.get("key", ""))), **finding}
        return {"check": str(check.get("label", check.get("key", ""))), "title": check.get("message", "")}
    return None


def _detail_context(request: HttpRequest, connection: AwsConnection, **validation: Any) -> dict[str, Any]:
    is_admin = _is_admin(request, connection.tenant)
    return _page_context(
        request,
        connection.tenant,
        is_admin=is_admin,
        artifacts=_artifacts(connection) if is_admin else {},
        overhead=overhead_for_connection(connection),
        member_accounts=list(connection.member_accounts.all()) if connection.is_organization else [],
        show_steps=not connection.last_validation and connection.status != AwsConnection.Status.PAUSED,
        sync_sources=connection_sync_status(connection=connection),
        demo_synced=connection.sync_runs.filter(trigger="demo").exists(),
        **_validation_context(request, connection, **validation),
    )


@login_required
@require_GET
def connection_detail(request: HttpRequest, pk: int) -> HttpResponse:
    connection = connection_for_user(user=request.user, pk=pk)
    return render(request, "connections/detail.html", _detail_context(request, connection))


@login_required
@require_http_methods(["GET", "POST"])
def connection_edit(request: HttpRequest, pk: int) -> HttpResponse:
    connection = connection_for_user(user=request.user, pk=pk)
    tenant = connection.tenant
    if not _is_admin(request, tenant):
        return _forbidden(request, tenant, "edit this connection")
    if request.method == "POST":
        form = ConnectionEditForm(request.POST, tenant=tenant, exclude_pk=connection.pk)
        if form.is_valid():
            try:
                connection_update(connection=connection, actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    for message in messages:
                        form.add_error(field if field in form.fields else None, message)
            else:
                return redirect("connections:detail", pk=connection.pk)
    else:
        form = ConnectionEditForm(initial=initial_from_connection(connection), tenant=tenant, exclude_pk=connection.pk)
    return render(request, "connections/edit.html", _page_context(request, tenant, connection=connection, form=form))


# --- downloads (admins only, audited) -----------------------------------------------------------------------


def _download(text: str, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(text, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _admin_connection(request: HttpRequest, pk: int, what: str) -> tuple[AwsConnection, HttpResponse | None]:
    connection = connection_for_user(user=request.user, pk=pk)
    if not _is_admin(request, connection.tenant):
        return connection, _forbidden(request, connection.tenant, what)
    return connection, None


def _template_error(exc: Exception) -> HttpResponse:
    return HttpResponse(f"The template cannot be built: {exc}\n", status=409, content_type="text/plain")


@login_required
@require_GET
def connection_template(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    connection, denied = _admin_connection(request, pk, "download the role template")
    if denied:
        return denied
    try:
        text = cloudformation.render_template(cloudformation.role_template(connection), fmt)
    except cloudformation.TemplateError as exc:
        return _template_error(exc)
    connection_template_downloaded(connection=connection, artifact="role_template", fmt=fmt, actor=request.user)
    content_type = "application/json" if fmt == "json" else "application/yaml"
    return _download(text, f"bedrock-finops-role.{fmt}", content_type)  # the name deploy_command uses


@login_required
@require_GET
def connection_stackset(request: HttpRequest, pk: int) -> HttpResponse:
    connection, denied = _admin_connection(request, pk, "download the StackSet template")
    if denied:
        return denied
    if not connection.is_organization:
        raise Http404("Only Organization-mode connections have a StackSet for member accounts.")
    try:
        text = cloudformation.render_template(cloudformation.stackset_template(connection), "yaml")
    except cloudformation.TemplateError as exc:
        return _template_error(exc)
    connection_template_downloaded(connection=connection, artifact="stackset_template", fmt="yaml", actor=request.user)
    return _download(text, "bedrock-finops-member-role.yaml", "application/yaml")  # as in stackset_commands


@login_required
@require_GET
def connection_cur_bucket_policy(request: HttpRequest, pk: int) -> HttpResponse:
    connection, denied = _admin_connection(request, pk, "download the CUR bucket policy")
    if denied:
        return denied
    if not connection.cur_bucket:
        raise Http404("This connection has no CUR bucket, so there is no bucket policy to add.")
    try:
        text = json.dumps(cloudformation.cur_bucket_policy(connection), indent=2) + "\n"
    except cloudformation.TemplateError as exc:
        return _template_error(exc)
    connection_template_downloaded(connection=connection, artifact="cur_bucket_policy", fmt="json", actor=request.user)
    return _download(text, f"{connection.cur_bucket}-bucket-policy.json", "application/json")


# --- validate and poll ----------------------------------------------------------------------------------------


@login_required
@require_POST
def connection_validate_view(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Save the pasted role ARN and queue the checks; the validate panel then polls until they are done."""
    connection, denied = _admin_connection(request, pk, "validate this connection")
    if denied:
        return denied
    form = RoleArnForm(request.POST, connection=connection)
    error = ""
    if connection.status == AwsConnection.Status.PAUSED:
        error = "The connection is paused: resume it before validating."
    elif form.is_valid():
        try:
            connection_update(connection=connection, actor=request.user, role_arn=form.cleaned_data["role_arn"])
            connection_validation_request(connection=connection, actor=request.user)
        except (ValidationError, ValueError) as exc:
            error = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
    # Re-read: with a synchronous queue (tests, Q_CLUSTER sync) the checks may have run already.
    connection.refresh_from_db()
    failed = bool(error or form.errors)
    if request.htmx:
        # Errors come back with 200 so that htmx swaps them in (it does not swap 4xx by default).
        context = _validation_context(request, connection, role_form=form if failed else None, validate_error=error)
        return render(request, "connections/detail.html#validation", context)
    if failed:
        context = _detail_context(request, connection, role_form=form, validate_error=error)
        return render(request, "connections/detail.html", context)
    return redirect(reverse("connections:detail", kwargs={"pk": connection.pk}) + "#validation")


@login_required
@require_GET
def connection_validation(request: HttpRequest, pk: int) -> HttpResponse:
    """The poll fragment: polls itself every 5 s while validating, for at most two minutes."""
    connection = connection_for_user(user=request.user, pk=pk)
    return render(request, "connections/detail.html#validation", _validation_context(request, connection))


# --- pause, resume, delete ------------------------------------------------------------------------------------


@login_required
@require_POST
def connection_pause(request: HttpRequest, pk: int) -> HttpResponse:
    connection, denied = _admin_connection(request, pk, "pause this connection")
    if denied:
        return denied
    connection_set_paused(connection=connection, paused=True, actor=request.user)
    return redirect("connections:detail", pk=connection.pk)


@login_required
@require_POST
def connection_resume(request: HttpRequest, pk: int) -> HttpResponse:
    connection, denied = _admin_connection(request, pk, "resume this connection")
    if denied:
        return denied
    connection_set_paused(connection=connection, paused=False, actor=request.user)
    return redirect("connections:detail", pk=connection.pk)


@login_required
@require_POST
def connection_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    connection, denied = _admin_connection(request, pk, "delete this connection")
    if denied:
        return denied
    if request.POST.get("confirm_name", "").strip() != connection.name:
        return render(
            request,
            "connections/delete_failed.html",
            _page_context(request, connection.tenant, connection=connection),
            status=400,
        )
    tenant_slug = connection.tenant.slug
    connection_delete(connection=connection, actor=request.user)
    return redirect("connections:list", tenant_slug=tenant_slug)


# --- support: every connection of every tenant -------------------------------------------------------------------


def _health_rows(connections: Any) -> list[dict[str, Any]]:
    return [
        {
            "connection": c,
            "checks": [
                {"label": check.get("label", check.get("key", "")), "status": check.get("status", "")}
                for check in c.last_validation or []
            ],
            "remedy": _first_red_remedy(c),
            "sync": [s for s in connection_sync_status(connection=c) if s["state"] != "never"],
        }
        for c in connections
    ]


@login_required
@require_GET
@vary_on_headers("HX-Request")
def support_connections(request: HtmxHttpRequest) -> HttpResponse:
    if not request.user.is_staff:
        raise Http404("No such page.")
    tenant_slug = request.GET.get("tenant", "").strip()
    status = request.GET.get("status", "").strip()
    if status not in AwsConnection.Status.values:
        status = ""
    page = Paginator(connection_health(tenant_slug=tenant_slug, status=status), SUPPORT_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "page": page,
        "rows": _health_rows(page.object_list),
        "all_tenants": Tenant.objects.order_by("name").only("slug", "name"),
        "statuses": AwsConnection.Status.choices,
        "selected_tenant": tenant_slug,
        "selected_status": status,
        "query": urlencode({k: v for k, v in {"tenant": tenant_slug, "status": status}.items() if v}),
    }
    if not _full_page(request):
        return render(request, "connections/support.html#health-table", context)
    context["tenants"] = list(tenants_for_user(user=request.user))
    return render(request, "connections/support.html", context)
