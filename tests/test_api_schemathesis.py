"""schemathesis over the whole API: the app on pytest-django's live server, its OpenAPI schema loaded from there,
and generated requests (valid ones, and invalid ones) sent to every operation with a valid Bearer token for a
tenant that has data. No answer may be a server error, and every answer must match the schema.

Kept to well under a minute: a fixed number of examples per operation, derandomized, no shrinking."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

from connections.models import AwsConnection, Membership, Tenant
from connections.services import api_token_create
from ingestion.services import import_cur, import_invocation_logs
from recommendations.models import Recommendation
from tests.fixtures import make_fixtures as mf

# The live server reads committed data. No serialized_rollback: the API does not need the price catalog (requests
# without prices are imported as unpriced), and on PostgreSQL restoring it after an earlier transactional test's
# flush collides with the content types that flush re-created.
pytestmark = [pytest.mark.django_db(transaction=True)]

CHECKS = [not_a_server_error, response_schema_conformance]
EXAMPLES = {GenerationMode.POSITIVE: 12, GenerationMode.NEGATIVE: 4}  # per operation, on the tenant with data
ANYWHERE = 3  # per operation with generated path parameters too (mostly other tenants: 404s)
MINE = ("/api/v1/ledger/", "/api/v1/explore/", "/api/v1/recommendations/", "/api/v1/connections/")


@pytest.fixture
def world(tenant: Tenant, tenant_admin: Any) -> dict[str, Any]:
    """A tenant with a few months of real-format data, a card and a connection; an admin's token for it."""
    import_invocation_logs(
        tenant=tenant, paths=[mf.LOG_DIR / "invocations.jsonl", mf.LOG_DIR / "reconcile-2026-08.jsonl"]
    )
    import_cur(
        tenant=tenant,
        paths=[mf.CUR_DIR / "cur2-bedrock-2026-06.csv", mf.CUR_DIR / "cur2-bedrock-2026-08-reconcile.csv"],
    )
    card = Recommendation.objects.create(
        tenant=tenant, kind="model_routing", fingerprint="fp", title="Route it", monthly_savings_usd=Decimal("12.5")
    )
    connection = AwsConnection.objects.create(tenant=tenant, name="prod", account_id="111122223333")
    assert Membership.objects.filter(user=tenant_admin, tenant=tenant, role="admin").exists()
    _, token = api_token_create(user=tenant_admin, name="schemathesis", tenant=tenant)
    return {
        "token": token,
        "path": {"tenant_slug": tenant.slug, "card_id": card.pk, "connection_id": connection.pk},
    }


def _run(operation: Any, strategy: Any, examples: int, call: Callable[[Any], None]) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        call(case)

    run()


def test_no_operation_answers_a_server_error_or_off_schema(live_server: Any, world: dict[str, Any]) -> None:
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    http = requests.Session()
    headers = {"Authorization": f"Bearer {world['token']}"}
    seen: dict[str, set[int]] = {}

    def call(case: Any) -> None:
        response = case.call(base_url=live_server.url, session=http, headers=headers)
        seen.setdefault(case.operation.label, set()).add(response.status_code)
        case.validate_response(response, checks=CHECKS, headers=headers)

    for operation in operations:
        names = {p.name for p in operation.path_parameters}
        fixed = {k: v for k, v in world["path"].items() if k in names}
        for mode, examples in EXAMPLES.items():
            strategy = operation.as_strategy(generation_mode=mode, path_parameters=fixed)
            try:
                _run(operation, strategy, examples, call)
            except Unsatisfiable:
                # Nothing to make invalid (an operation without parameters): the positive cases cover it.
                assert mode == GenerationMode.NEGATIVE, operation.label
        if names:
            _run(operation, operation.as_strategy(), ANYWHERE, call)

    # The run reached the data: each read of the ledger, explorer, recommendation and connection routers answered
    # 200 at least once (other routers' reads may need ids this test does not make).
    reads = [op.label for op in operations if op.method.upper() == "GET" and op.path.startswith(MINE)]
    assert len(reads) >= 12
    assert [label for label in reads if 200 not in seen.get(label, set())] == [], seen
