"""Running the recommenders and keeping their cards: create, update, resolve, reopen, accept, dismiss.
Every change of a card is audited; new anomalies and new high-impact cards are announced on the
tenant's alert channels."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from connections.alerts import alerts_send
from connections.models import Tenant
from connections.services import audit_log_record
from recommendations.cards import Card
from recommendations.inputs import Inputs
from recommendations.models import Recommendation
from recommendations.recommenders import (
    anomaly,
    cache_write_burn,
    deprecated_model,
    model_routing,
    prompt_caching,
    provisioned,
    restatement,
)
from recommendations.selectors import latest_usage_date, recommender_inputs, scope_daily_cost

logger = logging.getLogger(__name__)
RECOMMENDERS: tuple[tuple[str, Callable[[Inputs], list[Card]]], ...] = (
    ("model_routing", model_routing.recommend),
    ("prompt_caching", prompt_caching.recommend),
    ("provisioned", provisioned.recommend),
    ("deprecated_model", deprecated_model.recommend),
    ("cache_write_burn", cache_write_burn.recommend),
    ("anomaly", anomaly.recommend),
    ("restatement", restatement.recommend),
)
REOPEN_FACTOR = Decimal(2)  # a dismissed card comes back only when its value has at least doubled
CARD_FIELDS = ("kind", "anomaly_type", "title", "scope", "monthly_savings_usd", "monthly_impact_usd", "confidence",
               "evidence", "math", "action", "snippet", "chart")  # fmt: skip


@dataclass
class RunResult:
    as_of: date | None
    cards: list[Card] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    resolved: int = 0
    reopened: int = 0
    errors: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def _values(card: Card) -> dict[str, Any]:
    values = {name: getattr(card, name) for name in CARD_FIELDS}
    values["title"] = values["title"][:300]
    return values


def _audit(
    tenant: Tenant, rec: Recommendation, action: str, actor: AbstractBaseUser | None = None, **extra: Any
) -> None:
    audit_log_record(
        tenant=tenant,
        actor=actor,
        action=f"recommendation.{action}",
        target=rec.title[:255],
        details={"fingerprint": rec.fingerprint, "kind": rec.kind, "value_usd": str(rec.value_usd), **extra},
    )


def _announce(tenant: Tenant, rec: Recommendation) -> None:
    threshold = Decimal(getattr(settings, "RECOMMENDATION_ALERT_USD", 100))
    if rec.kind != Recommendation.Kind.ANOMALY and rec.value_usd < threshold:
        return
    what = "Anomaly" if rec.kind == Recommendation.Kind.ANOMALY else "New recommendation"
    text = f"{rec.title}\n{rec.math}\nWhat to do: {rec.action}"
    try:
        alerts_send(tenant=tenant, subject=f"[{tenant.name}] {what}: {rec.title}"[:200], text=text, kind=rec.kind)
    except Exception:  # noqa: BLE001 - an alert never stops the run; the failure is logged and audited per channel
        logger.exception("alerts for %s failed", rec.fingerprint)


def _still_current(rec: Recommendation, as_of: date, window_days: int) -> bool:
    """An anomaly is about a day: it stays until that day leaves the window, found again or not."""
    day = (rec.evidence or {}).get("day")
    if rec.kind != Recommendation.Kind.ANOMALY or not day:
        return False
    return date.fromisoformat(day) > as_of - timedelta(days=window_days)


def store_cards(*, tenant: Tenant, cards: list[Card], as_of: date, window_days: int = 30) -> RunResult:
    """Upsert a run's cards by fingerprint; resolve the open ones the run no longer finds."""
    result = RunResult(as_of=as_of, cards=cards)
    now = timezone.now()
    seen: set[str] = set()
    announce: list[Recommendation] = []
    with transaction.atomic():
        existing = {r.fingerprint: r for r in Recommendation.objects.filter(tenant=tenant)}
        for card in cards:
            if card.fingerprint in seen:
                continue
            seen.add(card.fingerprint)
            rec = existing.get(card.fingerprint)
            if rec is None:
                rec = Recommendation.objects.create(tenant=tenant, fingerprint=card.fingerprint, **_values(card))
                _audit(tenant, rec, "generated")
                announce.append(rec)
                result.created += 1
                continue
            for name, value in _values(card).items():
                setattr(rec, name, value)
            rec.last_seen_at = now
            if rec.status == Recommendation.Status.RESOLVED or (
                rec.status == Recommendation.Status.DISMISSED
                and rec.dismissed_value_usd is not None
                and card.value_usd >= rec.dismissed_value_usd * REOPEN_FACTOR
                and card.value_usd > 0
            ):
                was = rec.status
                rec.status, rec.status_changed_at = Recommendation.Status.OPEN, now
                _audit(tenant, rec, "reopened", previous=was)
                announce.append(rec)
                result.reopened += 1
            rec.save()
            result.updated += 1
        for fingerprint, rec in existing.items():
            if fingerprint in seen or rec.status not in (Recommendation.Status.OPEN, Recommendation.Status.ACCEPTED):
                continue
            if _still_current(rec, as_of, window_days):
                continue
            rec.status, rec.status_changed_at = Recommendation.Status.RESOLVED, now
            rec.save(update_fields=["status", "status_changed_at"])
            _audit(tenant, rec, "resolved", reason="the pattern stopped: the last run did not find it")
            result.resolved += 1
    for rec in announce:
        _announce(tenant, rec)
    return result


