"""Forecast a budget period's spend from daily costs. Pure: dates and Decimals in, dataclasses out; no Django.

The method, in words (what the budget page says):

1. **History.** The last 28 known days before the cut-off (the last day with data). Days the tenant has no data
   for yet (after the cut-off, or before its first day of data) are *unknown*: they are forecast, never taken
   as $0. A known day on which the scope spent nothing is a real $0.
2. **Weekday pattern.** Each day is compared with the average of the 7 days centred on it (so a trend does not
   look like a weekday effect); a weekday's factor is the median of those ratios, scaled so the seven average 1.
   With fewer than 14 days of history every factor is 1.
3. **Level and trend.** The costs divided by their weekday factor are cut into 7-day blocks counting back from
   the cut-off. The level is the median of the last block (placed at its middle day); the trend is the median
   of the slopes between every pair of blocks (Theil-Sen), so one odd day or week does not swing it. The trend is
   continued only when three blocks or more all agree on its direction: noise rarely does (on demo data a trend
   read from two weeks made the backtests worse).
4. **Projection.** Each unknown day of the period is (level + trend x days from the last block's middle) x its
   weekday factor, never below $0. The forecast is the known spend so far plus the projected days.
5. **Band (p10-p90).** The method is replayed at every past cut-off with enough history, over the same number of
   days still to come; the relative errors of those past projections (capped at 100%: a sudden step would
   otherwise stretch the band to many times the forecast) give the 10th and 90th percentiles, which are applied
   to today's projection (widened to hold the forecast itself when every past miss went the same way). With too
   few past cut-offs the band comes from the spread of the daily residuals around the fit (normal approximation,
   independent days), and says so.
6. **Backtest.** For each of the last complete periods inside the data, the method is run at the same point of
   the period as today (the same number of known days) and its end-of-period total compared with the actual
   total. The error is reported as WAPE: sum of |forecast - actual| over sum of actual, in percent. WAPE rather
   than MAPE because a period with little spend would dominate a mean of percentages.

A flat series, a pure weekday pattern and a straight-line trend are each forecast exactly (tests check this).
Quarters work the same way as months; only the period bounds differ."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

ZERO = Decimal(0)
ONE = Decimal(1)
HISTORY_DAYS = 28  # the window the pattern, level and trend are read from
MIN_SEASONAL_DAYS = 14  # below this, no weekday pattern and no trend
BLOCK = 7
MIN_TREND_BLOCKS = 3
BAND_CUTOFFS = 60  # past cut-offs replayed for the band
MIN_BAND_SAMPLES = 7
BAND_LOW, BAND_HIGH = Decimal("0.10"), Decimal("0.90")
# A past forecast off by more than this counts as off by this: a step the method could not have seen (a runaway
# job, a launch) would otherwise stretch the band to many times the forecast. The band at most doubles what is left.
MAX_BAND_ERROR = Decimal(1)
Z_80 = Decimal("1.2816")  # p10/p90 of a normal distribution, for the fallback band
BACKTEST_PERIODS = {"monthly": 6, "quarterly": 4}
PERIODS = ("monthly", "quarterly")


# --- periods ----------------------------------------------------------------------------------------------------


def period_bounds(day: date, period: str) -> tuple[date, date]:
    """The first and last day of the month or quarter containing `day`."""
    if period == "monthly":
        start = day.replace(day=1)
        months = 1
    elif period == "quarterly":
        start = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
        months = 3
    else:
        raise ValueError(f"Unknown period {period!r}: use one of {', '.join(PERIODS)}.")
    month = start.month - 1 + months
    following = date(start.year + month // 12, month % 12 + 1, 1)
    return start, following - timedelta(days=1)


def previous_period(start: date, period: str) -> tuple[date, date]:
    return period_bounds(start - timedelta(days=1), period)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# --- statistics on Decimals -------------------------------------------------------------------------------------


def median(values: list[Decimal]) -> Decimal:
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        raise ValueError("median of nothing")
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def quantile(values: list[Decimal], q: Decimal) -> Decimal:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# --- the fit ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fit:
    """What the method read from the history: enough to project any later day."""

    cutoff: date
    history_days: int
    factors: tuple[Decimal, ...]  # Monday..Sunday, averaging 1
    level: Decimal  # deseasonalised daily cost at `centre`
    centre: date
    slope: Decimal  # dollars per day per day
    residuals: tuple[Decimal, ...] = ()

    def day(self, d: date) -> Decimal:
        base = self.level + self.slope * (d - self.centre).days
        return max(ZERO, base) * self.factors[d.weekday()]


def _weekday_factors(x: Mapping[date, Decimal], days: list[date]) -> tuple[Decimal, ...]:
    ratios: list[list[Decimal]] = [[] for _ in range(7)]
    for i in range(3, len(days) - 3):
        average = sum((x[d] for d in days[i - 3 : i + 4]), ZERO) / BLOCK
        if average > 0:
            ratios[days[i].weekday()].append(x[days[i]] / average)
    raw = [median(r) if r else ONE for r in ratios]
    mean = sum(raw, ZERO) / 7
    if mean <= 0:
        return (ONE,) * 7
    return tuple(f / mean for f in raw)


def fit(daily: Mapping[date, Decimal], *, first_day: date, cutoff: date) -> Fit | None:
    """The method's reading of the known days up to `cutoff` (None when there is no known day)."""
    start = max(first_day, cutoff - timedelta(days=HISTORY_DAYS - 1))
    if start > cutoff:
        return None
    days = _days(start, cutoff)
    x = {d: daily.get(d, ZERO) for d in days}
    if len(days) < MIN_SEASONAL_DAYS:
        last = days[-BLOCK:]
        level = sum((x[d] for d in days), ZERO) / len(days)
        if len(days) >= BLOCK:
            level = median([x[d] for d in last])
        centre = last[len(last) // 2] if len(days) >= BLOCK else days[len(days) // 2]
        flat = Fit(cutoff, len(days), (ONE,) * 7, level, centre, ZERO)
        return _with_residuals(flat, x, days)
    factors = _weekday_factors(x, days)
    deseasonalised = {d: x[d] / factors[d.weekday()] for d in days if factors[d.weekday()] > 0}
    blocks: list[tuple[date, Decimal]] = []  # (middle day, median), latest first
    end = len(days)
    while end - BLOCK >= 0:
        block = days[end - BLOCK : end]
        values = [deseasonalised[d] for d in block if d in deseasonalised]
        if values:
            blocks.append((block[BLOCK // 2], median(values)))
        end -= BLOCK
    centre, level = blocks[0]
    slopes = [
        (b_later - b_earlier) / (d_later - d_earlier).days
        for i, (d_later, b_later) in enumerate(blocks)
        for d_earlier, b_earlier in blocks[i + 1 :]
    ]
    # A trend is continued only when three weeks or more all agree on its direction: noise rarely does.
    consistent = len(blocks) >= MIN_TREND_BLOCKS and (all(s > 0 for s in slopes) or all(s < 0 for s in slopes))
    slope = median(slopes) if consistent else ZERO
    return _with_residuals(Fit(cutoff, len(days), factors, level, centre, slope), x, days)


def _with_residuals(f: Fit, x: Mapping[date, Decimal], days: list[date]) -> Fit:
    return Fit(f.cutoff, f.history_days, f.factors, f.level, f.centre, f.slope, tuple(x[d] - f.day(d) for d in days))


# --- forecast -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Forecast:
    period_start: date
    period_end: date
    cutoff: date | None  # the last known day used (None: no data at all)
    actual: Decimal  # known spend in the period, up to the cut-off
    projected: list[tuple[date, Decimal]]  # the unknown days of the period and their forecast
    total: Decimal | None  # actual + projected (None: nothing to forecast from)
    low: Decimal | None
    high: Decimal | None
    band_method: str = "none"  # "backtest", "residuals", "exact" (nothing left to forecast) or "none"
    band_samples: int = 0
    fit: Fit | None = None
    past_misses: str = ""  # "low" / "high": 9 past forecasts in 10 (or more) were too low / too high

    @property
    def horizon(self) -> int:
        return len(self.projected)

    @property
    def remaining(self) -> Decimal:
        return sum((v for _, v in self.projected), ZERO)


def _period_actual(daily: Mapping[date, Decimal], start: date, last: date) -> Decimal:
    return sum((daily.get(d, ZERO) for d in _days(start, last)), ZERO) if last >= start else ZERO


def _project(f: Fit, first: date, last: date) -> Decimal:
    return sum((f.day(d) for d in _days(first, last)), ZERO) if last >= first else ZERO


def _band_errors(
    daily: Mapping[date, Decimal], *, first_day: date, cutoff: date, offset: int, horizon: int
) -> list[Decimal]:
    """Relative errors of past projections over `horizon` days starting `offset` days after their cut-off."""
    errors: list[Decimal] = []
    c = cutoff - timedelta(days=offset + horizon)
    earliest = first_day + timedelta(days=MIN_SEASONAL_DAYS - 1)
    while c >= earliest and len(errors) < BAND_CUTOFFS:
        past = fit(daily, first_day=first_day, cutoff=c)
        first = c + timedelta(days=offset + 1)
        last = c + timedelta(days=offset + horizon)
        predicted = _project(past, first, last) if past else ZERO
        if predicted > 0:
            error = (_period_actual(daily, first, last) - predicted) / predicted
            errors.append(min(MAX_BAND_ERROR, max(-MAX_BAND_ERROR, error)))
        c -= timedelta(days=1)
    return errors


def forecast_period(
    daily: Mapping[date, Decimal], *, first_day: date | None, known_through: date | None, as_of: date, period: str
) -> Forecast:
    """The period containing `as_of`: known spend up to min(as_of, known_through), the rest forecast."""
    start, end = period_bounds(as_of, period)
    if first_day is None or known_through is None or known_through < first_day:
        return Forecast(start, end, None, ZERO, [], None, None, None)
    cutoff = min(as_of, known_through, end)
    actual = _period_actual(daily, max(start, first_day), cutoff)
    if cutoff >= end:
        return Forecast(start, end, cutoff, actual, [], actual, actual, actual, "exact")
    f = fit(daily, first_day=first_day, cutoff=cutoff)
    if f is None:  # the data starts after as_of
        return Forecast(start, end, None, ZERO, [], None, None, None)
    first = max(start, cutoff + timedelta(days=1))
    projected = [(d, f.day(d)) for d in _days(first, end)]
    remaining = sum((v for _, v in projected), ZERO)
    total = actual + remaining
    offset, horizon = (first - cutoff).days - 1, len(projected)
    errors = _band_errors(daily, first_day=first_day, cutoff=cutoff, offset=offset, horizon=horizon)
    if len(errors) >= MIN_BAND_SAMPLES:
        # Widened to hold the forecast itself when every past miss went the same way (a level shift inside
        # the history): the band then says "possibly much higher", not "certainly higher".
        p10, p90 = quantile(errors, BAND_LOW), quantile(errors, BAND_HIGH)
        low = actual + max(ZERO, remaining * (1 + min(ZERO, p10)))
        high = actual + max(ZERO, remaining * (1 + max(ZERO, p90)))
        misses = "low" if p10 > 0 else "high" if p90 < 0 else ""
        return Forecast(start, end, cutoff, actual, projected, total, low, high, "backtest", len(errors), f, misses)
    if len(f.residuals) >= 2:
        mean = sum(f.residuals, ZERO) / len(f.residuals)
        variance = sum(((r - mean) ** 2 for r in f.residuals), ZERO) / (len(f.residuals) - 1)
        half = Z_80 * (variance * horizon).sqrt()
        low, high = actual + max(ZERO, remaining - half), actual + remaining + half
        return Forecast(start, end, cutoff, actual, projected, total, low, high, "residuals", len(f.residuals), f)
    return Forecast(start, end, cutoff, actual, projected, total, total, total, "none", 0, f)


# --- backtest -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BacktestPeriod:
    period_start: date
    period_end: date
    cutoff: date
    forecast: Decimal
    actual: Decimal

    @property
    def error_pct(self) -> Decimal | None:
        return (self.forecast - self.actual) / self.actual * 100 if self.actual else None


@dataclass(frozen=True)
class Backtest:
    known_days: int  # how far into each past period the method was replayed
    periods: list[BacktestPeriod] = field(default_factory=list)

    @property
    def wape_pct(self) -> Decimal | None:
        """Sum of absolute errors of the end-of-period totals over the sum of the actual totals, in percent."""
        actual = sum((p.actual for p in self.periods), ZERO)
        if not self.periods or actual <= 0:
            return None
        return sum((abs(p.forecast - p.actual) for p in self.periods), ZERO) / actual * 100


def backtest(
    daily: Mapping[date, Decimal],
    *,
    first_day: date | None,
    known_through: date | None,
    as_of: date,
    period: str,
    periods: int | None = None,
) -> Backtest:
    """The method replayed on the last complete periods inside the data, at today's point of the period."""
    start, _ = period_bounds(as_of, period)
    if first_day is None or known_through is None:
        return Backtest(0)
    cutoff = min(as_of, known_through)
    known = max(0, (cutoff - start).days + 1)
    out: list[BacktestPeriod] = []
    p_start, p_end = previous_period(start, period)
    while len(out) < (periods or BACKTEST_PERIODS[period]) and p_start >= first_day:
        if p_end <= known_through:
            length = (p_end - p_start).days + 1
            c = p_start + timedelta(days=min(known, length - 1) - 1)
            f = fit(daily, first_day=first_day, cutoff=c)
            if f is not None and f.history_days >= BLOCK:
                so_far = _period_actual(daily, p_start, c)
                forecast = so_far + _project(f, max(p_start, c + timedelta(days=1)), p_end)
                out.append(BacktestPeriod(p_start, p_end, c, forecast, _period_actual(daily, p_start, p_end)))
        p_start, p_end = previous_period(p_start, period)
    return Backtest(known, out)
