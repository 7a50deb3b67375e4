"""Deletion requests: a tenant's "delete our data", held for a grace period (when it can be cancelled), then
executed once by the nightly job, with the counts of what went as its receipt."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q

from connections.models import Tenant


class DeletionRequest(models.Model):
    class Scope(models.TextChoices):
        BEFORE = "before", "Data from before a date"
        ALL = "all", "All data, connections and memberships"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="deletion_requests")
    scope = models.CharField(max_length=8, choices=Scope.choices)
    before = models.DateField(null=True, blank=True, help_text="Scope before: data of usage dates before this day.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_by_label = models.CharField(max_length=150, help_text='The user name at the time, or "system".')
    reason = models.CharField(max_length=500, blank=True)
    requested_at = models.DateTimeField()
    due_at = models.DateTimeField(help_text="Executed by the nightly job from this time on (end of the grace period).")
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by_label = models.CharField(max_length=150, blank=True)
    started_at = models.DateTimeField(null=True, blank=True, help_text="When an execution claimed the request.")
    executed_at = models.DateTimeField(null=True, blank=True)
    receipt = models.JSONField(default=dict, blank=True, help_text="Rows deleted per kind of data.")

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant"],
                condition=Q(cancelled_at__isnull=True, executed_at__isnull=True),
                name="uniq_pending_deletion_per_tenant",
                violation_error_message="This tenant already has a pending deletion request.",
            ),
            models.CheckConstraint(
                condition=Q(scope="all", before__isnull=True) | Q(scope="before", before__isnull=False),
                name="deletion_scope_has_date",
            ),
        ]

    def __str__(self) -> str:
        what = "all data" if self.scope == self.Scope.ALL else f"data before {self.before}"
        return f"{self.tenant} – {what} ({self.state})"

    @property
    def state(self) -> str:
        if self.executed_at is not None:
            return "executed"
        if self.cancelled_at is not None:
            return "cancelled"
        if self.started_at is not None:
            return "running"
        return "pending"

    @property
    def pending(self) -> bool:
        return self.state == "pending"

    def is_due(self, now: datetime) -> bool:
        return self.pending and self.due_at <= now
