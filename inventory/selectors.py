"""Reads over the inventory, always scoped by tenant."""

from __future__ import annotations

from django.db.models import QuerySet

from connections.models import Tenant
from inventory.models import FoundationModel, InferenceProfile, ProvisionedThroughput

ACTIVE, LEGACY = "ACTIVE", "LEGACY"


def model_lifecycles(*, tenant: Tenant) -> dict[tuple[str, str], str]:
    """(region, catalog model id) -> ACTIVE or LEGACY, from the foundation models the tenant's accounts list
    there now. A model is LEGACY in a region only when every listing of it (each account, each context
    variant such as `:200k`) says so; one ACTIVE listing keeps it ACTIVE."""
    found: dict[tuple[str, str], set[str]] = {}
    rows = FoundationModel.objects.filter(tenant=tenant, gone_at=None).exclude(catalog_model_id="")
    for region, model_id, lifecycle in rows.values_list("region", "catalog_model_id", "lifecycle"):
        if lifecycle in (ACTIVE, LEGACY):
            found.setdefault((region, model_id), set()).add(lifecycle)
    return {key: LEGACY if states == {LEGACY} else ACTIVE for key, states in found.items()}


def inference_profiles(*, tenant: Tenant, present: bool = True) -> QuerySet[InferenceProfile]:
    profiles = InferenceProfile.objects.filter(tenant=tenant)
    return profiles.filter(gone_at=None) if present else profiles


def provisioned_throughputs(*, tenant: Tenant, present: bool = True) -> QuerySet[ProvisionedThroughput]:
    items = ProvisionedThroughput.objects.filter(tenant=tenant)
    return items.filter(gone_at=None) if present else items
