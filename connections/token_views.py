"""The "API tokens" page of the logged-in user: their tokens, creating one (shown once), revoking one."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from connections.forms import ApiTokenForm
from connections.selectors import api_token_for_user, api_tokens_for_user, tenants_for_user
from connections.services import api_token_create, api_token_revoke


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    """GET: the list and the form. POST: create, then this page with the new token, shown this once (the
    response is not cached, and reloading it does not show it again: only its hash is stored)."""
    tenants = tenants_for_user(user=request.user)
    form = ApiTokenForm(request.POST or None, tenants=tenants)
    created = None
    if request.method == "POST":
        if form.is_valid():
            days = form.cleaned_data["expires"]
            try:
                token, plain = api_token_create(
                    user=request.user,
                    name=form.cleaned_data["name"],
                    tenant=form.cleaned_data["tenant"],
                    expires_at=timezone.now() + timedelta(days=int(days)) if days else None,
                    actor=request.user,
                )
            except ValueError as exc:
                form.add_error(None, str(exc))
            else:
                created = {"token": token, "plain": plain}
                form = ApiTokenForm(tenants=tenants)
    now = timezone.now()
    tokens = [{"token": t, "status": t.status_at(now)} for t in api_tokens_for_user(user=request.user)]
    context = {"form": form, "tokens": tokens, "created": created, "tenants": list(tenants)}
    # An invalid form comes back with 200, as the other forms' pages do, with its errors beside the fields.
    return render(request, "account/tokens.html", context)


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = api_token_for_user(user=request.user, pk=pk)
    api_token_revoke(token=token, actor=request.user)
    messages.success(request, f"Revoked “{token.name}” ({token.prefix}…): it no longer works.")
    return redirect("account:tokens")
