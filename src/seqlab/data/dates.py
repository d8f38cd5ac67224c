"""A dataset's dates as text and back: the one reader and the one writer.

Preprocessing, `seqlab.predict` and the served model read the user's date text with
`read_dates` and write dates (meta.json, the serving example, answers, figures' data)
with `write_dates`, so whatever one writes the other reads back to the same instants:
sub-daily or not, with a time zone or without, daily to yearly.

A series is written in ONE form, chosen for the whole series (`DateStyle`): the user's
`date_format` when there is one; else the date alone when every date is at midnight with
no time zone (2021-05-07); else the date, time and offset as they came in
(2021-05-07 00:00:00+00:00). A single midnight among half-hours is never cut to its date.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from seqlab.errors import DataError

# Years alone are read as years: "1949" is 1949-01-01, never 1949 nanoseconds after 1970.
YEAR = r"\d{4}"
# A date followed by a time of day, and what separates them ("T" or a space).
_TIME = re.compile(r"\d([T ])\d{1,2}:\d{2}")
# A time's offset from UTC at the end of a date: Z, +01:00, -0500.
_ZONE = re.compile(r"\d:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})$")
DEFAULT_HINT = "set dataset.date_format (e.g. %d/%m/%Y) if it is a date"
DATE_STYLE = "date_style"  # a read frame's attrs key, and meta.json raw's, for the style


@dataclass(frozen=True)
class DateStyle:
    """How a series' dates are written: the user's strftime format, or ISO 8601."""

    date_format: str | None = None  # the user's format (dataset.date_format); None: ISO
    times: bool = False  # ISO with the time of day (and the offset, in a time zone)
    sep: str = " "  # between the date and the time, as the dates came in: " " or "T"

    @classmethod
    def of(cls, dates: pd.Series, text: pd.Series | None = None,
           date_format: str | None = None, times: bool = False) -> DateStyle:
        """The style of `dates` read from `text`: times when any date has a time of day
        or a time zone, or the text wrote times (`times`: at least as the training data)."""
        dates = pd.Series(dates)
        shown = None if text is None else text.astype(str).str.extract(_TIME, expand=False)
        times = (times or dates.dt.tz is not None
                 or bool((dates != dates.dt.normalize()).any())
                 or bool(shown is not None and shown.notna().any()))
        sep = "T" if shown is not None and (shown == "T").any() else " "
        return cls(date_format, times, sep)

    def iso(self) -> DateStyle:
        """The style in ISO form, for text seqlab reads itself (meta.json's dates)."""
        return dataclasses.replace(self, date_format=None)

    def to_raw(self, dates: pd.Series) -> dict[str, Any]:
        """meta.json's record of the style (raw["date_style"]), with the dates' zone."""
        zone = pd.Series(dates).dt.tz
        return {"times": self.times, "sep": self.sep,
                "tz": None if zone is None else str(zone)}

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> DateStyle:
        """The style meta.json's raw inputs record (a model trained before it was kept:
        the date format alone)."""
        kept = raw.get(DATE_STYLE) or {}
        return cls(raw.get("date_format"), bool(kept.get("times", False)),
                   kept.get("sep", " "))


def write_dates(dates: pd.Series | Sequence[pd.Timestamp],
                style: DateStyle | None = None) -> list[str]:
    """Dates as text, all in one form (`style`, or the one the dates themselves call
    for): `read_dates` reads each back to the same instant."""
    dates = pd.Series(list(dates) if not isinstance(dates, pd.Series) else dates)
    if dates.empty:
        return []
    if dates.dtype == object:  # Timestamps of one zone, as a list gives them
        dates = pd.to_datetime(dates)
    style = style or DateStyle.of(dates)
    if style.date_format:
        return dates.dt.strftime(style.date_format).tolist()
    times = style.times or DateStyle.of(dates).times
    if not times:
        return dates.dt.strftime("%Y-%m-%d").tolist()
    fraction = bool((dates.dt.microsecond != 0).any())
    spec = "microseconds" if fraction else "seconds"
    return [d.isoformat(sep=style.sep, timespec=spec) for d in dates]


def read_dates(where: str, text: pd.Series, column: str, date_format: str | None = None,
               hint: str = DEFAULT_HINT) -> pd.Series:
    """A column of date text as dates; a row that is not a date is an error naming its
    line (the header is line 1). Bare dates, ISO timestamps with or without an offset,
    years alone, month names (1991 Jul, Jul-1991); `date_format` is strftime's.

    Dates in one offset keep it; dates in several (a zone's summer time) are read as UTC
    instants. A bare date among dates with an offset is midnight in their offset; a time
    without one among them is refused (its instant is unknown)."""
    text = text.astype(str).str.strip().reset_index(drop=True)
    years = bool(text.str.fullmatch(YEAR).all())
    fmt = date_format or ("%Y" if years else None)
    try:
        dates = _parse(text, fmt)
    except _Refused as refused:
        raise DataError(f"{where}: line {refused.row + 2}, column {column!r}: "
                        f"{text.iloc[refused.row]!r} {refused.why}") from None
    bad = dates.isna()
    if bad.any():
        row = int(bad.to_numpy().argmax())
        told = f"the format {date_format!r}" if date_format else hint
        raise DataError(f"{where}: line {row + 2}, column {column!r}: "
                        f"{text.iloc[row]!r} is not a date; {told}")
    nonsense = (dates.dt.year < 1000) | (dates.dt.year > 2999)
    if nonsense.any():
        row = int(nonsense.to_numpy().argmax())
        raise DataError(f"{where}: line {row + 2}, column {column!r}: "
                        f"{text.iloc[row]!r} reads as {dates.iloc[row]:%Y-%m-%d}, not a "
                        f"plausible date; {hint}")
    return dates


def read_written(texts: Sequence[str]) -> pd.Series:
    """Dates `write_dates` wrote in ISO form (meta.json's dates, a fetched series.csv)."""
    return read_dates("dates", pd.Series(list(texts), dtype=object), "date")


def wall_times(texts: Sequence[str]) -> np.ndarray:
    """Written dates as numpy datetimes on the wall clock, for a figure's axis."""
    return wall_clock(read_written(texts)).to_numpy(dtype="datetime64[us]")


def wall_clock(dates: pd.Series) -> pd.Series:
    """The dates as the clock on the wall read them, without their zone (for figures'
    axes and calendar counting, where an offset would move midnight)."""
    dates = pd.Series(dates)
    return dates.dt.tz_localize(None) if dates.dt.tz is not None else dates


def as_of(dates: pd.Series, text: str, key: str) -> pd.Timestamp:
    """A date given in the config (`key`, e.g. test_start) on the series' clock: a date
    without a zone is taken in the series' zone, so it compares with its dates."""
    stamp = pd.Timestamp(text)
    zone = pd.Series(dates).dt.tz
    if zone is not None and stamp.tz is None:
        return stamp.tz_localize(zone)
    if zone is None and stamp.tz is not None:
        raise DataError(f"{key}: {text!r} has a time zone, but the series' dates have none; "
                        "give it without one")
    return stamp


class _Refused(Exception):
    def __init__(self, row: int, why: str) -> None:
        super().__init__(why)
        self.row, self.why = row, why


def _parse(text: pd.Series, fmt: str | None) -> pd.Series:
    """The dates of `text` (NaT where a row is not one), reading rows with an offset and
    rows without apart (see read_dates)."""
    zoned = text.str.extract(_ZONE, expand=False).notna()
    if fmt is not None or zoned.all() or not zoned.any():
        return _to_datetime(text, fmt)
    first = text[zoned].iloc[0]
    timed = np.flatnonzero(~zoned & text.str.extract(_TIME, expand=False).notna())
    if timed.size:
        raise _Refused(int(timed[0]), f"has no time zone, unlike {first!r}; give every "
                       "date its offset")
    offsets = text[zoned].str.extract(_ZONE, expand=False).str.replace("Z", "+00:00")
    if offsets.str.replace(":", "").nunique() > 1:
        row = int(np.flatnonzero(~zoned)[0])
        raise _Refused(row, "has no time or offset, and the other dates are in several "
                       f"offsets; write it as {first!r} is written")
    aware = _to_datetime(text[zoned], None)
    naive = _to_datetime(text[~zoned], None).dt.tz_localize(aware.dt.tz)
    return pd.concat([aware, naive]).sort_index()


def _to_datetime(text: pd.Series, fmt: str | None) -> pd.Series:
    """to_datetime, row by row where one format does not fit all rows; rows in several
    offsets as UTC instants."""
    with warnings.catch_warnings():  # "could not infer format": each row is parsed
        warnings.simplefilter("ignore", UserWarning)
        try:
            return pd.to_datetime(text, format=fmt, errors="coerce")
        except ValueError as error:
            if "utc=True" in str(error):  # several offsets: one instant each
                return pd.to_datetime(text, format=fmt or "mixed", errors="coerce", utc=True)
        try:  # a format pandas cannot infer from the first rows
            return pd.to_datetime(text, format="mixed", errors="coerce")
        except ValueError:
            return pd.to_datetime(text, format="mixed", errors="coerce", utc=True)
