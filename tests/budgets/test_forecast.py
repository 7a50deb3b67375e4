"""The forecast maths on synthetic series whose right answer is known (computed here, day by day)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest

from budgets import forecast as fc

D = Decimal
TOLERANCE = D("0.000001")


def series(first: date, last: date, value) -> dict[date, Decimal]:  # noqa: ANN001
    out, day = {}, first
    while day <= last:
        out[day] = D(value(day))
        day += timedelta(days=1)
    return out


def total(daily: dict[date, Decimal], first: date, last: date, value) -> Decimal:  # noqa: ANN001
    """The period's right answer: known days as they are, the rest from the generating function."""
    out, day = D(0), first
    while day <= last:
        out += daily[day] if day in daily else D(value(day))
        day += timedelta(days=1)
    return out


def close(a: Decimal | None, b: Decimal) -> bool:
    return a is not None and abs(a - b) < TOLERANCE


# --- periods ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "period", "expected"),
    [
        (date(2028, 2, 14), "monthly", (date(2028, 2, 1), date(2028, 2, 29))),
        (date(2026, 12, 31), "monthly", (date(2026, 12, 1), date(2026, 12, 31))),
        (date(2026, 11, 26), "quarterly", (date(2026, 10, 1), date(2026, 12, 31))),
        (date(2026, 1, 1), "quarterly", (date(2026, 1, 1), date(2026, 3, 31))),
        (date(2026, 6, 30), "quarterly", (date(2026, 4, 1), date(2026, 6, 30))),
    ],
)
def test_period_bounds(day: date, period: str, expected: tuple[date, date]) -> None:
    assert fc.period_bounds(day, period) == expected


def test_an_unknown_period_is_refused() -> None:
    with pytest.raises(ValueError, match="weekly"):
        fc.period_bounds(date(2026, 1, 1), "weekly")


# --- forecasts that must be exact ---------------------------------------------------------------------------------


def test_a_flat_series_is_forecast_exactly_with_no_band() -> None:
    daily = series(date(2026, 9, 1), date(2026, 11, 10), lambda d: 100)
    f = fc.forecast_period(
        daily, first_day=date(2026, 9, 1), known_through=date(2026, 11, 10), as_of=date(2026, 11, 10), period="monthly"
    )
    assert f.actual == D(100) * 10
    assert close(f.total, D(100) * 30)
    assert close(f.low, D(3000)) and close(f.high, D(3000))
    assert f.band_method == "backtest"
    assert [d for d, _ in f.projected] == [date(2026, 11, 11) + timedelta(days=i) for i in range(20)]


def weekday_pattern(d: date) -> int:
    return {5: 20, 6: 10}.get(d.weekday(), 100 + 10 * d.weekday())  # Mon 100 .. Fri 140, Sat 20, Sun 10


def test_a_weekday_pattern_is_forecast_exactly() -> None:
    daily = series(date(2026, 9, 1), date(2026, 11, 12), weekday_pattern)
    f = fc.forecast_period(
        daily, first_day=date(2026, 9, 1), known_through=date(2026, 11, 12), as_of=date(2026, 11, 12), period="monthly"
    )
    expected = total(daily, date(2026, 11, 1), date(2026, 11, 30), weekday_pattern)
    assert close(f.total, expected)
    saturday = next(v for d, v in f.projected if d.weekday() == 5)
    assert close(saturday, D(20))


def test_a_straight_line_trend_is_forecast_exactly() -> None:
    start = date(2026, 9, 1)

    def line(d: date) -> int:
        return 50 + 2 * (d - start).days

    daily = series(start, date(2026, 11, 9), line)
    f = fc.forecast_period(
        daily, first_day=start, known_through=date(2026, 11, 9), as_of=date(2026, 11, 9), period="monthly"
    )
    assert f.fit is not None and close(f.fit.slope, D(2))
    assert close(f.total, total(daily, date(2026, 11, 1), date(2026, 11, 30), line))


def test_a_trend_only_two_weeks_agree_on_is_not_continued() -> None:
    start = date(2026, 10, 1)
    daily = series(start, date(2026, 10, 14), lambda d: 100 if d < date(2026, 10, 8) else 120)
    fit = fc.fit(daily, first_day=start, cutoff=date(2026, 10, 14))
    assert fit is not None and fit.slope == 0


