"""Declare every schedule (connection syncs, prices, recommendations, budgets) idempotently: the same as
setup_schedules, under the name the sync runbooks use."""

from __future__ import annotations

from ingestion.management.commands.setup_schedules import Command as SetupSchedules


class Command(SetupSchedules):
    pass
