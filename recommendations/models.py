"""Recommendation cards, one per tenant and finding (fingerprint), with their lifecycle."""

from __future__ import annotations

from decimal import Decimal

from django.db import models

from connections.models import Tenant
from finops.ledger.models import MONEY


class Recommendation(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACCEPTED = "accepted", "Accepted"
        DISMISSED = "dismissed", "Dismissed"
        RESOLVED = "resolved", "Resolved (the pattern stopped)"

    class Kind(models.TextChoices):
        MODEL_ROUTING = "model_routing", "Model routing"
        PROMPT_CACHING = "prompt_caching", "Prompt caching"
        PROVISIONED_IDLE = "provisioned_idle", "Idle provisioned throughput"
        PROVISIONED_BREAK_EVEN = "provisioned_break_even", "Provisioned throughput break-even"
        DEPRECATED_MODEL = "deprecated_model", "Deprecated model"
        CACHE_WRITE_BURN = "cache_write_burn", "Cache write burn"
        ANOMALY = "anomaly", "Anomaly"
        RESTATEMENT = "restatement", "Restated bill"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="recommendations")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    anomaly_type = models.CharField(max_length=20, blank=True)
    fingerprint = models.CharField(max_length=120)
    title = models.CharField(max_length=300)
    scope = models.JSONField(default=dict, blank=True)
    monthly_savings_usd = models.DecimalField(**MONEY, null=True, blank=True)
    monthly_impact_usd = models.DecimalField(**MONEY, null=True, blank=True)
    confidence = models.CharField(max_length=8, default="medium")
    evidence = models.JSONField(default=dict, blank=True)
    math = models.TextField(blank=True)
    action = models.TextField(blank=True)
    snippet = models.TextField(blank=True)
    chart = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    dismissed_reason = models.TextField(blank=True)
    dismissed_value_usd = models.DecimalField(**MONEY, null=True, blank=True, help_text="Its value when dismissed.")
    accepted_at = models.DateTimeField(null=True, blank=True)
    baseline_daily_usd = models.DecimalField(
        **MONEY, null=True, blank=True, help_text="The scope's daily cost in the 14 days before it was accepted."
    )
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now_add=True)
    status_changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "fingerprint"], name="uniq_recommendation_fingerprint")
        ]
        indexes = [models.Index(fields=["tenant", "status"], name="rec_tenant_status")]
        ordering = ["-monthly_savings_usd", "-monthly_impact_usd", "-id"]

    def __str__(self) -> str:
        return self.title

    @property
    def value_usd(self) -> Decimal:
        """What the card is worth per month: its savings, else its impact."""
        if self.monthly_savings_usd is not None:
            return self.monthly_savings_usd
        return self.monthly_impact_usd or Decimal(0)