def test_quarters_work_the_same_way() -> None:
    daily = series(date(2026, 8, 1), date(2026, 11, 10), lambda d: 100)
    f = fc.forecast_period(
        daily,
        first_day=date(2026, 8, 1),
        known_through=date(2026, 11, 10),
        as_of=date(2026, 11, 20),
        period="quarterly",
    )
    assert (f.period_start, f.period_end) == (date(2026, 10, 1), date(2026, 12, 31))
    assert f.actual == D(100) * (31 + 10)
    assert close(f.total, D(100) * 92)


# --- unknown days and zeros ----------------------------------------------------------------------------------------


def test_days_after_the_data_are_forecast_not_counted_as_zero() -> None:
    daily = series(date(2026, 9, 1), date(2026, 11, 10), lambda d: 100)
    f = fc.forecast_period(
        daily, first_day=date(2026, 9, 1), known_through=date(2026, 11, 10), as_of=date(2026, 11, 20), period="monthly"
    )
    assert f.cutoff == date(2026, 11, 10)
    assert f.actual == D(1000)
    assert len(f.projected) == 20  # 11th to 30th, including the ten days up to as_of without data
    assert close(f.total, D(3000))


def test_known_days_without_spend_are_real_zeros() -> None:
    # The scope stopped spending on 1 Oct; the tenant's data goes on (known_through), so its zeros are real.
    daily = series(date(2026, 8, 1), date(2026, 9, 30), lambda d: 100)
    f = fc.forecast_period(
        daily, first_day=date(2026, 8, 1), known_through=date(2026, 11, 10), as_of=date(2026, 11, 10), period="monthly"
    )
    assert f.actual == 0
    assert close(f.total, D(0))


def test_days_before_the_data_begins_are_not_zeros_either() -> None:
    # Data starts on 10 Nov at $100 a day: the forecast is $100 a day, not dragged down by 28 "empty" days.
    daily = series(date(2026, 11, 10), date(2026, 11, 12), lambda d: 100)
    f = fc.forecast_period(
        daily,
        first_day=date(2026, 11, 10),
        known_through=date(2026, 11, 12),
        as_of=date(2026, 11, 12),
        period="monthly",
    )
    assert f.fit is not None and f.fit.history_days == 3
    assert f.actual == D(300)
    assert close(f.total, D(100) * 21)


def test_no_data_means_no_forecast() -> None:
    f = fc.forecast_period({}, first_day=None, known_through=None, as_of=date(2026, 11, 12), period="monthly")
    assert f.total is None and f.actual == 0 and f.cutoff is None


def test_a_finished_period_is_its_actual_total() -> None:
    daily = series(date(2026, 9, 1), date(2026, 11, 10), lambda d: 7)
    f = fc.forecast_period(
        daily, first_day=date(2026, 9, 1), known_through=date(2026, 11, 10), as_of=date(2026, 10, 31), period="monthly"
    )
    assert f.band_method == "exact" and f.total == f.low == f.high == D(7) * 31 and not f.projected


# --- the band ------------------------------------------------------------------------------------------------------


def noisy(seed: int) -> dict[date, Decimal]:
    rng = random.Random(seed)
    return series(date(2026, 7, 1), date(2026, 11, 15), lambda d: weekday_pattern(d) + rng.randint(-30, 30))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_band_holds_the_forecast_and_comes_from_past_forecasts(seed: int) -> None:
    daily = noisy(seed)
    f = fc.forecast_period(
        daily, first_day=date(2026, 7, 1), known_through=date(2026, 11, 15), as_of=date(2026, 11, 15), period="monthly"
    )
    assert f.band_method == "backtest" and f.band_samples == fc.BAND_CUTOFFS
    assert f.low is not None and f.high is not None and f.total is not None
    assert f.actual <= f.low <= f.total <= f.high
    assert f.high > f.low  # noise gives a real band


