"""Writes to the inventory: what one read of an account and region found replaces what the last one did."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction

from connections.models import AwsConnection
from inventory.models import InventoryItem, LoggingConfiguration


@dataclass
class Upserted:
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    gone: int = 0

    @property
    def written(self) -> int:
        return self.added + self.changed + self.gone


def inventory_upsert(
    *,
    model: type[InventoryItem],
    connection: AwsConnection,
    account_id: str,
    region: str,
    key: str,
    items: list[dict[str, Any]],
    seen_at: datetime,
) -> Upserted:
    """Create or update one kind of resource as a complete listing found it (`key` names the field that
    identifies an item, e.g. `arn`); those of the account and region it did not list are marked gone (kept,
    with `gone_at`), and one listed again is present again. A value of None leaves the stored one as it is
    (something that could not be read this time, e.g. a profile's tags)."""
    result = Upserted()
    with transaction.atomic():
        existing = {
            getattr(obj, key): obj
            for obj in model.objects.select_for_update().filter(
                connection=connection, account_id=account_id, region=region
            )
        }
        for item in items:
            values = {name: value for name, value in item.items() if value is not None}
            obj = existing.pop(item[key], None)
            if obj is None:
                model.objects.create(
                    tenant=connection.tenant,
                    connection=connection,
                    account_id=account_id,
                    region=region,
                    last_seen_at=seen_at,
                    **values,
                )
                result.added += 1
                continue
            changed = obj.gone_at is not None or any(getattr(obj, name) != value for name, value in values.items())
            for name, value in values.items():
                setattr(obj, name, value)
            obj.gone_at = None
            obj.last_seen_at = seen_at
            obj.save()
            if changed:
                result.changed += 1
            else:
                result.unchanged += 1
        for obj in existing.values():
            if obj.gone_at is None:
                obj.gone_at = seen_at
                obj.save(update_fields=["gone_at"])
                result.gone += 1
    return result


def logging_configuration_save(
    *, connection: AwsConnection, account_id: str, region: str, values: dict[str, Any], seen_at: datetime
) -> bool:
    """Store the region's logging configuration; True when it changed (or is new)."""
    obj = LoggingConfiguration.objects.filter(connection=connection, account_id=account_id, region=region).first()
    if obj is None:
        LoggingConfiguration.objects.create(
            tenant=connection.tenant,
            connection=connection,
            account_id=account_id,
            region=region,
            last_seen_at=seen_at,
            **values,
        )
        return True
    changed = any(getattr(obj, name) != value for name, value in values.items())
    for name, value in values.items():
        setattr(obj, name, value)
    obj.last_seen_at = seen_at
    obj.gone_at = None
    obj.save()
    return changed
