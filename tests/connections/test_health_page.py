"""Validating a connection (POST, then the htmx poll) and the support staff's connection-health page."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_q.models import Task
from moto import mock_aws

from connections import aws, selectors, services, tasks, views
from connections.models import AuditLog, AwsConnection, Tenant
from connections.reporting import diagnosis_text
from connections.services import connection_create, connection_set_paused

ACCOUNT = "210987654321"


def login(client: Client, user: object) -> Client:
    client.force_login(user)
    return client


def make_connection(tenant: Tenant, **fields: Any) -> AwsConnection:
    values: dict[str, Any] = {"name": "prod", "account_id": ACCOUNT, "regions": ["us-east-1"]}
    values.update(fields)
    return connection_create(tenant=tenant, **values)


def role_arn(connection: AwsConnection) -> str:
    return f"arn:aws:iam::{connection.account_id}:role/{connection.role_name}"


def text(response: Any) -> str:
    return html.unescape(response.content.decode())


def finding(code: str, title: str, cause: str, remedy: str, evidence: str = "") -> dict[str, str]:
    return {"code": code, "title": title, "cause": cause, "remedy": remedy, "evidence": evidence}


GREEN_RESULTS = [
    {"key": "assume_role", "label": "Assume the role", "status": "green", "message": "Assumed.", "findings": []},
    {
        "key": "cloudwatch_read",
        "label": "Read CloudWatch",
        "status": "green",
        "message": "12 invocations.",
        "findings": [],
    },
]
RED_RESULTS = [
    GREEN_RESULTS[0],
    {
        "key": "logging_config:us-east-1",
        "label": "Invocation logging in us-east-1",
        "status": "red",
        "message": "Logging is off.",
        "findings": [
            finding("logging_off_in_region", "Logging is off in us-east-1", "Nothing is logged.", "aws bedrock put-x"),
            finding("second", "A second finding", "Another cause.", "NOT-THE-FIRST-REMEDY"),
        ],
    },
    {
        "key": "cur_bucket",
        "label": "List the CUR 2.0 export",
        "status": "red",
        "message": "The CUR bucket does not exist.",
        "findings": [finding("cur_bucket_missing", "No bucket", "No bucket acme-cur.", "aws s3api head-bucket")],
    },
    {"key": "provisioned_throughput", "label": "PT", "status": "skipped", "message": "n/a", "findings": []},
]


def store(connection: AwsConnection, results: list[dict[str, Any]], status: str, last_error: str = "") -> None:
    """Write a validation result the way connection_validate does (used where AWS is not the point)."""
    connection.last_validation = results
    connection.last_validated_at = timezone.now()
    connection.status = status
    connection.last_error = last_error
    connection.save()


def fake_validate(results: list[dict[str, Any]], status: str):  # noqa: ANN201
    calls: list[dict[str, Any]] = []

    def validate(*, connection: AwsConnection, actor: Any = None) -> list[Any]:
        calls.append({"connection": connection.pk, "actor": actor})
        store(connection, results, status)
        return []

    validate.calls = calls  # type: ignore[attr-defined]
    return validate


@pytest.fixture
def sync_queue(settings):  # noqa: ANN001, ANN201
    """django-q2 runs the task in-process: connection_validation_request reads Q_CLUSTER["sync"] at call time."""
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}


def validate_url(connection: AwsConnection) -> str:
    return f"/connections/{connection.pk}/validate/"


def poll_url(connection: AwsConnection) -> str:
    return f"/connections/{connection.pk}/validation/"


# --- validate and poll ---------------------------------------------------------------------------


def test_validating_saves_the_role_arn_marks_the_connection_and_starts_polling(client, tenant, tenant_admin):
    connection = make_connection(tenant)

    response = login(client, tenant_admin).post(
        validate_url(connection), {"role_arn": role_arn(connection)}, HTTP_HX_REQUEST="true"
    )

    content = text(response)
    assert response.status_code == 200
    assert "<html" not in content
    assert f'hx-get="{poll_url(connection)}"' in content
    assert 'hx-trigger="every 5s"' in content
    assert "Validating since" in content
    connection.refresh_from_db()
    assert connection.role_arn == role_arn(connection)
    assert connection.status == AwsConnection.Status.VALIDATING
    requested = AuditLog.objects.get(action="connection.validation_requested")
    assert requested.actor == tenant_admin
    assert requested.details["connection_id"] == connection.pk
    assert AuditLog.objects.get(action="connection.edited").details["fields"] == ["role_arn"]


def test_the_task_is_queued_only_when_the_transaction_commits(
    client, tenant, tenant_admin, monkeypatch, django_capture_on_commit_callbacks
):
    connection = make_connection(tenant)
    queued: list[tuple[Any, ...]] = []
    monkeypatch.setattr(services, "async_task", lambda *args, **kwargs: queued.append((args, kwargs)))

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        login(client, tenant_admin).post(validate_url(connection), {"role_arn": role_arn(connection)})
        assert queued == []

    assert len(callbacks) == 1
    (func, connection_id, actor_id), options = queued[0]
    assert (func, connection_id, actor_id) == ("connections.tasks.validate_connection", connection.pk, tenant_admin.pk)
    assert options == {"task_name": f"validate-connection-{connection.pk}", "sync": False}


def test_the_poll_keeps_polling_for_two_minutes_then_says_the_worker_may_be_down(
    client, tenant, tenant_admin, monkeypatch
):
    connection = make_connection(tenant)
    login(client, tenant_admin).post(validate_url(connection), {"role_arn": role_arn(connection)})
    connection.refresh_from_db()
    started = selectors.validation_started_at(connection)
    assert started == AuditLog.objects.get(action="connection.validation_requested").created_at

    monkeypatch.setattr(views, "_now", lambda: started + timedelta(seconds=119))
    still = text(client.get(poll_url(connection), HTTP_HX_REQUEST="true"))
    monkeypatch.setattr(views, "_now", lambda: started + timedelta(seconds=121))
    stopped = text(client.get(poll_url(connection), HTTP_HX_REQUEST="true"))

    assert 'hx-trigger="every 5s"' in still
    assert "(119 s)" in still
    assert "hx-trigger" not in stopped
    assert "hx-get" not in stopped
    assert "Validation did not finish" in stopped
    assert "python manage.py qcluster" in stopped


def test_the_poll_renders_the_checks_without_polling_when_done(client, tenant, viewer):
    connection = make_connection(tenant)
    store(connection, RED_RESULTS, AwsConnection.Status.DEGRADED)

    response = login(client, viewer).get(poll_url(connection), HTTP_HX_REQUEST="true")

    content = text(response)
    assert response.status_code == 200
    assert "hx-trigger" not in content
    assert 'data-check="assume_role"' in content
    assert 'class="check check-green" data-check="assume_role"' in content
    assert 'class="check check-red" data-check="cur_bucket"' in content
    assert "Logging is off in us-east-1" in content
    assert "Nothing is logged." in content
    assert "aws bedrock put-x" in content
    pre = re.search(r'<pre data-testid="diagnosis">(.*?)</pre>', response.content.decode(), re.S)
    assert pre is not None
    assert html.unescape(pre.group(1)) == diagnosis_text(connection)
    assert 'action="/connections/' not in content  # viewers see no validate form


def test_post_then_poll_runs_the_task_through_django_q_in_sync_mode(
    client, tenant, tenant_admin, monkeypatch, sync_queue, django_capture_on_commit_callbacks
):
    connection = make_connection(tenant)
    validate = fake_validate(RED_RESULTS, AwsConnection.Status.DEGRADED)
    monkeypatch.setattr(tasks, "connection_validate", validate)
    login(client, tenant_admin)

    with django_capture_on_commit_callbacks(execute=True):
        posted = client.post(validate_url(connection), {"role_arn": role_arn(connection)}, HTTP_HX_REQUEST="true")
    polled = text(client.get(poll_url(connection), HTTP_HX_REQUEST="true"))

    assert 'hx-trigger="every 5s"' in text(posted)  # queued on commit, after the response was built
    assert validate.calls == [{"connection": connection.pk, "actor": tenant_admin}]
    assert "hx-trigger" not in polled
    assert 'class="check check-red" data-check="cur_bucket"' in polled
    task = Task.objects.get(name=f"validate-connection-{connection.pk}")
    assert task.success
    assert task.result == {
        "connection_id": connection.pk,
        "status": "degraded",
        "checks": {"green": 1, "red": 2, "skipped": 1},
    }


def test_post_then_poll_against_moto_shows_green_and_red_checks(
    client, tenant, tenant_admin, monkeypatch, sync_queue, django_capture_on_commit_callbacks
):
    """The real task and validation service; moto's permissive STS lets the role be assumed, the bucket is missing."""
    connection = make_connection(tenant, cur_bucket="acme-cur", cur_prefix="cur2", cur_export_name="bedrock")
    monkeypatch.setattr(aws, "available_regions", lambda service: ["us-east-1", "us-west-2"])
    aws.clear_credential_cache()
    login(client, tenant_admin)

    with mock_aws():
        with django_capture_on_commit_callbacks(execute=True):
            client.post(validate_url(connection), {"role_arn": role_arn(connection)}, HTTP_HX_REQUEST="true")
        polled = client.get(poll_url(connection), HTTP_HX_REQUEST="true")
    aws.clear_credential_cache()

    content = text(polled)
    connection.refresh_from_db()
    checks = {check["key"]: check["status"] for check in connection.last_validation}
    assert checks["assume_role"] == "green"
    assert checks["cur_bucket"] == "red"
    assert connection.status == AwsConnection.Status.DEGRADED
    assert connection.last_validated_at is not None
    assert "hx-trigger" not in content
    assert 'class="check check-green" data-check="assume_role"' in content
    assert 'class="check check-red" data-check="cur_bucket"' in content
    assert "The CUR bucket does not exist" in content
    assert "aws s3api head-bucket --bucket acme-cur" in content
    validated = AuditLog.objects.get(action="connection.validated")
    assert validated.actor == tenant_admin
    assert validated.details["checks"]["cur_bucket"] == "red"


