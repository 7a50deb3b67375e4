"""Budgets: create, change and delete them (audited), and evaluate them: every threshold crossed alerts once per
period, to the budget's emails and webhooks and, if it says so, the tenant's alert channels."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction

from budgets import selectors
from budgets.models import Budget, BudgetAlert
from budgets.scope import mask_url, mask_urls
from budgets.selectors import BASIS_WORDS, BudgetStatus, ThresholdState, budget_status, budgets_for, known_dates
from connections.alerts import _post_webhook, alerts_send
from connections.models import Tenant
from connections.services import audit_log_record

logger = logging.getLogger(__name__)
EDITABLE = ("name", "amount_usd", "period", "basis", "scope", "thresholds", "emails", "webhooks", "use_tenant_channels")
Actor = AbstractBaseUser | AnonymousUser | None


# --- create, change, delete -------------------------------------------------------------------------------------


def _validated(budget: Budget) -> None:
    """Model validation (scope, thresholds, channels, amount, unique name) with messages in words."""
    budget.full_clean(exclude=["created_by"])


def budget_create(*, tenant: Tenant, actor: Actor, **values: Any) -> Budget:
    """A new budget; ValidationError (messages per field) when a value is wrong."""
    unknown = set(values) - set(EDITABLE)
    if unknown:
        raise ValidationError(f"Unknown budget fields: {', '.join(sorted(unknown))}.")
    user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    budget = Budget(tenant=tenant, created_by=user, **values)
    _validated(budget)
    with transaction.atomic():
        budget.save()
        audit_log_record(
            tenant=tenant,
            actor=actor,
            action="budget.created",
            target=budget.name,
            details={"budget_id": budget.pk, **_audit_values(budget)},
        )
    return budget


def budget_update(*, budget: Budget, actor: Actor, **values: Any) -> Budget:
    """Change some of a budget's fields; audited with what changed."""
    unknown = set(values) - set(EDITABLE)
    if unknown:
        raise ValidationError(f"Unknown budget fields: {', '.join(sorted(unknown))}.")
    before = _audit_values(budget)
    for name, value in values.items():
        setattr(budget, name, value)
    _validated(budget)
    after = _audit_values(budget)
    changed = sorted(k for k in after if after[k] != before[k])
    with transaction.atomic():
        budget.save()
        audit_log_record(
            tenant=budget.tenant,
            actor=actor,
            action="budget.changed",
            target=budget.name,
            details={"budget_id": budget.pk, "fields": changed, **{k: after[k] for k in changed}},
        )
    return budget


def budget_delete(*, budget: Budget, actor: Actor) -> None:
    with transaction.atomic():
        audit_log_record(
            tenant=budget.tenant,
            actor=actor,
            action="budget.deleted",
            target=budget.name,
            details={"budget_id": budget.pk, "alerts": budget.alerts.count(), **_audit_values(budget)},
        )
        budget.delete()


def _audit_values(budget: Budget) -> dict[str, Any]:
    values = {name: getattr(budget, name) for name in EDITABLE}
    values["amount_usd"] = str(values["amount_usd"])
    return values


# --- evaluation ---------------------------------------------------------------------------------------------------


@dataclass
class Evaluation:
    """A budget's status on a day and the alerts this run sent for it."""

    status: BudgetStatus
    alerts_sent: list[BudgetAlert] = field(default_factory=list)

    @property
    def budget(self) -> Budget:
        return self.status.budget

    def as_dict(self) -> dict[str, Any]:
        s, f = self.status, self.status.forecast
        return {
            "budget_id": self.budget.pk,
            "name": self.budget.name,
            "period": self.budget.period,
            "period_start": s.period_start.isoformat(),
            "period_end": s.period_end.isoformat(),
            "basis": self.budget.basis,
            "amount_usd": _money(self.budget.amount_usd),
            "actual_usd": _money(s.actual_usd),
            "forecast_usd": _money(f.total),
            "forecast_low_usd": _money(f.low),
            "forecast_high_usd": _money(f.high),
            "known_through": s.known_through.isoformat() if s.known_through else None,
            "status": s.status,
            "thresholds_crossed": [{"kind": t.kind, "pct": t.pct} for t in s.crossed],
            "alerts_sent": [{"kind": a.kind, "pct": a.pct, "deliveries": a.deliveries} for a in self.alerts_sent],
        }


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(Decimal("0.01")))


