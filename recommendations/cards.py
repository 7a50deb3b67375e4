"""A recommendation card as the recommenders produce it (pure), before it is stored."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

MAX_SAMPLE_IDS = 20


def fingerprint(kind: str, **scope: Any) -> str:
    """Stable across runs for the same finding: the kind and what it is about, never its numbers."""
    text = json.dumps({"kind": kind, **scope}, sort_keys=True, default=str)
    return f"{kind}:{hashlib.sha256(text.encode()).hexdigest()[:24]}"


@dataclass
class Card:
    kind: str
    fingerprint: str
    title: str
    scope: dict[str, str]
    action: str
    confidence: str  # high / medium / low
    monthly_savings_usd: Decimal | None = None  # what changing saves, per 30 days
    monthly_impact_usd: Decimal | None = None  # what a risk costs, per 30 days (anomalies, idle capacity)
    evidence: dict[str, Any] = field(default_factory=dict)  # request_ids (up to 20) and the figures used
    math: str = ""  # the calculation in plain words
    snippet: str = ""  # code to change, when there is code
    anomaly_type: str = ""  # spike / runaway_loop / long_chain / session_cost
    chart: dict[str, Any] = field(default_factory=dict)  # {"x": [...], "y": [...], "label": ...}

    @property
    def value_usd(self) -> Decimal:
        """What the card is worth: its savings, else its impact."""
        return (
            self.monthly_savings_usd
            if self.monthly_savings_usd is not None
            else (self.monthly_impact_usd or Decimal(0))
        )

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("monthly_savings_usd", "monthly_impact_usd"):
            if data[key] is not None:
                data[key] = str(data[key].quantize(Decimal("0.01")))
        return data


def sample_ids(request_ids: list[str]) -> list[str]:
    return sorted(set(request_ids))[:MAX_SAMPLE_IDS]
