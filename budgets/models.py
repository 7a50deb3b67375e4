"""Budgets (a scope of spend, an amount per month or quarter, thresholds, channels) and the alerts they sent."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, ProhibitNullCharactersValidator
from django.db import models

from budgets import scope as scope_rules
from connections.models import Tenant
from finops.explorer.query import DimFilter


class Budget(models.Model):
    class Period(models.TextChoices):
        MONTHLY = "monthly", "Monthly"
        QUARTERLY = "quarterly", "Quarterly"

    class Basis(models.TextChoices):
        ALLOCATED = "allocated", "Allocated (billed dollars shared out to requests)"
        BILLED = "billed", "Billed (CUR)"
        ESTIMATED = "estimated", "Estimated (requests at list price)"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="budgets")
    name = models.CharField(max_length=200, validators=[ProhibitNullCharactersValidator()])
    scope = models.JSONField(
        default=list,
        blank=True,
        help_text='Explorer filters, e.g. [{"dimension": "team", "values": ["search"], "exclude": false}]; '
        "empty for all of the tenant's spend.",
    )
    basis = models.CharField(
        max_length=16,
        choices=Basis.choices,
        default=Basis.ALLOCATED,
        help_text="Allocated suits team, user and application budgets: the bill (CUR) rarely names them, so their "
        "billed dollars only reach them once allocated to their requests. Billed suits account and model budgets, "
        "which the bill names directly. Estimated counts requests at list price (before the bill arrives).",
    )
    amount_usd = models.DecimalField(
        "amount (USD)",
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"), message="The amount must be more than $0.")],
    )
    period = models.CharField(max_length=16, choices=Period.choices, default=Period.MONTHLY)
    thresholds = models.JSONField(
        default=scope_rules.default_thresholds,
        blank=True,
        help_text="Percent of the amount that alerts, on the actual spend or on the forecast, e.g. "
        '[{"kind": "actual", "pct": 80}, {"kind": "forecast", "pct": 100}]. Each alerts once per period.',
    )
    emails = models.JSONField(default=list, blank=True, help_text='Email addresses, e.g. ["finops@example.com"].')
    webhooks = models.JSONField(
        default=list, blank=True, help_text='Slack-compatible incoming webhooks (https), e.g. ["https://hooks..."].'
    )
    use_tenant_channels = models.BooleanField(
        "also alert the tenant's channels",
        default=True,
        help_text="Send the alerts to the tenant's alert channels too.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tenant", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "name"],
                name="uniq_budget_tenant_name",
                violation_error_message="This tenant already has a budget with this name: choose another name.",
            ),
            models.CheckConstraint(
                condition=models.Q(amount_usd__gt=0),
                name="budget_amount_positive",
                violation_error_message="The amount must be more than $0.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        for name, rule in (
            ("scope", scope_rules.scope_clean),
            ("thresholds", scope_rules.thresholds_clean),
            ("emails", scope_rules.emails_clean),
            ("webhooks", scope_rules.webhooks_clean),
        ):
            try:
                setattr(self, name, rule(getattr(self, name)))
            except ValidationError as exc:
                errors[name] = exc.messages
        if errors:
            raise ValidationError(errors)

    @property
    def filters(self) -> tuple[DimFilter, ...]:
        return scope_rules.scope_filters(self.scope or [])

    @property
    def scope_words(self) -> str:
        return scope_rules.scope_words(self.scope or [])


class BudgetAlert(models.Model):
    """One threshold crossed in one period. The unique constraint is what makes "once per period" hold when two
    evaluations race: the second insert fails and sends nothing."""

    class Kind(models.TextChoices):
        ACTUAL = "actual", "Actual"
        FORECAST = "forecast", "Forecast"

    budget = models.ForeignKey(Budget, on_delete=models.CASCADE, related_name="alerts")
    period_start = models.DateField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    pct = models.PositiveIntegerField()
    sent_at = models.DateTimeField(auto_now_add=True)
    actual_usd = models.DecimalField(max_digits=20, decimal_places=10)
    forecast_usd = models.DecimalField(max_digits=20, decimal_places=10, null=True, blank=True)
    message = models.TextField()
    deliveries = models.JSONField(default=list, blank=True)  # [{"channel": ..., "ok": bool, "error": ...}]

    class Meta:
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["budget", "period_start", "kind", "pct"], name="uniq_budget_alert_once"),
        ]

    def __str__(self) -> str:
        return f"{self.budget} {self.kind} {self.pct}% ({self.period_start:%Y-%m})"

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [d for d in self.deliveries or [] if not d.get("ok")]
