"""The connection wizard, a connection's page with its deploy artifacts, and who may do what there."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
import yaml
from django.test import Client

from connections.models import AuditLog, AwsConnection, Tenant
from connections.services import connection_create

LOG_GROUP = "arn:aws:logs:us-east-1:210987654321:log-group:/aws/bedrock/invocations"

STEP_1 = {"name": "prod", "account_id": "210987654321", "mode": "SingleAccount"}
STEP_2 = {
    "member_role_name": "OrganizationAccountAccessRole",
    "role_path_prefix": "",
    "regions": "us-east-1, eu-west-1",
    "allowed_source_ips": "",
}
STEP_3 = {
    "cur_bucket": "acme-cur",
    "cur_prefix": "cur2",
    "cur_export_name": "bedrock",
    "cur_payer_account_id": "",
    "log_group_arn": LOG_GROUP,
    "log_bucket": "",
    "log_prefix": "",
}


def login(client: Client, user: object) -> Client:
    client.force_login(user)
    return client


def make_connection(tenant: Tenant, **fields: Any) -> AwsConnection:
    values: dict[str, Any] = {"name": "prod", "account_id": "210987654321", "regions": ["us-east-1"]}
    values.update(fields)
    return connection_create(tenant=tenant, **values)


def new_url(slug: str = "acme") -> str:
    return f"/connections/t/{slug}/new/"


def post_step(client: Client, step: int, **overrides: str) -> Any:
    data: dict[str, str] = {"step": str(step)}
    for number, answers in enumerate((STEP_1, STEP_2, STEP_3), start=1):
        if number <= step:
            data.update(answers)
    data.update(overrides)
    return client.post(new_url(), data)


def text(response: Any) -> str:
    return html.unescape(response.content.decode())


# --- the wizard ----------------------------------------------------------------------------------


def test_the_first_step_asks_for_account_and_mode(client, tenant, tenant_admin):
    response = login(client, tenant_admin).get(new_url())

    assert response.status_code == 200
    content = text(response)
    assert "Step 1: Account and mode" in content
    assert 'name="account_id"' in content
    assert 'name="mode"' in content
    assert "external_id" not in content  # never typed


def test_step_one_names_the_fields_in_error(client, tenant, tenant_admin):
    response = post_step(login(client, tenant_admin), 1, account_id="12345", name="")

    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) == {"account_id", "name"}
    content = text(response)
    assert "An AWS account id is exactly 12 digits." in content
    assert "Please correct: Name, AWS account id." in content
    assert "Step 1: Account and mode" in content


def test_step_one_rejects_a_name_the_tenant_already_uses(client, tenant, tenant_admin):
    make_connection(tenant, name="prod")

    response = post_step(login(client, tenant_admin), 1)

    assert "already has a connection named “prod”" in text(response)
    assert response.context["step"] == 1


def test_a_valid_step_one_swaps_in_step_two_with_the_answers_carried(client, tenant, tenant_admin):
    response = login(client, tenant_admin).post(new_url(), {"step": "1", **STEP_1}, HTTP_HX_REQUEST="true")

    content = text(response)
    assert response.status_code == 200
    assert "<html" not in content
    assert 'id="wizard"' in content
    assert "Step 2: Mode options" in content
    assert '<input type="hidden" name="account_id" value="210987654321">' in content
    assert "HX-Request" in response["Vary"]
    # Single-account mode does not ask for the member role.
    assert 'type="hidden" name="member_role_name"' in content


def test_step_two_asks_for_the_member_role_in_organization_mode(client, tenant, tenant_admin):
    response = post_step(login(client, tenant_admin), 1, mode="Organization")

    content = text(response)
    assert 'type="text" name="member_role_name"' in content
    assert "AWSControlTowerExecution" in content


def test_step_two_names_bad_regions_path_and_ips(client, tenant, tenant_admin):
    response = post_step(
        login(client, tenant_admin), 2, regions="us-east-1, useast1", role_path_prefix="custom", allowed_source_ips="x"
    )

    form = response.context["form"]
    assert set(form.errors) == {"regions", "role_path_prefix", "allowed_source_ips"}
    assert "Not a region code: useast1" in form.errors["regions"][0]
    assert response.context["step"] == 2


def test_step_three_explains_what_is_lost_without_each_source(client, tenant, tenant_admin):
    response = post_step(login(client, tenant_admin), 2)

    content = text(response)
    assert "Step 3: Data sources" in content
    assert "Without CUR: no billed dollars, only estimates" in content
    assert "Without invocation logs: no per-request attribution" in content


def test_step_three_names_the_fields_in_error(client, tenant, tenant_admin):
    response = post_step(
        login(client, tenant_admin), 3, cur_export_name="", log_group_arn="/aws/bedrock/invocations", log_prefix="x/"
    )

    form = response.context["form"]
    assert set(form.errors) == {"cur_export_name", "log_group_arn", "log_bucket"}
    assert "export name together with its bucket" in form.errors["cur_export_name"][0]
    assert not AwsConnection.objects.exists()


def test_back_returns_to_the_previous_step_with_its_answers(client, tenant, tenant_admin):
    response = post_step(login(client, tenant_admin), 2, back="1")

    assert response.context["step"] == 1
    assert 'value="210987654321"' in text(response)


def test_tampered_earlier_answers_send_the_user_back_to_that_step(client, tenant, tenant_admin):
    response = post_step(login(client, tenant_admin), 3, account_id="nope")

    assert response.context["step"] == 1
    assert "account_id" in response.context["form"].errors
    assert not AwsConnection.objects.exists()


def test_the_last_step_creates_the_connection_with_a_generated_external_id(client, tenant, tenant_admin):
    response = post_step(login(client, tenant_admin), 3, external_id="chosen-by-the-browser")

    connection = AwsConnection.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/connections/{connection.pk}/#deploy"
    assert re.fullmatch(r"[0-9a-f]{32}", connection.external_id)
    assert connection.external_id != "chosen-by-the-browser"
    assert (connection.tenant, connection.name, connection.account_id) == (tenant, "prod", "210987654321")
    assert connection.regions == ["us-east-1", "eu-west-1"]
    assert (connection.cur_bucket, connection.cur_export_name, connection.log_group_arn) == (
        "acme-cur",
        "bedrock",
        LOG_GROUP,
    )
    entry = AuditLog.objects.get(action="connection.created")
    assert entry.actor == tenant_admin
    assert entry.details["connection_id"] == connection.pk


def test_the_last_step_redirects_htmx_with_a_header(client, tenant, tenant_admin):
    login(client, tenant_admin)
    data = {"step": "3", **STEP_1, **STEP_2, **STEP_3}

    response = client.post(new_url(), data, HTTP_HX_REQUEST="true")

    connection = AwsConnection.objects.get()
    assert response["HX-Redirect"] == f"/connections/{connection.pk}/#deploy"


# --- the deploy step on the connection page ------------------------------------------------------------


def test_the_deploy_step_shows_the_deploy_command_with_the_external_id_and_account(client, tenant, tenant_admin):
    connection = make_connection(tenant)

    response = login(client, tenant_admin).get(f"/connections/{connection.pk}/")

    assert response.status_code == 200
    content = text(response)
    deploy = content[content.index('id="deploy"') : content.index('id="validation"')]
    assert "aws cloudformation deploy --template-file bedrock-finops-role.yaml" in deploy
    assert f"--parameter-overrides ExternalId={connection.external_id} BackendAccountId=123456789012" in deploy
    assert "Run these in account <code>210987654321</code>" in deploy
    assert f"/connections/{connection.pk}/template.yaml" in deploy
    assert f"/connections/{connection.pk}/template.json" in deploy


@pytest.mark.parametrize(("fmt", "parse"), [("yaml", yaml.safe_load), ("json", json.loads)])
def test_template_downloads_are_attachments_and_audited(client, tenant, tenant_admin, fmt, parse):
    connection = make_connection(tenant)

    response = login(client, tenant_admin).get(f"/connections/{connection.pk}/template.{fmt}")

    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="bedrock-finops-role.{fmt}"'
    template = parse(response.content.decode())
    assert template["Parameters"]["ExternalId"]["Default"] == connection.external_id
    assert template["Resources"]["Role"]["Properties"]["RoleName"] == connection.role_name
    entry = AuditLog.objects.get(action="connection.template_downloaded")
    assert entry.actor == tenant_admin
    assert entry.details == {"connection_id": connection.pk, "artifact": "role_template", "format": fmt}


def test_the_stackset_is_offered_only_in_organization_mode(client, tenant, tenant_admin):
    single = make_connection(tenant, name="single")
    org = make_connection(tenant, name="org", mode="Organization", member_role_name="BedrockFinOps-Member")
    login(client, tenant_admin)

    single_page = text(client.get(f"/connections/{single.pk}/"))
    org_page = text(client.get(f"/connections/{org.pk}/"))

    assert "create-stack-set" not in single_page
    assert "Member accounts (StackSet)" not in single_page
    assert client.get(f"/connections/{single.pk}/stackset.yaml").status_code == 404
    assert "create-stack-set" in org_page
    assert f"/connections/{org.pk}/stackset.yaml" in org_page
    response = client.get(f"/connections/{org.pk}/stackset.yaml")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="bedrock-finops-member-role.yaml"'
    member = yaml.safe_load(response.content.decode())
    assert member["Resources"]["Role"]["Properties"]["RoleName"] == "BedrockFinOps-Member"
    assert AuditLog.objects.filter(
        action="connection.template_downloaded", details__artifact="stackset_template"
    ).exists()


def test_no_stackset_is_offered_for_a_member_role_aws_already_created(client, tenant, tenant_admin):
    org = make_connection(tenant, mode="Organization", member_role_name="OrganizationAccountAccessRole")
    login(client, tenant_admin)

    page = text(client.get(f"/connections/{org.pk}/"))
    download = client.get(f"/connections/{org.pk}/stackset.yaml")

    assert "no StackSet is needed" in page
    assert "create-stack-set" not in page
    assert download.status_code == 409
    assert not AuditLog.objects.filter(action="connection.template_downloaded").exists()


def test_the_cur_bucket_policy_is_a_separate_artifact_only_with_a_cur_bucket(client, tenant, tenant_admin):
    with_cur = make_connection(tenant, name="cur", cur_bucket="acme-cur", cur_prefix="cur2", cur_export_name="x")
    without = make_connection(tenant, name="nocur")
    login(client, tenant_admin)

    assert "CUR bucket policy" in text(client.get(f"/connections/{with_cur.pk}/"))
    assert "CUR bucket policy" not in text(client.get(f"/connections/{without.pk}/"))
    assert client.get(f"/connections/{without.pk}/cur-bucket-policy.json").status_code == 404
    response = client.get(f"/connections/{with_cur.pk}/cur-bucket-policy.json")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="acme-cur-bucket-policy.json"'
    policy = json.loads(response.content)
    resources = [r for statement in policy["Statement"] for r in statement["Resource"]]
    assert resources == ["arn:aws:s3:::acme-cur/cur2/*", "arn:aws:s3:::acme-cur"]
    assert all(s["Principal"]["AWS"].endswith(with_cur.role_name) for s in policy["Statement"])
    assert AuditLog.objects.get(action="connection.template_downloaded").details["artifact"] == "cur_bucket_policy"


def test_the_logging_cli_turns_on_metadata_only_logging_in_each_region(client, tenant, tenant_admin):
    connection = make_connection(tenant, log_group_arn=LOG_GROUP, regions=["us-east-1", "eu-west-1"])

    content = text(login(client, tenant_admin).get(f"/connections/{connection.pk}/"))

    commands = re.findall(
        r"aws bedrock put-model-invocation-logging-configuration --region (\S+) --logging-config '([^']+)'", content
    )
    assert [region for region, _ in commands] == ["us-east-1", "eu-west-1"]
    for _, raw in commands:
        config = json.loads(raw)
        delivery = {k: v for k, v in config.items() if k.endswith("DataDeliveryEnabled")}
        assert {"textDataDeliveryEnabled", "imageDataDeliveryEnabled", "embeddingDataDeliveryEnabled"} <= set(delivery)
        assert set(delivery.values()) == {False}
        assert config["cloudWatchConfig"]["logGroupName"] == "/aws/bedrock/invocations"


def test_the_page_says_why_logging_cli_is_missing_without_a_destination(client, tenant, tenant_admin):
    connection = make_connection(tenant)

    content = text(login(client, tenant_admin).get(f"/connections/{connection.pk}/"))

    assert "put-model-invocation-logging-configuration" not in content
    assert "Set log_group_arn or log_bucket first" in content
    assert "no per-request attribution" in content  # what is lost without logs


def test_a_viewer_sees_the_connection_but_not_the_deploy_artifacts(client, tenant, viewer):
    connection = make_connection(tenant)

    response = login(client, viewer).get(f"/connections/{connection.pk}/")

    content = text(response)
    assert response.status_code == 200
    assert "prod" in content
    assert "aws cloudformation deploy" not in content
    assert f"/connections/{connection.pk}/edit/" not in content
    assert "Delete this connection" not in content


# --- list, edit, pause, resume, delete ---------------------------------------------------------------


def test_the_list_shows_the_tenants_connections_and_the_connect_button_for_admins(
    client, tenant, other_tenant, tenant_admin, viewer
):
    make_connection(tenant, name="prod")
    make_connection(other_tenant, name="globex-secret", account_id="999999999999")

    admin_page = text(login(client, tenant_admin).get("/connections/t/acme/"))
    viewer_page = text(login(Client(), viewer).get("/connections/t/acme/"))

    assert "prod" in admin_page
    assert "globex-secret" not in admin_page
    assert "Connect an AWS account" in admin_page
    assert "Connect an AWS account" not in viewer_page


def test_the_list_has_an_empty_state(client, tenant, tenant_admin):
    content = text(login(client, tenant_admin).get("/connections/t/acme/"))

    assert "No AWS account connected yet." in content


def test_editing_keeps_the_external_id_and_is_audited(client, tenant, tenant_admin):
    connection = make_connection(tenant)
    external_id = connection.external_id
    login(client, tenant_admin)
    form = client.get(f"/connections/{connection.pk}/edit/").context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data.update(regions="us-west-2", mode="SingleAccount", external_id="f" * 32)

    response = client.post(f"/connections/{connection.pk}/edit/", data)

    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.regions == ["us-west-2"]
    assert connection.external_id == external_id
    assert AuditLog.objects.get(action="connection.edited").details["fields"] == ["regions"]


def test_editing_names_the_fields_in_error(client, tenant, tenant_admin):
    make_connection(tenant, name="prod")
    dev = make_connection(tenant, name="dev")

    response = login(client, tenant_admin).post(
        f"/connections/{dev.pk}/edit/", {**STEP_1, **STEP_2, **STEP_3, "role_arn": "arn:aws:iam::1:role/x"}
    )

    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"name", "role_arn"}
    assert "already has a connection named “prod”" in text(response)
    dev.refresh_from_db()
    assert dev.name == "dev"


def test_pause_resume_and_delete_are_audited(client, tenant, tenant_admin):
    connection = make_connection(tenant)
    login(client, tenant_admin)

    assert client.post(f"/connections/{connection.pk}/pause/").status_code == 302
    connection.refresh_from_db()
    assert connection.status == AwsConnection.Status.PAUSED
    assert client.post(f"/connections/{connection.pk}/resume/").status_code == 302
    connection.refresh_from_db()
    assert connection.status == AwsConnection.Status.PENDING
    assert client.post(f"/connections/{connection.pk}/delete/", {"confirm_name": "wrong"}).status_code == 400
    assert AwsConnection.objects.filter(pk=connection.pk).exists()
    response = client.post(f"/connections/{connection.pk}/delete/", {"confirm_name": "prod"})
    assert response.status_code == 302
    assert response["Location"] == "/connections/t/acme/"
    assert not AwsConnection.objects.filter(pk=connection.pk).exists()
    actions = set(AuditLog.objects.values_list("action", flat=True))
    assert {"connection.paused", "connection.resumed", "connection.deleted"} <= actions


# --- access --------------------------------------------------------------------------------------------


def _every_endpoint(pk: int) -> list[tuple[str, str]]:
    return [
        ("get", "/connections/t/acme/"),
        ("get", "/connections/t/acme/new/"),
        ("post", "/connections/t/acme/new/"),
        ("get", f"/connections/{pk}/"),
        ("get", f"/connections/{pk}/edit/"),
        ("post", f"/connections/{pk}/edit/"),
        ("get", f"/connections/{pk}/template.yaml"),
        ("get", f"/connections/{pk}/template.json"),
        ("get", f"/connections/{pk}/stackset.yaml"),
        ("get", f"/connections/{pk}/cur-bucket-policy.json"),
        ("post", f"/connections/{pk}/validate/"),
        ("get", f"/connections/{pk}/validation/"),
        ("post", f"/connections/{pk}/pause/"),
        ("post", f"/connections/{pk}/resume/"),
        ("post", f"/connections/{pk}/delete/"),
    ]


ADMIN_ONLY = [
    ("get", "/connections/t/acme/new/"),
    ("post", "/connections/t/acme/new/"),
    ("get", "/connections/{pk}/edit/"),
    ("post", "/connections/{pk}/edit/"),
    ("get", "/connections/{pk}/template.yaml"),
    ("get", "/connections/{pk}/template.json"),
    ("get", "/connections/{pk}/stackset.yaml"),
    ("get", "/connections/{pk}/cur-bucket-policy.json"),
    ("post", "/connections/{pk}/validate/"),
    ("post", "/connections/{pk}/pause/"),
    ("post", "/connections/{pk}/resume/"),
    ("post", "/connections/{pk}/delete/"),
]


def _org_connection(tenant: Tenant) -> AwsConnection:
    return make_connection(
        tenant, mode="Organization", member_role_name="BedrockFinOps-Member", cur_bucket="b-cur", cur_export_name="x"
    )


def test_an_outsider_gets_404_on_every_page_and_endpoint(client, tenant, outsider):
    connection = _org_connection(tenant)
    login(client, outsider)

    for method, url in _every_endpoint(connection.pk):
        response = getattr(client, method)(url, {"confirm_name": "prod"} if method == "post" else None)
        assert response.status_code == 404, (method, url)
    assert AwsConnection.objects.filter(pk=connection.pk, status="pending").exists()
    assert not AuditLog.objects.filter(action="connection.template_downloaded").exists()


def test_an_unknown_connection_is_404(client, tenant, tenant_admin):
    assert login(client, tenant_admin).get("/connections/999999/").status_code == 404


@pytest.mark.parametrize(("method", "url"), ADMIN_ONLY)
def test_a_viewer_gets_403_with_a_clear_message_on_admin_actions(client, tenant, viewer, method, url):
    connection = _org_connection(tenant)

    response = getattr(login(client, viewer), method)(url.format(pk=connection.pk))

    assert response.status_code == 403
    assert "Only tenant admins can" in text(response)
    assert AwsConnection.objects.filter(pk=connection.pk, status="pending").exists()
    assert not AuditLog.objects.filter(action="connection.template_downloaded").exists()


def test_a_viewer_may_see_the_list_the_page_and_the_diagnosis(client, tenant, viewer):
    connection = make_connection(tenant)
    login(client, viewer)

    for url in ("/connections/t/acme/", f"/connections/{connection.pk}/", f"/connections/{connection.pk}/validation/"):
        assert client.get(url).status_code == 200, url


def test_anonymous_users_are_redirected_to_login(client, tenant):
    connection = make_connection(tenant)

    for method, url in _every_endpoint(connection.pk):
        response = getattr(client, method)(url)
        assert response.status_code == 302, (method, url)
        assert response["Location"].startswith("/accounts/login/"), url


def test_staff_can_do_everything(client, tenant, staff):
    connection = _org_connection(tenant)
    login(client, staff)

    for method, url in _every_endpoint(connection.pk):
        if url.endswith(("/delete/", "/validate/", "/new/")) and method == "post":
            continue  # exercised below and in the validation tests
        assert getattr(client, method)(url).status_code in (200, 302), (method, url)
    assert post_step(client, 3, name="by-staff").status_code == 302
    assert AwsConnection.objects.filter(name="by-staff", tenant=tenant).exists()
    assert client.post(f"/connections/{connection.pk}/delete/", {"confirm_name": "prod"}).status_code == 302
