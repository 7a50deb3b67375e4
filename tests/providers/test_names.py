"""Names users know: projects/workspaces as application, API keys as principal_name, listed from the providers'
admin APIs (exact-format fixtures, HTTP mocked with `responses`); ids stay in tags, the connection's mapping
still overrides, and a key that may not list names still syncs, labelled with ids, saying so."""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qs, urlparse

from django.db.models import Sum

from finops.ledger.models import SpendDaily, SpendEvent
from finops.ledger.rollups import rollup_check
from providers.models import ProviderName, ProviderSyncRun
from providers.names import parse_keys, parse_scopes
from providers.services import provider_connection_validate
from providers.sync import provider_sync

from .conftest import ANTHROPIC, OPENAI, load, mock_anthropic, mock_openai, mock_openai_names

TODAY = date(2026, 11, 26)


def _openai_sync(connection):  # noqa: ANN001, ANN202
    return provider_sync(connection=connection, since=date(2026, 11, 1), until=date(2026, 11, 2), today=TODAY)


def _usage(source: str = "openai"):  # noqa: ANN202
    return SpendEvent.objects.filter(source=source, record_kind="request")


def test_projects_are_listed_page_by_page_archived_included(openai_connection, rsps) -> None:  # noqa: ANN001
    mock_openai(rsps)
    _openai_sync(openai_connection)
    calls = [
        parse_qs(urlparse(c.request.url).query) for c in rsps.calls if c.request.url.split("?")[0].endswith("/projects")
    ]
    assert len(calls) == 2
    assert calls[0]["include_archived"] == ["true"] and calls[0]["limit"] == ["100"] and "after" not in calls[0]
    assert calls[1]["after"] == ["proj_alpha"]  # the first page's last_id
    keys = [c.request.url for c in rsps.calls if "/api_keys" in c.request.url]
    assert sorted(urlparse(u).path for u in keys) == [
        "/v1/organization/projects/proj_alpha/api_keys",
        "/v1/organization/projects/proj_beta/api_keys",
    ]


def test_openai_rows_read_as_project_and_key_names_with_ids_in_tags(openai_connection, rsps) -> None:  # noqa: ANN001
    mock_openai(rsps)
    _openai_sync(openai_connection)
    alpha = _usage().get(user_id="user-b")
    assert (alpha.application, alpha.principal_name) == ("Search backend", "alice laptop")
    assert alpha.tags["project_id"] == "proj_alpha" and alpha.tags["api_key_id"] == "key_bbb2"
    assert alpha.iam_principal == "openai:org-acme:key/key_bbb2"  # identity stays the id
    # proj_beta is archived: its spend keeps the project's name.
    beta = _usage().filter(tags__project_id="proj_beta")
    assert beta.exists() and {r.application for r in beta} == {"Support bot (2025)"}
    bills = SpendEvent.objects.filter(source="openai", record_kind="billed_line", tags__project_id="proj_alpha")
    assert bills.exists() and {b.application for b in bills} == {"Search backend"}
    stored = ProviderName.objects.get(connection=openai_connection, kind="scope", object_id="proj_beta")
    assert stored.archived and stored.listed and stored.seen_in_usage


def test_the_connection_mapping_still_overrides_the_name(openai_connection, rsps) -> None:  # noqa: ANN001
    openai_connection.mapping = {"proj_alpha": {"application": "search", "team": "core"}}
    openai_connection.save()
    mock_openai(rsps)
    _openai_sync(openai_connection)
    row = _usage().get(user_id="user-a")
    assert (row.application, row.team, row.principal_name) == ("search", "core", "prod-indexer")
    assert row.tags["project_name"] == "Search backend"


def test_a_key_that_may_not_list_names_still_syncs_with_ids_and_says_so(openai_connection, rsps) -> None:  # noqa: ANN001
    mock_openai(rsps, names=403)
    result = _openai_sync(openai_connection)
    assert result.status == "succeeded"
    assert _usage().count() == 5
    row = _usage().get(user_id="user-a")
    assert (row.application, row.principal_name) == ("proj_alpha", "key_aaa1")
    assert any("Project names could not be listed (HTTP 403)" in m for m in result.messages)
    assert any("labelled with their ids" in m for m in result.messages)
    run = ProviderSyncRun.objects.get(sync_id=result.sync_id, endpoint="names")
    assert run.status == "succeeded" and "HTTP 403" in run.error and "admin-keys" in run.remedy


def test_names_listed_later_relabel_the_loaded_rows_and_the_rollup(openai_connection, rsps) -> None:  # noqa: ANN001
    mock_openai(rsps, names=403)
    _openai_sync(openai_connection)
    rsps.reset()
    mock_openai(rsps)
    result = _openai_sync(openai_connection)
    # 4 completions rows + 1 embeddings row, 6 cost lines (costs.json), all in proj_alpha/proj_beta: all renamed.
    assert result.relabelled == 11 and result.messages == []
    assert set(_usage().values_list("application", flat=True)) == {"Search backend", "Support bot (2025)"}
    assert rollup_check(tenant_id=openai_connection.tenant_id) == []
    by_app = SpendDaily.objects.filter(tenant_id=openai_connection.tenant_id, source="openai")
    assert not by_app.filter(application__startswith="proj_").exists()
    assert by_app.aggregate(n=Sum("requests"))["n"] == 5 + 10 + 2 + 1 + 3


