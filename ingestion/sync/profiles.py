"""What the inventory tells the ledger: the model behind each application inference profile (and provisioned
model) ARN, and the profile's tags.

* The ARN becomes a catalog alias of its model (ModelAlias kind "inference profile"), so requests that name
  the ARN as their modelId resolve and are priced; when an alias is new or changed the tenant's requests are
  re-priced (finops.ledger.services.ledger_reprice, audited, then reconciled).
* Bill lines and metric buckets that carry the ARN but no model get the profile's model.
* Requests and bill lines that carry the ARN get the attribution columns (team, application, ...) they lack
  from the profile's tags, through the tenant's tag mapping, as CUR resource tags would give them.

Rows are changed with the daily rollup, in one transaction per batch."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import Q

from connections.models import AwsConnection
from finops.ledger.catalog import Catalog
from finops.ledger.models import ModelAlias, SpendEvent
from finops.ledger.rollups import RAW_FIELDS, rollup_apply
from finops.ledger.services import catalog_alias_set, ledger_reconcile, ledger_reprice
from ingestion.normalize import map_dimensions
from inventory.models import InferenceProfile, ProvisionedThroughput

BATCH = 2000
MODEL_FIELDS = ("model_id", "model_family", "model_tier", "model_provider", "model_ref")


@dataclass
class Resolution:
    aliases_changed: int = 0
    requests_repriced: int = 0
    estimated_before: str = ""
    estimated_after: str = ""
    models_filled: int = 0
    attribution_filled: int = 0
    periods: set[date] = field(default_factory=set)

    def as_dict(self) -> dict[str, Any]:
        return {
            "aliases_changed": self.aliases_changed,
            "requests_repriced": self.requests_repriced,
            "estimated_before": self.estimated_before,
            "estimated_after": self.estimated_after,
            "models_filled": self.models_filled,
            "attribution_filled": self.attribution_filled,
        }


def tag_dimensions(mapping: Mapping[str, list[str]], tags: Mapping[str, str]) -> dict[str, str]:
    """Attribution columns from a resource's tags: the tag as it is named on the resource, and as CUR names a
    resource tag (`resourceTags/user_<key>`, `user_<key>`), so one tag mapping serves both."""
    return map_dimensions(
        mapping,
        tags,
        {f"resourceTags/user_{k}": v for k, v in tags.items()},
        {f"user_{k}": v for k, v in tags.items()},
    )


def _changed_rows(rows: Iterable[SpendEvent], values_for: Any, fields: tuple[str, ...], tenant_id: int) -> int:
    """Set each row's new values (values_for(row) -> dict, empty for none) and move the rollup with them."""
    changed: list[SpendEvent] = []
    before: list[dict[str, Any]] = []
    for row in rows:
        values = {k: v for k, v in values_for(row).items() if getattr(row, k) != v}
        if not values:
            continue
        before.append({name: getattr(row, name) for name in RAW_FIELDS})
        for name, value in values.items():
            setattr(row, name, value)
        changed.append(row)
    if changed:
        with transaction.atomic():
            SpendEvent.objects.bulk_update(changed, list(fields), batch_size=BATCH)
            rollup_apply(
                tenant_id=tenant_id, removed=before, added=[{n: getattr(r, n) for n in RAW_FIELDS} for r in changed]
            )
    return len(changed)


def _batches(queryset: Any) -> Iterable[list[SpendEvent]]:
    last_id = 0
    while True:
        batch = list(queryset.filter(id__gt=last_id).order_by("id")[:BATCH])
        if not batch:
            return
        last_id = batch[-1].id
        yield batch


def fill_models(*, tenant_id: int, models: Mapping[str, str], catalog: Catalog) -> tuple[int, set[date]]:
    """Bill lines and metric buckets naming one of these ARNs (ARN -> catalog model id) but no model."""
    filled, periods = 0, set()
    rows = SpendEvent.objects.filter(
        tenant_id=tenant_id,
        record_kind__in=[SpendEvent.RecordKind.BILLED_LINE, SpendEvent.RecordKind.METRIC],
        inference_profile_arn__in=list(models),
        model_id="",
    )

    def values(row: SpendEvent) -> dict[str, str]:
        model = catalog.models.get(models[row.inference_profile_arn])
        if model is None:
            return {}
        return {"model_id": model.model_id, "model_family": model.family, "model_tier": model.tier,
                "model_provider": model.provider, "model_ref": ""}  # fmt: skip

    for batch in _batches(rows):
        filled += _changed_rows(batch, values, MODEL_FIELDS, tenant_id)
        periods.update(r.billing_period for r in batch if r.record_kind == SpendEvent.RecordKind.BILLED_LINE)
    return filled, periods


def fill_attribution(*, tenant_id: int, dimensions: Mapping[str, dict[str, str]]) -> int:
    """Requests and bill lines naming a profile ARN get the dimensions (ARN -> {column: value}) they lack."""
    filled = 0
    for arn, dims in dimensions.items():
        if not dims:
            continue
        lacking = Q()
        for column in dims:
            lacking |= Q(**{column: ""})
        rows = SpendEvent.objects.filter(
            lacking,
            tenant_id=tenant_id,
            record_kind__in=[SpendEvent.RecordKind.REQUEST, SpendEvent.RecordKind.BILLED_LINE],
            inference_profile_arn=arn,
        )
        for batch in _batches(rows):
            filled += _changed_rows(
                batch, lambda row, d=dims: {k: v for k, v in d.items() if not getattr(row, k)}, tuple(dims), tenant_id
            )
    return filled


def resolve_from_inventory(*, connection: AwsConnection, account_id: str, region: str, catalog: Catalog) -> Resolution:
    """Apply this account and region's present profiles and provisioned models to the catalog and the ledger."""
    tenant = connection.tenant
    scope = {"connection": connection, "account_id": account_id, "region": region, "gone_at": None}
    profiles = list(InferenceProfile.objects.filter(**scope))
    provisioned = list(ProvisionedThroughput.objects.filter(**scope))
    models = {p.arn: p.catalog_model_id for p in [*profiles, *provisioned] if p.catalog_model_id}
    result = Resolution()
    for arn, model_id in models.items():
        result.aliases_changed += int(
            catalog_alias_set(model_id=model_id, alias=arn, kind=ModelAlias.Kind.INFERENCE_PROFILE, tenant=tenant)
        )
    if result.aliases_changed:
        from finops.ledger.selectors import catalog_load

        catalog = catalog_load()  # with the new aliases
        repriced = ledger_reprice(tenant=tenant)
        result.requests_repriced = repriced.changed
        result.estimated_before, result.estimated_after = str(repriced.before_usd), str(repriced.after_usd)
    result.models_filled, periods = fill_models(tenant_id=tenant.pk, models=models, catalog=catalog)
    mapping = tenant.tag_mapping
    dimensions = {p.arn: tag_dimensions(mapping, p.tags or {}) for p in profiles}
    result.attribution_filled = fill_attribution(tenant_id=tenant.pk, dimensions=dimensions)
    if periods:
        ledger_reconcile(tenant=tenant, periods=periods)  # bill lines moved to their model's bucket
        result.periods = periods
    return result