def test_short_history_takes_the_band_from_the_daily_residuals() -> None:
    rng = random.Random(7)
    daily = series(date(2026, 11, 1), date(2026, 11, 20), lambda d: 100 + rng.randint(-20, 20))
    f = fc.forecast_period(
        daily, first_day=date(2026, 11, 1), known_through=date(2026, 11, 20), as_of=date(2026, 11, 20), period="monthly"
    )
    assert f.band_method == "residuals"
    assert f.low < f.total < f.high


def test_quantile_interpolates_like_numpy() -> None:
    values = [D(v) for v in (1, 2, 3, 4, 10)]
    assert fc.quantile(values, D("0.5")) == 3
    assert fc.quantile(values, D("0.9")) == D("7.6")  # 4 + (10 - 4) * 0.6
    assert fc.median([D(4), D(1), D(3), D(2)]) == D("2.5")


# --- the backtest --------------------------------------------------------------------------------------------------


def test_the_backtest_replays_past_months_at_the_same_point_and_is_exact_on_a_flat_series() -> None:
    daily = series(date(2026, 6, 1), date(2026, 11, 10), lambda d: 100)
    b = fc.backtest(
        daily, first_day=date(2026, 6, 1), known_through=date(2026, 11, 10), as_of=date(2026, 11, 10), period="monthly"
    )
    assert [p.period_start for p in b.periods] == [date(2026, m, 1) for m in (10, 9, 8, 7, 6)]
    assert [p.cutoff for p in b.periods] == [date(2026, m, 10) for m in (10, 9, 8, 7, 6)]
    assert b.known_days == 10
    assert all(p.actual == D(100) * (p.period_end.day) for p in b.periods)
    assert close(b.wape_pct, D(0))


def test_the_backtest_skips_periods_that_begin_before_the_data() -> None:
    daily = series(date(2026, 9, 15), date(2026, 11, 10), lambda d: 100)
    b = fc.backtest(
        daily, first_day=date(2026, 9, 15), known_through=date(2026, 11, 10), as_of=date(2026, 11, 10), period="monthly"
    )
    assert [p.period_start for p in b.periods] == [date(2026, 10, 1)]


def test_wape_is_the_sum_of_misses_over_the_sum_of_actuals() -> None:
    periods = [
        fc.BacktestPeriod(date(2026, 9, 1), date(2026, 9, 30), date(2026, 9, 10), forecast=D(110), actual=D(100)),
        fc.BacktestPeriod(date(2026, 8, 1), date(2026, 8, 31), date(2026, 8, 10), forecast=D(250), actual=D(300)),
    ]
    b = fc.Backtest(10, periods)
    assert b.wape_pct == (D(10) + D(50)) / D(400) * 100
    assert periods[1].error_pct == (D(250) - D(300)) / D(300) * 100


def test_no_complete_period_means_no_backtest() -> None:
    daily = series(date(2026, 11, 1), date(2026, 11, 10), lambda d: 100)
    b = fc.backtest(
        daily, first_day=date(2026, 11, 1), known_through=date(2026, 11, 10), as_of=date(2026, 11, 10), period="monthly"
    )
    assert b.periods == [] and b.wape_pct is None


def test_a_past_step_widens_the_band_to_at_most_double_what_is_left() -> None:
    # $10 a day, then $1,000 a day from 12 Nov: forecasts made before the step were off by ~100x.
    daily = series(date(2026, 9, 1), date(2026, 11, 25), lambda d: 10 if d < date(2026, 11, 12) else 1000)
    f = fc.forecast_period(
        daily, first_day=date(2026, 9, 1), known_through=date(2026, 11, 25), as_of=date(2026, 11, 25), period="monthly"
    )
    assert f.band_method == "backtest"
    assert f.total is not None and f.high is not None
    assert close(f.high, f.actual + 2 * f.remaining)


def test_steady_growth_says_past_forecasts_were_too_low() -> None:
    # 3% a day, compounding: a straight-line trend always falls behind, so every past forecast was too low.
    daily = series(date(2026, 8, 1), date(2026, 11, 10), lambda d: D("1.03") ** (d - date(2026, 8, 1)).days)
    f = fc.forecast_period(
        daily, first_day=date(2026, 8, 1), known_through=date(2026, 11, 10), as_of=date(2026, 11, 10), period="monthly"
    )
    assert f.past_misses == "low"
    assert f.low == f.total and f.high is not None and f.total is not None and f.high > f.total