ANOMALY_LOOKBACK_DAYS = 14


def anomaly_days(*, tenant: Tenant, as_of: date) -> list[date]:
    """The days to check for anomalies: since the last run's day (at most two weeks back)."""
    from connections.models import AuditLog

    last = (
        AuditLog.objects.filter(tenant=tenant, action="recommendations.run")
        .order_by("-id")
        .values_list("details", flat=True)
        .first()
    )
    earliest = as_of - timedelta(days=ANOMALY_LOOKBACK_DAYS - 1)
    start = earliest
    if last and last.get("as_of"):
        start = max(earliest, min(as_of, date.fromisoformat(last["as_of"]) + timedelta(days=1)))
    return [start + timedelta(days=k) for k in range((as_of - start).days + 1)]


def recommendations_run(*, tenant: Tenant, as_of: date | None = None, window_days: int = 30) -> RunResult:
    """Every recommender over the window that ends on `as_of` (default: the tenant's latest data)."""
    started = time.monotonic()
    as_of = as_of or latest_usage_date(tenant=tenant)
    if as_of is None:
        return RunResult(as_of=None)
    # Anomalies are about days: check every day since the last run (a first run looks back two weeks),
    # so a spike between runs, or before the first one, is not missed.
    days = anomaly_days(tenant=tenant, as_of=as_of)
    extra = (as_of - days[0]).days
    loaded = recommender_inputs(tenant=tenant, as_of=as_of, window_days=window_days + extra)
    inputs = replace(loaded, window_days=window_days)
    cards: list[Card] = []
    errors: dict[str, str] = {}
    for name, recommend in RECOMMENDERS:
        try:
            if recommend is anomaly.recommend:
                for day in days:
                    cards += recommend(replace(loaded, as_of=day, window_days=window_days))
            else:
                cards += recommend(inputs)
        except Exception as exc:  # noqa: BLE001 - one broken recommender must not hide the others' findings
            logger.exception("recommender %s failed for %s", name, tenant.slug)
            errors[name] = f"{type(exc).__name__}: {exc}"
    cards = list({card.fingerprint: card for card in cards}.values())  # a day seen by two checks: once
    cards.sort(key=lambda c: c.value_usd, reverse=True)
    result = store_cards(tenant=tenant, cards=cards, as_of=as_of, window_days=window_days)
    result.errors = errors
    result.seconds = round(time.monotonic() - started, 2)
    audit_log_record(
        tenant=tenant,
        action="recommendations.run",
        target=f"as of {as_of}",
        details={
            "as_of": as_of.isoformat(),
            "anomaly_days": [days[0].isoformat(), days[-1].isoformat()],
            "cards": len(cards),
            "created": result.created,
            "resolved": result.resolved,
            "reopened": result.reopened,
            "errors": errors,
            "seconds": result.seconds,
        },
    )
    return result


def recommendation_accept(*, rec: Recommendation, actor: AbstractBaseUser | None) -> Recommendation:
    """Accepted: its scope's daily cost over the 14 days before is kept, to measure the savings after."""
    today = timezone.now().date()
    latest = latest_usage_date(tenant=rec.tenant) or today
    rec.baseline_daily_usd = scope_daily_cost(
        tenant=rec.tenant, scope=rec.scope, start=latest - timedelta(days=13), end=latest
    )
    rec.status, rec.status_changed_at, rec.accepted_at = Recommendation.Status.ACCEPTED, timezone.now(), timezone.now()
    rec.save()
    _audit(rec.tenant, rec, "accepted", actor, baseline_daily_usd=str(rec.baseline_daily_usd))
    return rec


def recommendation_dismiss(*, rec: Recommendation, actor: AbstractBaseUser | None, reason: str) -> Recommendation:
    if not reason.strip():
        raise ValueError("Say why the recommendation is dismissed: the reason is kept with it.")
    rec.status, rec.status_changed_at = Recommendation.Status.DISMISSED, timezone.now()
    rec.dismissed_reason = reason.strip()[:2000]
    rec.dismissed_value_usd = rec.value_usd
    rec.save()
    _audit(rec.tenant, rec, "dismissed", actor, reason=rec.dismissed_reason)
    return rec


def recommendation_reopen(*, rec: Recommendation, actor: AbstractBaseUser | None) -> Recommendation:
    rec.status, rec.status_changed_at = Recommendation.Status.OPEN, timezone.now()
    rec.save(update_fields=["status", "status_changed_at"])
    _audit(rec.tenant, rec, "reopened", actor, previous="by hand")
    return rec


def measured_savings(*, rec: Recommendation) -> dict[str, Decimal] | None:
    """Since acceptance: the scope's daily cost before (kept at acceptance) and after, and the monthly
    difference. None until a full day of data after acceptance."""
    if rec.accepted_at is None or rec.baseline_daily_usd is None:
        return None
    start = rec.accepted_at.date() + timedelta(days=1)
    end = latest_usage_date(tenant=rec.tenant)
    if end is None or end < start:
        return None
    after = scope_daily_cost(tenant=rec.tenant, scope=rec.scope, start=start, end=end)
    if after is None:
        return None
    return {
        "before_daily_usd": rec.baseline_daily_usd,
        "after_daily_usd": after,
        "monthly_savings_usd": ((rec.baseline_daily_usd - after) * 30).quantize(Decimal("0.01")),
        "days": Decimal((end - start).days + 1),
    }