def budgets_evaluate(tenant: Tenant, as_of: date | None = None) -> list[Evaluation]:
    """Every budget of the tenant on `as_of` (default today); each threshold crossed for the first time in the
    period alerts now. Safe to run any number of times, also concurrently."""
    as_of = selectors.as_of_checked(as_of) or selectors.today()
    dates = known_dates(tenant=tenant)
    out = []
    for budget in budgets_for(tenant=tenant):
        status = budget_status(budget=budget, as_of=as_of, dates=dates)
        sent = [alert for t in status.crossed if (alert := _alert(status, t)) is not None]
        out.append(Evaluation(status, sent))
    return out


def alert_text(status: BudgetStatus, threshold: ThresholdState) -> tuple[str, str]:
    """The alert's subject and text."""
    budget, f = status.budget, status.forecast
    amount = f"${budget.amount_usd:,.2f}"
    if threshold.kind == "actual":
        subject = f"Budget {budget.name}: {threshold.pct}% of {amount} spent ({status.period_label})"
        headline = f"Spent ${status.actual_usd:,.2f} of {amount}, {status.pct_used:.0f}% of the budget"
    else:
        subject = f"Budget {budget.name}: forecast at {threshold.pct}% of {amount} ({status.period_label})"
        headline = f"Forecast ${f.total:,.2f} by {status.period_end:%d %b}, {status.forecast_pct:.0f}% of {amount}"
    lines = [
        f"{headline} ({threshold.kind} threshold {threshold.pct}%, {status.period_label}).",
        f"Scope: {budget.scope_words}; counting {BASIS_WORDS[budget.basis]}.",
        f"Spent so far: ${status.actual_usd:,.2f} (data through {status.known_through or 'none yet'}).",
    ]
    if f.total is not None:
        band = f"p10-p90 ${f.low:,.2f}-${f.high:,.2f}"
        lines.append(f"Forecast to {status.period_end:%d %b %Y}: ${f.total:,.2f} ({band}).")
    return subject, "\n".join(lines)


def _alert(status: BudgetStatus, threshold: ThresholdState) -> BudgetAlert | None:
    """Claim the (budget, period, kind, pct) alert, then send it. The claim is an insert under a unique
    constraint, so a second run (or a concurrent one) finds it taken and sends nothing."""
    budget = status.budget
    subject, text = alert_text(status, threshold)
    try:
        with transaction.atomic():
            alert = BudgetAlert.objects.create(
                budget=budget,
                period_start=status.period_start,
                kind=threshold.kind,
                pct=threshold.pct,
                actual_usd=status.actual_usd,
                forecast_usd=status.forecast_usd,
                message=f"{subject}\n{text}",
            )
    except IntegrityError:
        return None
    alert.deliveries = _deliver(budget, subject, text)
    alert.save(update_fields=["deliveries"])
    audit_log_record(
        tenant=budget.tenant,
        action="budget.alert",
        target=budget.name,
        details={
            "budget_id": budget.pk,
            "period_start": status.period_start.isoformat(),
            "kind": threshold.kind,
            "pct": threshold.pct,
            "actual_usd": _money(status.actual_usd),
            "forecast_usd": _money(status.forecast_usd),
            "deliveries": alert.deliveries,
        },
    )
    return alert


def _deliver(budget: Budget, subject: str, text: str) -> list[dict[str, Any]]:
    """Send to every channel; one that fails is recorded and never stops the others."""
    out: list[dict[str, Any]] = []
    for address in budget.emails or []:
        out.append(_attempt(f"Email: {address}", lambda a=address: _email(a, subject, text)))
    for url in budget.webhooks or []:
        out.append(_attempt(f"Webhook: {mask_url(url)}", lambda u=url: _post_webhook(u, f"*{subject}*\n{text}")))
    if budget.use_tenant_channels:
        try:
            sent = alerts_send(tenant=budget.tenant, subject=subject, text=text, kind="budget")
        except Exception as exc:  # the tenant's channels failing as a whole must not lose the budget's own ones
            logger.warning("tenant alert channels failed for budget %s: %s", budget.pk, exc)
            out.append({"channel": "Tenant alert channels", "ok": False, "error": str(exc)[:300]})
        else:
            out += [{"channel": mask_urls(s.channel), "ok": s.ok, "error": mask_urls(s.error)} for s in sent]
    return out


def _email(address: str, subject: str, text: str) -> None:
    send_mail(subject, text, settings.DEFAULT_FROM_EMAIL, [address])


def _attempt(channel: str, send: Any) -> dict[str, Any]:
    try:
        send()
    except Exception as exc:  # any failure of one channel (SMTP, HTTP, DNS, timeout) is recorded, never raised
        logger.warning("budget alert to %s failed: %s", channel, exc)
        return {"channel": channel, "ok": False, "error": mask_urls(str(exc))[:300]}
    return {"channel": channel, "ok": True, "error": ""}
