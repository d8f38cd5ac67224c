"""A series' frequency, read from its dates, and the defaults that follow from it.

`dataset.seasonal_period: auto` is the length of the series' natural cycle at its
frequency (a year of months, a day of half-hours, a week of days), which MASE, seasonal
naive and Holt-Winters use; `dataset.window: auto` is how far back the net reads,
chosen from that period and the horizon (see `auto_window`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# Calendar steps in months: each a fraction of a year, the season.
MONTHLY = {12: "yearly", 6: "half-yearly", 3: "quarterly", 1: "monthly"}
# Steps within a day, by name: the season is a day of them (other divisors of a day too).
SUB_DAILY = {pd.Timedelta(hours=1): "hourly", pd.Timedelta(minutes=30): "half-hourly",
             pd.Timedelta(minutes=15): "quarter-hourly"}
DAY, WEEK = pd.Timedelta(days=1), pd.Timedelta(days=7)
# The fewest steps `auto_window` reads, so a yearly or quarterly series (a season of 1
# or 4) still sees a few cycles of its own ups and downs.
MIN_WINDOW = 8


@dataclass(frozen=True)
class Frequency:
    """What the dates' step is called and the season's length in steps (1: none)."""

    name: str
    period: int


def frequency(dates: pd.Series) -> Frequency:
    """The frequency of regularly spaced `dates` (the commonest step between them):
    yearly 1, quarterly 4, monthly 12, weekly 52, daily 7 (weekdays only: 5), hourly 24,
    half-hourly 48, quarter-hourly 96, any step dividing a day a day of them; dates of
    another or no regular step have no season (1)."""
    dates = pd.Series(dates).reset_index(drop=True)
    if len(dates) < 2:
        return Frequency("single-date", 1)
    at_midnight = bool((dates == dates.dt.normalize()).all())
    # Months differ in days: dates on one day of the month, or at month ends, count months.
    if at_midnight and (dates.dt.day.nunique() == 1 or dates.dt.is_month_end.all()):
        months = _commonest(np.diff((dates.dt.year * 12 + dates.dt.month).to_numpy()))
        if months in MONTHLY:
            return Frequency(MONTHLY[months], 12 // months)
        return Frequency(f"{months}-monthly", 1)
    step = pd.Timedelta(int(_commonest(np.diff(dates.to_numpy(dtype="datetime64[ns]")
                                               .astype(np.int64)))), "ns")
    weekdays = at_midnight and bool((dates.dt.day_of_week < 5).all())
    if step == DAY:  # a business-day series' week is five of its steps
        return Frequency("business-day", 5) if weekdays else Frequency("daily", 7)
    if step == WEEK:
        return Frequency("weekly", 52)
    if pd.Timedelta(0) < step < DAY and DAY % step == pd.Timedelta(0):
        return Frequency(SUB_DAILY.get(step) or _spoken(step), int(DAY / step))
    return Frequency(_spoken(step), 1)


def auto_window(period: int, horizon: int, training: int, reach: int = 0
                ) -> tuple[int, bool]:
    """`dataset.window: auto`, and whether the training length capped it.

    The rule: a full season back from every target (`period`, so the net reads the value
    a season before what it forecasts, as seasonal naive does), at least twice the
    horizon, MIN_WINDOW steps and `reach` (the lags differencing takes); at most half
    the `training` values before the test period, so there are at least as many
    training windows as a window is long. Monthly, one ahead: 12; half-hourly, a day
    (48) ahead: 96.
    """
    wanted = max(period, reach, 2 * horizon, MIN_WINDOW)
    cap = max(1, training // 2)
    return min(wanted, cap), wanted > cap


def _commonest(steps: np.ndarray) -> int:
    sizes, counts = np.unique(steps, return_counts=True)
    return int(sizes[counts.argmax()])


def _spoken(step: pd.Timedelta) -> str:
    """A step as the one line says it: '10-minute', '2-hour', '3-day'."""
    for unit, size in (("day", DAY), ("hour", pd.Timedelta(hours=1)),
                       ("minute", pd.Timedelta(minutes=1))):
        if step >= size and step % size == pd.Timedelta(0):
            return f"{step // size}-{unit}"
    return f"{step.total_seconds():g}-second"
