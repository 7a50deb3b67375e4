"""Saved explorer views: a user's named query strings, per tenant."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from connections.models import Tenant

NAME_MAX = 100
QUERYSTRING_MAX = 8000


class SavedView(models.Model):
    """A name for an explorer view. Only the query string is kept: opening it re-reads the ledger, and a
    query string that no longer parses (a dimension renamed) still opens, with the problem said in words."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="saved_views")
    name = models.CharField(max_length=NAME_MAX)
    querystring = models.TextField(max_length=QUERYSTRING_MAX, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "tenant", "name"], name="uniq_saved_view_name"),
        ]

    def __str__(self) -> str:
        return self.name