def test_a_failed_task_stops_the_poll_and_shows_its_error(client, tenant, tenant_admin):
    connection = make_connection(tenant)
    login(client, tenant_admin).post(validate_url(connection), {"role_arn": role_arn(connection)})
    now = timezone.now()
    Task.objects.create(
        id="a" * 32,
        name=f"validate-connection-{connection.pk}",
        func="connections.tasks.validate_connection",
        started=now,
        stopped=now,
        success=False,
        result="boom: the worker could not import boto3 : Traceback ...",
    )

    content = text(client.get(poll_url(connection), HTTP_HX_REQUEST="true"))

    assert "hx-trigger" not in content
    assert "Validation failed to run:" in content
    assert "boom: the worker could not import boto3" in content


def test_a_bad_role_arn_is_named_and_nothing_is_queued(client, tenant, tenant_admin):
    connection = make_connection(tenant)

    response = login(client, tenant_admin).post(
        validate_url(connection), {"role_arn": "arn:aws:iam::999999999999:role/Other"}, HTTP_HX_REQUEST="true"
    )

    content = text(response)
    assert response.status_code == 200
    assert "This role is in account 999999999999" in content
    assert "hx-trigger" not in content
    connection.refresh_from_db()
    assert (connection.status, connection.role_arn) == (AwsConnection.Status.PENDING, "")
    assert not AuditLog.objects.filter(action="connection.validation_requested").exists()


