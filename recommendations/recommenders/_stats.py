"""Robust statistics for the anomaly recommender: median/MAD baselines kept in Decimal (so the dollars
on a card are exact), and the signature of a runaway loop in a stream of requests."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from statistics import median
from typing import Any

from recommendations.inputs import Request

MAD_TO_SIGMA = Decimal("1.4826")  # MAD x this estimates σ when the data are normal


@dataclass(frozen=True)
class Baseline:
    median: Decimal
    sigma: Decimal  # never zero: floored in `baseline`
    points: int

    def threshold(self, k: Decimal) -> Decimal:
        return self.median + k * self.sigma

    def sigmas(self, value: Decimal) -> Decimal:
        return (value - self.median) / self.sigma


def baseline(values: Sequence[Decimal], *, rel_floor: Decimal, abs_floor: Decimal) -> Baseline:
    """Median and σ = 1.4826 x MAD, with σ at least `rel_floor` of the median and `abs_floor`: a flat
    history (MAD 0) would otherwise turn a few cents of noise into a 100σ event."""
    if not values:
        return Baseline(Decimal(0), abs_floor, 0)
    m = median(values)
    mad = median([abs(v - m) for v in values])
    # The median of a few days is itself uncertain (its variance is ~π/2n of the days'): widen σ by that,
    # or a 4-point baseline that happens to sit low makes an ordinary day look like an outlier.
    widen = (1 + Decimal(math.pi) / (2 * len(values))).sqrt()
    return Baseline(m, max(MAD_TO_SIGMA * mad, rel_floor * m, abs_floor) * widen, len(values))


def noise_floor(rel: Decimal, calls: Sequence[int]) -> Decimal:
    """σ as a share of the median: at least `rel`, and at least 1/√n for n usual calls, the Poisson noise of
    a count (a subject making 6 calls a day swings by ~40% with nothing wrong)."""
    return max(rel, 1 / Decimal(max(median(calls or [0]), 1)).sqrt())


def spread(day_cost: Mapping[date, Decimal], days: Sequence[date]) -> Decimal:
    """σ as a share of the level, pooled over `days`: 1.4826 x the median relative deviation of each day
    from its own weekday's median (weekdays with 3+ days). Four same weekdays alone make a shaky MAD."""
    by_weekday: dict[int, list[Decimal]] = defaultdict(list)
    for d in days:
        by_weekday[d.weekday()].append(day_cost.get(d, Decimal(0)))
    groups = [(values, median(values)) for values in by_weekday.values() if len(values) >= 3]
    deviations = [abs(v / m - 1) for values, m in groups if m > 0 for v in values]
    return MAD_TO_SIGMA * median(deviations) if deviations else Decimal(0)


@dataclass(frozen=True)
class Steadiness:
    """How a session's prompt size moves from one call to the next."""

    calls: int
    median_step: float  # median of |size[i+1] / size[i] - 1|
    growth: float  # median size of the last quarter of calls / that of the first quarter
    first: int  # median size of the first quarter
    last: int  # median size of the last quarter


def steadiness(sizes: Sequence[int]) -> Steadiness | None:
    """None when there are too few sized calls to say anything."""
    sizes = [s for s in sizes if s > 0]
    if len(sizes) < 4:
        return None
    steps = [abs(b / a - 1) for a, b in zip(sizes, sizes[1:], strict=False)]
    quarter = max(1, len(sizes) // 4)
    first, last = median(sizes[:quarter]), median(sizes[-quarter:])
    return Steadiness(len(sizes), float(median(steps)), last / first, int(first), int(last))


# The loop signature (see anomaly.py's docstring for the rule).
LOOP_RATE_RATIO = 5.0
LOOP_MAX_STEP = 0.10
LOOP_MIN_GROWTH = 0.9
LOOP_MIN_CALLS = 20
LOOP_MAX_OUTPUT_TOKENS = 300
LOOP_STOP_SHARE = 0.8


@dataclass(frozen=True)
class LoopSignature:
    rate_ratio: float  # the anomalous hours' request rate / the usual rate of those hours
    session_id: str  # the busiest session in those hours ("" when none has an id)
    session_calls: int
    steady: Steadiness | None  # of that session's successful calls, in time order
    output_median: float
    stop_reason: str
    stop_share: float | None  # None when no stop reasons were recorded

    @property
    def is_loop(self) -> bool:
        s = self.steady
        return (
            self.rate_ratio >= LOOP_RATE_RATIO
            and bool(self.session_id)  # a loop lives in one session: without session ids there is none to see
            and s is not None
            and s.calls >= LOOP_MIN_CALLS
            and s.median_step <= LOOP_MAX_STEP
            and s.growth >= LOOP_MIN_GROWTH
            and self.output_median <= LOOP_MAX_OUTPUT_TOKENS
            and (self.stop_share is None or self.stop_share >= LOOP_STOP_SHARE)
        )

    @property
    def full_match(self) -> bool:
        """Every sign, the stop reason included, was seen (not just unrecorded)."""
        return self.is_loop and self.stop_share is not None

    def evidence(self) -> dict[str, Any]:
        s = self.steady
        return {
            "request_rate_ratio": round(self.rate_ratio, 1),
            "session_id": self.session_id,
            "session_calls": self.session_calls,
            "prompt_tokens_first": s.first if s else None,
            "prompt_tokens_last": s.last if s else None,
            "prompt_median_step": round(s.median_step, 3) if s else None,
            "output_tokens_median": self.output_median,
            "stop_reason": self.stop_reason,
            "stop_reason_share": round(self.stop_share, 2) if self.stop_share is not None else None,
        }


def loop_signature(requests: Sequence[Request], *, rate_ratio: float) -> LoopSignature:
    sessions = Counter(r.session_id for r in requests if r.session_id)
    session_id, session_calls = sessions.most_common(1)[0] if sessions else ("", len(requests))
    # Failed calls carry no tokens: they would break the size sequence without saying anything about it.
    stream = sorted(
        (r for r in requests if not r.error_code and (not session_id or r.session_id == session_id)),
        key=lambda r: (r.usage_start, r.request_id),
    )
    stops = Counter(r.stop_reason for r in stream if r.stop_reason)
    stop_reason, stop_count = stops.most_common(1)[0] if stops else ("", 0)
    return LoopSignature(
        rate_ratio=rate_ratio,
        session_id=session_id,
        session_calls=session_calls,
        steady=steadiness([r.input_tokens + r.cache_read_tokens + r.cache_write_tokens for r in stream]),
        output_median=float(median([r.output_tokens for r in stream])) if stream else 0.0,
        stop_reason=stop_reason,
        stop_share=stop_count / sum(stops.values()) if stops else None,
    )
