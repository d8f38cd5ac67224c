"""A dated series: read from its folder or checked as given (oldest first, one row a date,
gaps refused or filled), the dates that follow it, each date's place in its calendar
cycles, and the seasonal naive error that scales MASE. Every series kind reads it so
(forecast windows, step forecasts, the user's CSV) and so does predict."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from seqlab.data.dates import DATE_STYLE, DateStyle, read_dates, wall_clock, write_dates
from seqlab.errors import DataError
from seqlab.layout import SERIES_FILE

FILLS = ("none", "interpolate")
GAP_FILLS = ("refuse", "interpolate")  # missing dates (rows absent), as opposed to values
# dataset.calendar: a date's place in each cycle, and the cycle's length (in its units).
CALENDAR = {
    "month": (lambda d: d.dt.month - 1, 12),
    "quarter": (lambda d: d.dt.quarter - 1, 4),
    "dayofweek": (lambda d: d.dt.dayofweek, 7),
    "dayofmonth": (lambda d: d.dt.day - 1, 31),
    "dayofyear": (lambda d: d.dt.dayofyear - 1, 366),
    "weekofyear": (lambda d: d.dt.isocalendar().week.astype(int) - 1, 53),
    "hour": (lambda d: d.dt.hour, 24),
    # minutes since midnight: a half-hourly or quarter-hourly series' place in its day
    "timeofday": (lambda d: d.dt.hour * 60 + d.dt.minute, 1440),
}


def calendar_features(dates: pd.Series, names: list[str]) -> np.ndarray:
    """Each date's place in each named cycle as a point on a circle (its sine and
    cosine), so December sits next to January: len(dates) x 2 * len(names)."""
    found = []
    for name in names:
        place, cycle = CALENDAR[name]
        angle = 2 * np.pi * place(pd.Series(dates)).to_numpy(dtype=np.float64) / cycle
        found += [np.sin(angle), np.cos(angle)]
    return np.stack(found, axis=1) if found else np.zeros((len(dates), 0))


def naive_mae(values: np.ndarray | list[np.ndarray], period: int | None) -> float | None:
    """The in-sample seasonal naive forecast's mean absolute error over `values` (lag
    `period`, or 1 when the series is not longer than a season): MASE's scale (Hyndman &
    Koehler 2006); over several series, their errors pooled. None when it is 0 (a series
    that repeats itself exactly, to rounding)."""
    every = values if isinstance(values, list) else [values]
    errors = []
    for series in every:
        lag = period if period and len(series) > period else 1
        if len(series) > lag:
            errors.append(np.abs(series[lag:] - series[:-lag]))
    if not errors:
        return None
    scale = float(np.mean(np.concatenate(errors)))
    size = max(max(float(np.max(np.abs(series))) for series in every if len(series)), 1.0)
    return scale if scale > 1e-12 * size else None  # a few ulps off 0 is 0


# How to fill a series' gaps, in a training config (predict says how in its own terms).
GAP_HINT = "set dataset.fill_gaps=interpolate to fill them"


def read_series(folder: Path, fill_gaps: str = "refuse") -> pd.DataFrame:
    """Read a raw `series.csv` (columns date,value), checking its shape, values and dates.

    Missing dates of a regular series are refused, or inserted with interpolated values
    when `fill_gaps` is "interpolate". Missing values on dates that are present stay NaN
    (the dataset's `fill_missing` decides about those).
    """
    path = Path(folder) / SERIES_FILE
    if not path.is_file():
        raise DataError(f"{path} is missing; run the fetch stage (dvc repro) first")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DataError(f"{path} is not a readable CSV ({' '.join(str(error).split())})") from None
    if list(frame.columns) != ["date", "value"]:
        raise DataError(f"{path}: expected columns date,value, found {','.join(frame.columns)}")
    text = frame["date"].astype(str)
    frame["date"] = read_dates(str(path), text, "date", hint="fetch the source again")
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    checked = check_series(path, frame, fill_gaps)
    checked.attrs[DATE_STYLE] = DateStyle.of(frame["date"], text)  # written as read
    return checked


def check_series(path: Path, frame: pd.DataFrame, fill_gaps: str = "refuse",
                 hint: str = GAP_HINT) -> pd.DataFrame:
    """Check a frame of `date` and numeric columns read from `path`: finite values, one
    row per date, oldest first, and no dates skipped (or those filled, see read_series).

    Line numbers in errors are the file's: the row with index i is line i + 2, under a
    header (a frame of one series among several keeps its rows' index in the file).
    """
    # An infinite value (or one beyond float range, which reads as infinite) would make the
    # scaler's range infinite and every scaled value NaN.
    values = frame.drop(columns="date")
    infinite = np.isinf(values.to_numpy(dtype=np.float64)).any(axis=1)
    if infinite.any():
        row = int(infinite.argmax())
        raise DataError(f"{path}: line {frame.index[row] + 2} has an infinite value or one "
                        "too large for a "
                        f"float ({', '.join(map(str, values.iloc[row]))}); correct or remove it")
    _check_order(path, frame["date"])
    return _fill_gaps(path, frame, fill_gaps, hint)


def _check_order(path: Path, dates: pd.Series) -> None:
    """Windows and splits assume one row per date, oldest first."""
    steps = dates.diff().to_numpy()[1:]
    bad = np.flatnonzero(steps <= np.timedelta64(0))
    if not bad.size:
        return
    row = int(bad[0]) + 1  # the offending row; its file line is its index + 2
    before, date = write_dates(dates)[row - 1 : row + 1]  # as the whole series is written
    line, previous = dates.index[row] + 2, dates.index[row - 1] + 2
    if dates.iloc[row] == dates.iloc[row - 1]:
        raise DataError(f"{path}: line {line} repeats the date {date} of line {previous}; "
                        "give each date one row")
    raise DataError(f"{path}: line {line} has date {date}, earlier than {before} on line "
                    f"{previous}; sort the rows by date")


def _calendar(dates: pd.Series) -> tuple[np.ndarray, Callable[[pd.Timestamp, int], pd.Timestamp]]:
    """Each date's position in the series' natural unit, and how to move a date n units.

    Monthly, quarterly and yearly steps differ in days, so dates on one day of the month
    (or all at month ends) count calendar months; weekday-only dates count business days
    (weekends are not gaps); anything else counts exact time.
    """
    at_midnight = bool((dates == dates.dt.normalize()).all())
    months = (dates.dt.year * 12 + dates.dt.month).to_numpy(dtype=np.int64)
    if at_midnight and dates.dt.day.nunique() == 1:
        return months, lambda date, n: date + pd.DateOffset(months=n)
    if at_midnight and dates.dt.is_month_end.all():
        return months, lambda date, n: date + pd.offsets.MonthEnd(n)
    if at_midnight and (dates.dt.day_of_week < 5).all():
        days = wall_clock(dates).to_numpy(dtype="datetime64[D]")  # the local days
        return np.busday_count(days[0], days), lambda date, n: date + pd.offsets.BDay(n)
    return (dates.to_numpy(dtype="datetime64[ns]").astype(np.int64),
            lambda date, n: date + pd.Timedelta(n, "ns"))


def _step(positions: np.ndarray) -> int | None:
    """The step of a regular series (its commonest difference), or None if irregular."""
    diffs = np.diff(positions)
    sizes, counts = np.unique(diffs, return_counts=True)
    step = int(sizes[counts.argmax()])
    if counts.max() * 2 < len(diffs) or (diffs % step).any():
        return None
    return step


def dates_after(dates: pd.Series, count: int) -> list[pd.Timestamp]:
    """The `count` dates that follow a series' last one, at the series' own frequency
    (calendar months for monthly dates, business days for weekdays, ...)."""
    positions, shift = _calendar(dates)
    step = _step(positions) if len(dates) > 1 else None
    if step is None:
        raise DataError("the dates do not follow a regular frequency, so the next date "
                        "is unknown; give regularly spaced rows")
    return [shift(dates.iloc[-1], step * k) for k in range(1, count + 1)]


def _fill_gaps(path: Path, frame: pd.DataFrame, fill_gaps: str, hint: str = GAP_HINT
               ) -> pd.DataFrame:
    """Refuse or fill the dates a regular series skips (its step: the commonest difference)."""
    if len(frame) < 3:
        return frame
    positions, shift = _calendar(frame["date"])
    step = _step(positions)
    if step is None:
        return frame  # irregular: no step to call a date missing against
    diffs = np.diff(positions)
    missing = diffs // step - 1
    gaps = np.flatnonzero(missing)
    if not gaps.size:
        return frame
    if fill_gaps != "interpolate":
        first = int(gaps[0])
        count = int(missing[first])
        more = f", {int(missing.sum())} in {gaps.size} gaps in all" if gaps.size > 1 else ""
        raise DataError(
            f"{path}: {count} date{'s' if count > 1 else ''} missing after "
            f"{write_dates(frame['date'])[first]}{more}; {hint}"
        )
    added = [shift(frame["date"].iloc[i], step * k) for i in gaps
             for k in range(1, int(missing[i]) + 1)]
    inserted = pd.DataFrame({"date": pd.to_datetime(added)}).reindex(columns=frame.columns)
    filled = pd.concat([frame, inserted], ignore_index=True)
    new = np.r_[np.zeros(len(frame), bool), np.ones(len(inserted), bool)]
    order = np.argsort(filled["date"].to_numpy(), kind="stable")
    filled, new = filled.iloc[order].reset_index(drop=True), new[order]
    # Only the inserted dates are filled here: NaNs on dates present are fill_missing's.
    for column in frame.columns.drop("date"):
        between = filled[column].astype(float).interpolate(limit_area="inside")
        filled.loc[new, column] = between[new]
    return filled
