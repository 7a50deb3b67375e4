"""The names users know: OpenAI projects and API keys, Anthropic workspaces and API keys, read from the
providers' admin APIs so the ledger says "Search backend" and "prod-indexer" instead of proj_… and key_….

OpenAI (API reference, "Projects" and "Project API keys", platform.openai.com/docs/api-reference/projects/list
and /docs/api-reference/project-api-keys/list; Admin key, "Authorization: Bearer"):
- GET /v1/organization/projects?limit=100&include_archived=true[&after=<last_id>]: {"object": "list",
  "data": [{"object": "organization.project", "id": "proj_…", "name", "created_at", "archived_at" (Unix
  seconds or null), "status": "active" | "archived"}], "first_id", "last_id", "has_more"}. include_archived
  so that an archived project keeps its name on the spend it had.
- GET /v1/organization/projects/{project_id}/api_keys?limit=100[&after=<last_id>]: {"object": "list", "data":
  [{"object": "organization.project.api_key", "id": "key_…", "name", "redacted_value", "created_at",
  "last_used_at", "owner": {"type": "user" | "service_account", …}}], "first_id", "last_id", "has_more"}.
  The usage API's api_key_id is this id. Without owner_project_access the list follows membership-based
  visibility and may leave some enabled keys out: those stay labelled with their id.

Anthropic (API reference, "List Workspaces" platform.claude.com/docs/en/api/admin/workspaces/list and "List API
Keys" platform.claude.com/docs/en/api/admin/api_keys/list; x-api-key Admin key, anthropic-version):
- GET /v1/organizations/workspaces?limit=100&include_archived=true[&after_id=<last_id>]: {"data": [{"type":
  "workspace", "id": "wrkspc_…", "name", "created_at", "archived_at" (RFC 3339 or null), "display_color"}],
  "first_id", "last_id", "has_more"}. The default workspace is not listed (include_default is false by
  default); usage reports it with workspace_id null.
- GET /v1/organizations/api_keys?limit=100[&after_id=<last_id>]: {"data": [{"type": "api_key", "id":
  "apikey_…", "name", "workspace_id" (null: default workspace), "status": "active" | "inactive" | "archived"
  | "expired", "partial_key_hint", "created_at", "created_by"}], "first_id", "last_id", "has_more"}.

Listing names is best effort: a key that may read usage but not list projects (HTTP 403 on these endpoints)
still syncs, labelled with ids, and the run says so."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from providers.client import ApiClient, ProviderError

PAGE = 100  # OpenAI allows 1-100 per page, Anthropic 1-1000


@dataclass
class Names:
    """Ids -> names as the provider lists them, and what could not be listed."""

    scopes: dict[str, str] = field(default_factory=dict)  # project/workspace id -> name
    archived: set[str] = field(default_factory=set)  # archived project/workspace ids
    keys: dict[str, str] = field(default_factory=dict)  # API key id -> name
    key_scopes: dict[str, str] = field(default_factory=dict)  # API key id -> its project/workspace id
    problems: list[str] = field(default_factory=list)  # what could not be listed, for the run's messages
    remedy: str = ""
    error: ProviderError | None = None  # the first failure (its kind says whether the key itself was refused)
    renamed: bool = False  # set by the sync: a stored name changed, loaded rows are relabelled

    @property
    def complete(self) -> bool:
        return not self.problems


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def parse_scopes(items: Iterable[Mapping[str, Any]]) -> tuple[dict[str, str], set[str]]:
    """(id -> name, archived ids) of OpenAI projects or Anthropic workspaces (pure)."""
    names: dict[str, str] = {}
    archived: set[str] = set()
    for item in items:
        scope_id = _text(item.get("id"))
        if not scope_id:
            continue
        names[scope_id] = _text(item.get("name"))
        if item.get("archived_at") or item.get("status") == "archived":
            archived.add(scope_id)
    return names, archived


def parse_keys(items: Iterable[Mapping[str, Any]], *, scope_id: str = "") -> tuple[dict[str, str], dict[str, str]]:
    """(key id -> name, key id -> project/workspace id) of API keys (pure). Anthropic keys carry their
    workspace_id; OpenAI keys are listed per project (`scope_id`)."""
    names: dict[str, str] = {}
    scopes: dict[str, str] = {}
    for item in items:
        key_id = _text(item.get("id"))
        if not key_id:
            continue
        names[key_id] = _text(item.get("name"))
        scopes[key_id] = scope_id or _text(item.get("workspace_id"))
    return names, scopes


def _note(names: Names, what: str, exc: ProviderError) -> None:
    status = f"HTTP {exc.status}" if exc.status else exc.kind
    names.problems.append(f"{what} could not be listed ({status}): {exc.message}")
    if names.error is None:
        names.error = exc
        names.remedy = exc.remedy


def fetch_openai_names(client: ApiClient) -> Names:
    names = Names()
    try:
        projects = list(
            client.listing("/v1/organization/projects", {"limit": PAGE, "include_archived": "true"}, cursor="after")
        )
    except ProviderError as exc:
        _note(names, "Project names", exc)
        return names
    names.scopes, names.archived = parse_scopes(projects)
    for project_id in names.scopes:
        try:
            keys = client.listing(f"/v1/organization/projects/{project_id}/api_keys", {"limit": PAGE}, cursor="after")
            key_names, key_scopes = parse_keys(keys, scope_id=project_id)
        except ProviderError as exc:
            _note(names, f"API key names of project {project_id}", exc)
            if exc.kind in ("bad_key", "no_admin_scope"):
                break  # every other project would answer the same
            continue
        names.keys.update(key_names)
        names.key_scopes.update(key_scopes)
    return names


def fetch_anthropic_names(client: ApiClient) -> Names:
    names = Names()
    try:
        workspaces = client.listing(
            "/v1/organizations/workspaces", {"limit": PAGE, "include_archived": "true"}, cursor="after_id"
        )
        names.scopes, names.archived = parse_scopes(workspaces)
    except ProviderError as exc:
        _note(names, "Workspace names", exc)
        if exc.kind == "bad_key":
            return names
    try:
        keys = client.listing("/v1/organizations/api_keys", {"limit": PAGE}, cursor="after_id")
        names.keys, names.key_scopes = parse_keys(keys)
    except ProviderError as exc:
        _note(names, "API key names", exc)
    return names


FETCHERS = {"openai": fetch_openai_names, "anthropic": fetch_anthropic_names}


def fetch_names(kind: str, client: ApiClient) -> Names:
    """Every name this key may list; failures are collected in `problems`, never raised."""
    return FETCHERS[kind](client)
