"""Personal API tokens: created once and stored hashed, authenticated, revoked, expired; the page, the
command and the admin."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from connections.models import ApiToken, AuditLog, Tenant
from connections.services import api_token_authenticate, api_token_create, api_token_revoke
from tests.api.conftest import bearer

TOKEN_RE = re.compile(r"^bfo_[A-Za-z0-9_-]{43}$")


def test_a_new_token_is_returned_once_and_only_its_sha256_is_stored(viewer, tenant: Tenant) -> None:  # noqa: ANN001
    token, plain = api_token_create(user=viewer, name="script", tenant=tenant)

    assert TOKEN_RE.match(plain)
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.token_hash == hashlib.sha256(plain.encode()).hexdigest()
    assert plain[:12] == stored.prefix and len(stored.prefix) == 12
    # The token is nowhere in the row: not in any field, and not in the audit entry.
    row = ApiToken.objects.filter(pk=token.pk).values().get()
    assert not [name for name, value in row.items() if isinstance(value, str) and plain in value]
    entry = AuditLog.objects.get(action="api_token.created")
    assert plain not in str(entry.details) and entry.details["prefix"] == stored.prefix
    assert entry.tenant == tenant


def test_two_tokens_never_share_a_value(viewer) -> None:  # noqa: ANN001
    values = {api_token_create(user=viewer, name=f"t{i}")[1] for i in range(20)}
    assert len(values) == 20


def test_authenticate_finds_the_token_and_refuses_anything_else(viewer) -> None:  # noqa: ANN001
    token, plain = api_token_create(user=viewer, name="script")

    assert api_token_authenticate(token=plain) == token
    assert api_token_authenticate(token=plain[:-1] + ("A" if plain[-1] != "A" else "B")) is None
    assert api_token_authenticate(token=token.token_hash) is None  # the hash is not a token
    assert api_token_authenticate(token="") is None
    assert api_token_authenticate(token="bfo_" + "x" * 500) is None


def test_a_revoked_token_is_refused_and_revoking_is_audited(viewer, tenant: Tenant) -> None:  # noqa: ANN001
    token, plain = api_token_create(user=viewer, name="script", tenant=tenant)

    api_token_revoke(token=token, actor=viewer)
    api_token_revoke(token=token, actor=viewer)  # twice: nothing more happens

    assert api_token_authenticate(token=plain) is None
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert AuditLog.objects.filter(action="api_token.revoked", tenant=tenant).count() == 1


def test_an_expired_token_is_refused(viewer) -> None:  # noqa: ANN001
    token, plain = api_token_create(user=viewer, name="script", expires_at=timezone.now() + timedelta(days=1))

    assert api_token_authenticate(token=plain) == token
    assert api_token_authenticate(token=plain, now=timezone.now() + timedelta(days=1, seconds=1)) is None
    with pytest.raises(ValueError, match="past"):
        api_token_create(user=viewer, name="old", expires_at=timezone.now() - timedelta(seconds=1))


def test_a_deactivated_users_token_is_refused(viewer) -> None:  # noqa: ANN001
    _, plain = api_token_create(user=viewer, name="script")
    viewer.is_active = False
    viewer.save()

    assert api_token_authenticate(token=plain) is None


def test_last_used_is_written_at_most_once_a_minute(viewer, django_assert_num_queries) -> None:  # noqa: ANN001
    token, plain = api_token_create(user=viewer, name="script")
    first = timezone.now()

    api_token_authenticate(token=plain, now=first)
    with django_assert_num_queries(1):  # the lookup only: no write within the minute
        api_token_authenticate(token=plain, now=first + timedelta(seconds=59))
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first

    later = first + timedelta(seconds=61)
    api_token_authenticate(token=plain, now=later)
    assert ApiToken.objects.get(pk=token.pk).last_used_at == later


def test_a_token_cannot_be_limited_to_a_tenant_its_user_cannot_see(viewer, other_tenant: Tenant) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match="not a member"):
        api_token_create(user=viewer, name="sneaky", tenant=other_tenant)
    with pytest.raises(ValueError, match="name"):
        api_token_create(user=viewer, name="  ")
    assert not ApiToken.objects.exists()


# --- the command ------------------------------------------------------------------------------------------


def test_the_command_prints_the_token_once_and_stores_only_its_hash(viewer, tenant: Tenant, client: Client) -> None:  # noqa: ANN001
    out, err = StringIO(), StringIO()
    call_command("create_api_token", user="vera", tenant="acme", name="cron", stdout=out, stderr=err)

    plain = out.getvalue().strip()
    assert TOKEN_RE.match(plain) and out.getvalue().count("bfo_") == 1
    assert plain not in err.getvalue() and plain[:12] in err.getvalue()
    token = ApiToken.objects.get()
    assert (token.name, token.tenant, token.user) == ("cron", tenant, viewer)
    assert token.token_hash == hashlib.sha256(plain.encode()).hexdigest()
    assert client.get("/api/v1/ledger/acme/report", **bearer(plain)).status_code == 200


def test_the_command_says_what_is_wrong(viewer, other_tenant: Tenant) -> None:  # noqa: ANN001
    with pytest.raises(CommandError, match="No user 'nobody'"):
        call_command("create_api_token", user="nobody", stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError, match="No tenant 'nope'"):
        call_command("create_api_token", user="vera", tenant="nope", stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError, match="not a member"):
        call_command("create_api_token", user="vera", tenant="globex", stdout=StringIO(), stderr=StringIO())
    assert not ApiToken.objects.exists()


# --- the page ---------------------------------------------------------------------------------------------


def test_the_page_creates_a_token_shows_it_once_and_lists_it(client: Client, viewer, tenant: Tenant) -> None:  # noqa: ANN001
    client.force_login(viewer)
    response = client.post("/account/tokens/", {"name": "notebook", "tenant": tenant.pk, "expires": "30"})

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    (plain,) = set(re.findall(r"bfo_[A-Za-z0-9_-]{43}", html))
    token = ApiToken.objects.get()
    assert token.token_hash == hashlib.sha256(plain.encode()).hexdigest() and token.tenant == tenant
    assert token.expires_at is not None and timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)
    assert 'data-copy="new-token-value"' in html
    # Shown once: the list afterwards has its prefix only.
    again = client.get("/account/tokens/").content.decode()
    assert plain not in again and f"{token.prefix}…" in again and "notebook" in again
    assert AuditLog.objects.filter(action="api_token.created", actor=viewer).exists()


def test_the_page_refuses_a_blank_name_and_a_tenant_not_offered(client: Client, viewer, other_tenant) -> None:  # noqa: ANN001
    client.force_login(viewer)
    blank = client.post("/account/tokens/", {"name": "", "tenant": ""})
    foreign = client.post("/account/tokens/", {"name": "x", "tenant": other_tenant.pk})

    assert "This field is required" in blank.content.decode()
    assert "Select a valid choice" in foreign.content.decode()
    assert not ApiToken.objects.exists()


def test_the_page_has_words_for_no_tokens_and_needs_a_login(client: Client, viewer) -> None:  # noqa: ANN001
    assert client.get("/account/tokens/").status_code == 302
    client.force_login(viewer)
    assert "You have no API tokens yet" in client.get("/account/tokens/").content.decode()


def test_revoking_from_the_page_stops_the_token(client: Client, viewer) -> None:  # noqa: ANN001
    token, plain = api_token_create(user=viewer, name="script")
    client.force_login(viewer)

    response = client.post(f"/account/tokens/{token.pk}/revoke/")

    assert response.status_code == 302
    assert client.get("/api/v1/ledger/acme/report", **bearer(plain)).status_code == 401
    assert client.get("/account/tokens/").content.decode().count("revoked") >= 1


def test_nobody_revokes_or_sees_someone_elses_token(client: Client, viewer, outsider) -> None:  # noqa: ANN001
    token, plain = api_token_create(user=viewer, name="vera's script")
    client.force_login(outsider)

    assert client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 404
    assert client.get(f"/account/tokens/{token.pk}/revoke/").status_code == 405
    assert "vera's script" not in client.get("/account/tokens/").content.decode()
    assert api_token_authenticate(token=plain) is not None


# --- the admin --------------------------------------------------------------------------------------------


def test_staff_see_tokens_in_the_admin_without_their_hash_and_revoke_them(client: Client, staff, viewer) -> None:  # noqa: ANN001
    token, plain = api_token_create(user=viewer, name="script")
    client.force_login(staff)

    listing = client.get("/admin/connections/apitoken/").content.decode()
    page = client.get(f"/admin/connections/apitoken/{token.pk}/change/").content.decode()
    assert token.prefix in listing and "script" in listing
    assert token.token_hash not in listing + page and plain not in listing + page
    assert client.get("/admin/connections/apitoken/?token_hash__startswith=a").status_code == 400

    client.post(
        "/admin/connections/apitoken/", {"action": "revoke_tokens", "_selected_action": [token.pk]}, follow=True
    )
    assert api_token_authenticate(token=plain) is None
    assert AuditLog.objects.filter(action="api_token.revoked", actor=staff).exists()


def test_customer_admins_do_not_see_tokens_in_the_admin(client: Client, tenant_admin, viewer) -> None:  # noqa: ANN001
    api_token_create(user=viewer, name="script")
    client.force_login(tenant_admin)

    assert client.get("/admin/connections/apitoken/").status_code == 403
    assert "apitoken" not in client.get("/admin/").content.decode()