def test_anthropic_rows_read_as_workspace_and_key_names(anthropic_connection, rsps) -> None:  # noqa: ANN001
    mock_anthropic(rsps)
    provider_sync(connection=anthropic_connection, since=date(2026, 11, 3), until=date(2026, 11, 3), today=TODAY)
    row = _usage("anthropic").get(iam_principal__endswith="key/apikey_01abc")
    assert (row.application, row.principal_name) == ("Customer support", "support-router")
    assert row.tags["workspace_id"] == "wrkspc_01xyz" and row.tags["api_key_id"] == "apikey_01abc"
    inactive = _usage("anthropic").get(iam_principal__endswith="key/apikey_02def")
    assert inactive.principal_name == "batch-summaries"  # an inactive key keeps its name
    listed = [parse_qs(urlparse(c.request.url).query) for c in rsps.calls if "/workspaces" in c.request.url]
    assert listed == [{"limit": ["100"], "include_archived": ["true"]}]


def test_anthropic_workspaces_page_with_after_id(anthropic_connection, rsps) -> None:  # noqa: ANN001
    from responses import matchers

    first = {**load("anthropic/workspaces.json"), "has_more": True, "last_id": "wrkspc_01xyz"}
    first["data"] = first["data"][:1]
    second = {**load("anthropic/workspaces.json"), "first_id": "wrkspc_02old"}
    second["data"] = second["data"][1:]
    rsps.get(f"{ANTHROPIC}/workspaces", json=first, match=[lambda r: ("after_id=" not in r.url, "cursor")])
    rsps.get(f"{ANTHROPIC}/workspaces", json=second,
             match=[matchers.query_param_matcher({"after_id": "wrkspc_01xyz"}, strict_match=False)])  # fmt: skip
    rsps.get(f"{ANTHROPIC}/api_keys", json=load("anthropic/api_keys.json"))
    rsps.get(f"{ANTHROPIC}/usage_report/messages", json=load("anthropic/usage_messages.json"))
    rsps.get(f"{ANTHROPIC}/cost_report", json=load("anthropic/cost_report.json"))
    provider_sync(connection=anthropic_connection, since=date(2026, 11, 3), until=date(2026, 11, 3), today=TODAY)
    names = dict(ProviderName.objects.filter(kind="scope", listed=True).values_list("object_id", "name"))
    assert names == {"wrkspc_01xyz": "Customer support", "wrkspc_02old": "Old experiments"}
    assert ProviderName.objects.get(object_id="wrkspc_02old").archived


def test_validation_lists_the_names_or_says_why_not(openai_connection, rsps) -> None:  # noqa: ANN001
    rsps.get(f"{OPENAI}/usage/completions", json=load("openai/usage_completions_page2.json"))
    mock_openai_names(rsps, status=403)
    result = provider_connection_validate(connection=openai_connection)
    assert result.ok and result.status == "valid"
    assert any("HTTP 403" in note for note in result.notes)
    assert any("labelled with their ids" in note for note in result.notes)
    rsps.reset()
    rsps.get(f"{OPENAI}/usage/completions", json=load("openai/usage_completions_page2.json"))
    mock_openai_names(rsps)
    result = provider_connection_validate(connection=openai_connection)
    assert result.notes == ("Names listed: 2 project(s), 3 API key(s).",)
    assert ProviderName.objects.filter(connection=openai_connection, listed=True).count() == 5


def test_the_parsers_read_the_exact_formats() -> None:
    projects = load("openai/projects_page1.json")["data"] + load("openai/projects_page2.json")["data"]
    assert parse_scopes(projects) == (
        {"proj_alpha": "Search backend", "proj_beta": "Support bot (2025)"},
        {"proj_beta"},
    )
    workspaces = load("anthropic/workspaces.json")["data"]
    assert parse_scopes(workspaces)[1] == {"wrkspc_02old"}
    keys = load("anthropic/api_keys.json")["data"]
    assert parse_keys(keys) == (
        {"apikey_01abc": "support-router", "apikey_02def": "batch-summaries"},
        {"apikey_01abc": "wrkspc_01xyz", "apikey_02def": "wrkspc_01xyz"},
    )
    assert parse_keys(load("openai/project_api_keys_beta.json")["data"], scope_id="proj_beta") == (
        {"key_ccc3": "support-prod"},
        {"key_ccc3": "proj_beta"},
    )


def test_the_api_root_can_be_overridden_by_a_setting(openai_connection, rsps, settings) -> None:  # noqa: ANN001
    settings.FINOPS_OPENAI_BASE_URL = "http://127.0.0.1:9/"
    rsps.get("http://127.0.0.1:9/v1/organization/usage/completions", status=401, json=load("openai/error_401.json"))
    result = provider_connection_validate(connection=openai_connection)
    assert result.status == "invalid" and rsps.calls[0].request.url.startswith("http://127.0.0.1:9/v1/")