def test_a_paused_connection_is_not_validated(client, tenant, tenant_admin):
    connection = make_connection(tenant)
    connection_set_paused(connection=connection, paused=True)

    response = login(client, tenant_admin).post(
        validate_url(connection), {"role_arn": role_arn(connection)}, HTTP_HX_REQUEST="true"
    )

    assert "resume it before validating" in text(response)
    connection.refresh_from_db()
    assert connection.status == AwsConnection.Status.PAUSED


def test_without_htmx_validate_redirects_to_the_page(client, tenant, tenant_admin):
    connection = make_connection(tenant)

    response = login(client, tenant_admin).post(validate_url(connection), {"role_arn": role_arn(connection)})

    assert response.status_code == 302
    assert response["Location"] == f"/connections/{connection.pk}/#validation"
    page = text(client.get(f"/connections/{connection.pk}/"))
    assert 'hx-trigger="every 5s"' in page


def test_the_task_skips_a_deleted_or_paused_connection(tenant):
    connection = make_connection(tenant)
    connection_set_paused(connection=connection, paused=True)

    assert tasks.validate_connection(connection.pk)["skipped"] == "the connection is paused"
    assert tasks.validate_connection(987654)["skipped"] == "the connection no longer exists"


def test_validate_and_poll_are_404_for_an_outsider_and_validate_403_for_a_viewer(client, tenant, outsider, viewer):
    connection = make_connection(tenant)

    assert login(client, outsider).post(validate_url(connection), {"role_arn": role_arn(connection)}).status_code == 404
    assert client.get(poll_url(connection), HTTP_HX_REQUEST="true").status_code == 404
    viewer_client = login(Client(), viewer)
    assert viewer_client.post(validate_url(connection), {"role_arn": role_arn(connection)}).status_code == 403
    assert viewer_client.get(poll_url(connection), HTTP_HX_REQUEST="true").status_code == 200
    connection.refresh_from_db()
    assert connection.status == AwsConnection.Status.PENDING


# --- the support page ---------------------------------------------------------------------------------

SUPPORT = "/support/connections/"


@pytest.fixture
def fleet(tenant: Tenant, other_tenant: Tenant) -> dict[str, AwsConnection]:
    acme_ok = make_connection(tenant, name="acme-ok")
    store(acme_ok, GREEN_RESULTS, AwsConnection.Status.CONNECTED)
    acme_bad = make_connection(tenant, name="acme-bad")
    store(acme_bad, RED_RESULTS, AwsConnection.Status.DEGRADED, "Invocation logging in us-east-1: Logging is off")
    globex_new = make_connection(other_tenant, name="globex-new", account_id="111122223333")
    return {"acme_ok": acme_ok, "acme_bad": acme_bad, "globex_new": globex_new}


def test_the_support_page_is_404_for_everyone_but_staff(client, tenant, viewer, tenant_admin, outsider):
    for user in (viewer, tenant_admin, outsider):
        assert login(Client(), user).get(SUPPORT).status_code == 404
    response = client.get(SUPPORT)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_support_page_lists_every_connection_of_every_tenant(client, staff, fleet):
    response = login(client, staff).get(SUPPORT)

    content = text(response)
    assert response.status_code == 200
    for name in ("acme-ok", "acme-bad", "globex-new"):
        assert name in content
    assert "Acme Corp" in content and "Globex" in content
    bad_row = content[content.index(f'data-connection="{fleet["acme_bad"].pk}"') :]
    bad_row = bad_row[: bad_row.index("</tr>")]
    assert '<span class="state red" title="Invocation logging in us-east-1: red">' in bad_row
    assert '<span class="state green" title="Assume the role: green">' in bad_row
    assert "Invocation logging in us-east-1: Logging is off" in bad_row  # last error
    assert "aws bedrock put-x" in bad_row  # remedy of the first red finding
    assert "NOT-THE-FIRST-REMEDY" not in bad_row
    assert "aws s3api head-bucket" not in bad_row


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"tenant": "acme"}, {"acme-ok", "acme-bad"}),
        ({"tenant": "globex"}, {"globex-new"}),
        ({"status": "degraded"}, {"acme-bad"}),
        ({"status": "pending"}, {"globex-new"}),
        ({"tenant": "acme", "status": "connected"}, {"acme-ok"}),
        ({"tenant": "globex", "status": "connected"}, set()),
        ({"status": "not-a-status"}, {"acme-ok", "acme-bad", "globex-new"}),
    ],
)
def test_the_support_page_filters_by_tenant_and_status(client, staff, fleet, query, expected):
    response = login(client, staff).get(SUPPORT, query)

    shown = {row["connection"].name for row in response.context["rows"]}
    assert shown == expected
    if not expected:
        assert "No connection matches these filters." in text(response)


def test_the_support_page_renders_only_the_table_for_htmx(client, staff, fleet):
    response = login(client, staff).get(SUPPORT, {"status": "degraded"}, HTTP_HX_REQUEST="true")

    content = text(response)
    assert "<html" not in content
    assert 'id="health"' in content
    assert '<option value="degraded" selected>' in content
    assert "acme-bad" in content and "acme-ok" not in content
    assert "HX-Request" in response["Vary"]


def test_the_support_page_shows_50_per_page(client, staff, tenant):
    AwsConnection.objects.bulk_create(
        AwsConnection(tenant=tenant, name=f"c{n:03d}", account_id=ACCOUNT, external_id=f"ext{n:03d}") for n in range(51)
    )
    login(client, staff)

    first = client.get(SUPPORT, {"tenant": "acme"})
    second = client.get(SUPPORT, {"tenant": "acme", "page": "2"})

    assert len(first.context["rows"]) == 50
    assert [row["connection"].name for row in second.context["rows"]] == ["c050"]
    assert "?tenant=acme&page=2" in text(first)


def test_the_support_page_has_an_empty_state(client, staff):
    content = text(login(client, staff).get(SUPPORT))

    assert "No tenant has connected an AWS account yet." in content
