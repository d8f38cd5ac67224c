"""Windowed next-value forecasting on a series (the course's Exercise 1): the windows, their
targets, the splits and backtest folds, and the inputs known ahead (a dated series is
read and checked by seqlab.data.series)."""

from __future__ import annotations

import copy
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqlab.checks import AUTO, Auto, require_choice, require_int, require_number
from seqlab.data.dates import DATE_STYLE, DateStyle, as_of, write_dates
from seqlab.data.frequency import auto_window, frequency
from seqlab.data.meta import Meta
from seqlab.data.processed import ProcessedData
from seqlab.data.raw_inputs import scaled
from seqlab.data.series import (
    CALENDAR,
    FILLS,
    GAP_FILLS,
    calendar_features,
    naive_mae,
    read_series,
)
from seqlab.errors import ConfigError, DataError

LAG_ORDERS = ("newest_first", "oldest_first")
FRAMINGS = ("steps", "features")
# window: the net reads values relative to the window's last one; window_scaled: and in
# units of the window's mean absolute step, so series of any size read alike.
NORMALISE = ("none", "window", "window_scaled")


def with_series_id(table: np.ndarray, names: list[str | None], name: str | None
                   ) -> np.ndarray:
    """Of several series (one global model), which one a row is of: a one-hot static
    input at every step; one series' table as it is."""
    if len(names) <= 1:
        return table
    which = np.eye(len(names), dtype=np.float32)[[names.index(name)]]
    return np.concatenate([table, np.repeat(which, len(table), axis=0)], axis=1)


def framed(windows: np.ndarray, lag_order: str, framing: str) -> np.ndarray:
    """Windows (N x W x F, oldest first) as the net reads them: newest first by
    `lag_order`, and, framed as `features`, one step of W * F values."""
    if lag_order == "newest_first":
        windows = windows[:, ::-1]
    return windows if framing == "steps" else windows.reshape(len(windows), 1, -1)


def lead_known(past: np.ndarray, known: np.ndarray, dates: pd.Series, calendar: list[str],
               horizon: int) -> np.ndarray:
    """`past` (n x C) beside the inputs known in the future: `known` columns and the
    `calendar` features of `dates` (both n or more rows), led by the horizon, so row i
    carries them as of row i + horizon and a window's last `horizon` steps carry them as
    of the dates it forecasts. Rows whose lead passes the end get zeros: no window's
    input reaches them."""
    known = np.concatenate([known, calendar_features(dates, calendar)], axis=1)
    if not known.shape[1]:
        return past
    led = np.zeros((len(past), known.shape[1]), dtype=np.float32)
    ahead = known[horizon : horizon + len(past)]
    led[: len(ahead)] = ahead
    return np.concatenate([past, led], axis=1).astype(np.float32)


@dataclass
class Segment:
    """One series of a file: its rows, values (value, inputs, known inputs), dates, and
    the indices where its validation and test periods begin."""

    name: str | None
    frame: pd.DataFrame
    columns: np.ndarray
    dates: pd.Series
    test_begin: int
    fit_end: int


@dataclass
class ForecastWindows:
    """Predict the next value of a series from the `window` values before it.

    Windows are ordered newest first (t-1 first, as in the course's solution) or oldest
    first, and framed as `window` steps of one feature (N x W x 1) or one step of
    `window` features (N x 1 x W). The scaler is fitted on the training period only.
    `window` and `seasonal_period` may be `auto`: inferred from the dates (see
    `resolved`); `nonnegative` `auto` clips forecasts at 0 when the training values are
    all >= 0 (see Meta.floor).
    """

    name: str
    source: str
    window: int | Auto = 12
    lag_order: str = "newest_first"
    framing: str = "steps"
    test_start: str | None = None  # first date of the test period; else use test_fraction
    test_fraction: float = 0.2
    val_fraction: float = 0.1  # the last part of the training period
    seasonal_period: int | Auto = 12
    fill_missing: str = "none"
    fill_gaps: str = "refuse"
    horizon: int = 1  # forecast the next `horizon` values at once (direct: one output each)
    # Rolling-origin backtest (seqlab.backtest): forecasts from `backtest_folds` origins
    # `backtest_stride` apart (null: the horizon) over the end of the series, the model
    # fitted again before each (`backtest_refit`) or once before the first.
    backtest_folds: int = 1
    backtest_stride: int | None = None
    backtest_refit: bool = True
    backtest_fold: int = 0  # set by the run: this fold's data (0: no backtest)
    normalise: str = "none"  # window(_scaled): the net sees the window relative to its last value
    difference: int = 0  # 1: the net sees and forecasts first differences
    seasonal_difference: bool = False  # the net sees and forecasts seasonal differences
    # Known in the future: each step carries these features of the date `horizon` steps
    # after it, so the window's last `horizon` steps carry those of the dates forecast.
    calendar: list[str] = field(default_factory=list)
    # Forecasts (and quantiles) held >= 0 in the series' units; auto: when the training
    # values are all >= 0 (a count, a price, a load cannot go below zero).
    nonnegative: bool | Auto = AUTO

    def __post_init__(self) -> None:
        require_int("window", self.window, minimum=1, auto=True)
        require_int("seasonal_period", self.seasonal_period, minimum=1, auto=True)
        require_choice("nonnegative", self.nonnegative, (False, True, AUTO))
        if isinstance(self.calendar, str):
            raise ConfigError(f"calendar: expected a list, e.g. dataset.calendar=[{self.calendar}]")
        self.calendar = list(self.calendar)
        for name in self.calendar:
            require_choice("calendar", name, tuple(CALENDAR))
        if len(set(self.calendar)) != len(self.calendar):
            raise ConfigError(f"calendar: {self.calendar} names a feature twice")
        require_int("horizon", self.horizon, minimum=1)
        require_int("backtest_folds", self.backtest_folds, minimum=1)
        if self.backtest_stride is not None:
            require_int("backtest_stride", self.backtest_stride, minimum=1)
        require_choice("backtest_refit", self.backtest_refit, (False, True))
        require_int("backtest_fold", self.backtest_fold, minimum=0,
                    maximum=self.backtest_folds if self.backtest_folds > 1 else 0)
        require_choice("normalise", self.normalise, NORMALISE)
        require_choice("difference", self.difference, (0, 1))
        require_choice("seasonal_difference", self.seasonal_difference, (False, True))
        if self.normalise != "none" and (self.difference or self.seasonal_difference):
            raise ConfigError("normalise: window and differencing both make the window "
                              "relative; choose one (normalise=none, or difference=0 and "
                              "seasonal_difference=false)")
        if AUTO not in (self.window, self.seasonal_period):  # else checked once resolved
            self._check_window()
        require_choice("lag_order", self.lag_order, LAG_ORDERS)
        require_choice("framing", self.framing, FRAMINGS)
        require_number("test_fraction", self.test_fraction, 0, 1, low_open=True, high_open=True)
        require_number("val_fraction", self.val_fraction, 0, 1, high_open=True)
        require_choice("fill_missing", self.fill_missing, FILLS)
        require_choice("fill_gaps", self.fill_gaps, GAP_FILLS)
        if self.test_start is not None:
            try:
                pd.Timestamp(self.test_start)
            except ValueError:
                raise ConfigError(f"test_start: {self.test_start!r} is not a date") from None

    def _check_window(self) -> None:
        """What the window must hold, once it and the season are numbers."""
        if (self.calendar or self.known_columns()) and self.window < self.horizon:
            raise ConfigError(f"window: inputs known in the future are read at the window's "
                              f"last `horizon` steps; dataset.window ({self.window}) must be "
                              f"at least dataset.horizon ({self.horizon})")
        if self.normalise == "window_scaled" and self.window < 2:
            raise ConfigError("normalise: window_scaled divides by the window's mean step; "
                              "it takes a dataset.window of 2 or more")
        if self.window < self.difference + self.seasonal_period * self.seasonal_difference:
            raise ConfigError(f"seasonal_difference: the window ({self.window}) must reach "
                              f"back a season ({self.seasonal_period}) and the differences")

    task = "regression"
    archetype = "many_to_one"

    def read(self, raw_dir: Path) -> pd.DataFrame:
        """The series as columns `date`, `value` (the target) and any further inputs."""
        return read_series(raw_dir, self.fill_gaps)

    def resolved(self, frame: pd.DataFrame) -> ForecastWindows:
        """A copy with `auto` window and seasonal period made numbers from the whole
        series' dates (read before any backtest cut, so every fold agrees), said in one
        line; the user's numbers are kept."""
        if AUTO not in (self.window, self.seasonal_period):
            return self
        found = copy.copy(self)
        segments = self.segments(frame)
        inferred = frequency(segments[0][1]["date"])
        if found.seasonal_period == AUTO:
            found.seasonal_period = inferred.period
        capped = False
        if found.window == AUTO:
            reach = found.difference + found.seasonal_period * found.seasonal_difference
            training = min(self._training_length(part["date"]) for _, part in segments)
            found.window, capped = auto_window(found.seasonal_period, found.horizon,
                                               training, reach)
        found._check_window()
        if self.backtest_fold <= 1:  # a backtest's folds say it once
            cap = ", capped at half the training values" if capped else ""
            print(f"seqlab: {inferred.name} dates: dataset.seasonal_period="
                  f"{found.seasonal_period}, dataset.window={found.window}{cap} "
                  "(set either to change it)", file=sys.stderr)
        return found

    def _training_length(self, dates: pd.Series) -> int:
        """How many values come before the test period (a backtest: its first origin)."""
        if self.backtest_folds > 1:
            return len(dates) - (self.backtest_folds - 1) * self.stride - self.horizon
        return self._first_test(dates)

    def preprocess(self, raw_dir: Path) -> ProcessedData:
        frame = self.read(raw_dir)
        return self.resolved(frame).windowed(frame)

    def windowed(self, frame: pd.DataFrame) -> ProcessedData:
        """The series' windows, targets and splits (window and season resolved)."""
        # How the dates came in: the serving example, meta.json and answers write them so.
        style = frame.attrs.get(DATE_STYLE) or DateStyle.of(frame["date"])
        if self.backtest_fold:  # the series up to this fold's last target, tested there
            frame = frame.iloc[: self.fold_end(len(frame), self.backtest_fold)]
        # Several series (csv_series' series_column) are windowed each on its own, split
        # each at its own test period, and laid end to end; one scaler serves them all.
        parts = [self._periods(name, part) for name, part in self.segments(frame)]

        # Every column is scaled to [0, 1] over the training period only (a backtest that
        # fits once: the first fold's, which its model was trained on).
        training = np.concatenate([p.columns[: p.fit_end] for p in parts])
        if self.backtest_fold and not self.backtest_refit:
            whole = len(frame) + (self.backtest_folds - self.backtest_fold) * self.stride
            first_end = self.fold_end(whole, 1)
            first_train = first_end - self.horizon - self.window
            training = parts[0].columns[
                : first_end - self.horizon - int(round(first_train * self.val_fraction))]
        low, high = training.min(axis=0), training.max(axis=0)
        nonnegative = (bool(low[0] >= 0) if self.nonnegative == AUTO
                       else bool(self.nonnegative))
        if not high[0] > low[0]:
            raise DataError(
                f"{self.name}: the series is constant ({low[0]}) over the training period; "
                "there is nothing to learn"
            )
        span = np.where(high > low, high - low, 1.0)  # a constant extra input scales to 0
        names = [p.name for p in parts]
        pieces = [self._windows(p, low, span, names) for p in parts]
        starts = np.cumsum([0] + [len(p.columns) for p in parts])[:-1]
        first_rows = np.cumsum([0] + [len(w["inputs"]) for w in pieces])[:-1]
        inputs = np.concatenate([w["inputs"] for w in pieces])
        table_width = pieces[0]["width"]
        splits = {split: np.concatenate([w[split] + row for w, row in
                                         zip(pieces, first_rows, strict=True)])
                  for split in ("train", "val", "test")}
        targets_at = np.concatenate([w["targets_at"] + start for w, start in
                                     zip(pieces, starts, strict=True)])
        scaled = np.concatenate([w["scaled"] for w in pieces])
        dates = pd.concat([p.dates for p in parts], ignore_index=True)
        return ProcessedData(
            inputs=np.ascontiguousarray(inputs, dtype=np.float32),
            targets=scaled[targets_at].reshape(len(inputs), self.horizon),
            lengths=np.full(len(inputs), inputs.shape[1], dtype=np.int64),
            splits=splits,
            extras={"series": scaled, "target_pos": targets_at.astype(np.int64)},
            meta=Meta(
                name=self.name, task=self.task, archetype=self.archetype,
                input_size=int(inputs.shape[2]), output_size=self.horizon,
                steps=int(inputs.shape[1]),
                scaler={"min": float(low[0]), "max": float(high[0])},
                nonnegative=nonnegative,
                seasonal_period=self.seasonal_period,
                naive_mae=naive_mae([p.columns[: p.fit_end, 0] for p in parts],
                                    self.seasonal_period),
                series_lags=self.series_lags(table_width),
                relative=self.relative(),
                relative_scale=self.normalise == "window_scaled",
                dates=write_dates(dates, style.iso()),
                series=None if names == [None] else {
                    p.name: {"start": int(start),
                             "naive_mae": naive_mae(p.columns[: p.fit_end, 0],
                                                    self.seasonal_period)}
                    for p, start in zip(parts, starts, strict=True)},
                raw=self.raw_inputs(parts[-1].frame, parts[-1].columns, low, span, names,
                                    style),
            ),
        )

    def segments(self, frame: pd.DataFrame) -> list[tuple[str | None, pd.DataFrame]]:
        """The series in the frame, by name: one, unnamed, unless the file holds several."""
        return [(None, frame)]

    def _periods(self, name: str | None, frame: pd.DataFrame) -> Segment:
        """One series' values and where its validation and test periods begin."""
        columns = self._values(frame)  # the value, the further inputs, the known ones
        dates = frame["date"].reset_index(drop=True)
        length = len(columns)
        which = f"{self.name}" if name is None else f"{self.name}, series {name!r}"
        if length <= self.window:
            raise DataError(
                f"{which}: window {self.window} is not shorter than the series "
                f"({length} points); use a smaller dataset.window"
            )
        test_begin = (length - self.horizon if self.backtest_fold
                      else self._test_begin(dates, which))
        if length - test_begin < self.horizon:
            raise DataError(f"{which}: the test period ({length - test_begin} values) is "
                            f"shorter than the horizon ({self.horizon}); use a smaller "
                            "dataset.horizon or an earlier test period")
        train_windows = max(0, test_begin - self.window)
        fit_end = test_begin - int(round(train_windows * self.val_fraction))
        return Segment(name, frame, columns, dates, test_begin, fit_end)

    def _windows(self, part: Segment, low: np.ndarray, span: np.ndarray,
                 names: list[str | None]) -> dict[str, Any]:
        """One series' windows, their targets' places in it, and their splits."""
        table = with_series_id(self.with_known(scaled(part.columns, low, span), part.dates),
                               names, part.name)
        # Each window's first target; its `horizon` targets follow it.
        positions = np.arange(self.window, len(table) - self.horizon + 1)
        last = positions + self.horizon - 1  # each window's last target: no period straddled
        windows = table[positions[:, None] + np.arange(-self.window, 0)]  # oldest first
        rows = positions - self.window
        fit_end, test_begin = part.fit_end, part.test_begin
        return {
            "inputs": framed(windows, self.lag_order, self.framing),
            "width": table.shape[1],
            "scaled": table[:, 0],
            # One target a window (N), or `horizon` of them (N x H): places in the series.
            "targets_at": (positions if self.horizon == 1
                           else positions[:, None] + np.arange(self.horizon)),
            "train": rows[last < fit_end],
            "val": rows[(positions >= fit_end) & (last < test_begin)],
            "test": rows[positions >= test_begin],
        }

    def known_columns(self) -> list[str]:
        """The file's columns known in the future (csv_series' future_columns)."""
        return []

    def with_known(self, table: np.ndarray, dates: pd.Series) -> np.ndarray:
        """The scaled columns (value, past inputs, then the known ones) with the known
        ones and the calendar led by the horizon (see lead_known)."""
        split = table.shape[1] - len(self.known_columns())
        return lead_known(table[:, :split], table[:, split:], dates, self.calendar,
                          self.horizon)

    @property
    def stride(self) -> int:
        return self.backtest_stride or self.horizon

    def fold_end(self, length: int, fold: int) -> int:
        """How many values fold `fold` (1 = the earliest) keeps: up to its last target."""
        end = length - (self.backtest_folds - fold) * self.stride
        if end - self.horizon <= self.window + 1:
            raise DataError(f"{self.name}: {self.backtest_folds} backtest folds "
                            f"{self.stride} apart leave too little series before the first "
                            "origin; use fewer dataset.backtest_folds or a smaller stride")
        return end

    def series_lags(self, columns: int) -> list[list[int]]:
        """meta.series_lags: where the series' own lags sit in an input, oldest first."""
        steps = (range(self.window) if self.lag_order == "oldest_first"
                 else range(self.window - 1, -1, -1))
        return ([[s, 0] for s in steps] if self.framing == "steps"
                else [[0, s * columns] for s in steps])

    def relative(self) -> list[int] | None:
        """meta.relative: the differencing lags ([]: relative to the window's last value);
        None when the net reads levels."""
        lags = [1] * self.difference + [self.seasonal_period] * self.seasonal_difference
        return None if self.normalise == "none" and not lags else lags

    def raw_inputs(self, frame: pd.DataFrame, columns: np.ndarray, low: np.ndarray,
                   span: np.ndarray, series: list[str | None],
                   style: DateStyle | None = None) -> dict[str, Any]:
        """meta.raw: a forecast reads the last `window` rows of the series in its own
        columns; the example is the (last) series' last window (it forecasts past the
        data). Of several `series`, each is named in the series column. Its dates are
        written in the series' `style` (the one form of all its dates)."""
        names = self.column_names(frame)
        # With future columns, the rows ahead are given too: the example forecasts the
        # series' last `horizon` values, whose values (and past inputs) it leaves empty.
        ahead = self.horizon if names["future_columns"] else 0
        tail = slice(len(frame) - self.window - ahead, len(frame))
        style = style or DateStyle.of(frame["date"], date_format=names["date_format"])
        example = {names["date_column"]: write_dates(frame["date"].iloc[tail], style)}
        for i, column in enumerate([names["value_column"], *names["input_columns"]]):
            example[column] = [*columns[tail, i][: len(columns[tail]) - ahead].tolist(),
                               *[None] * ahead]
        first = columns.shape[1] - len(names["future_columns"])  # they come last
        for i, column in enumerate(names["future_columns"], start=first):
            example[column] = columns[tail, i].tolist()
        if series != [None]:
            example = {names["series_column"]: [series[-1]] * len(columns[tail]), **example}
        return {"format": "series", **names, "series": series, "window": self.window,
                "horizon": self.horizon, "lag_order": self.lag_order, "framing": self.framing,
                "calendar": list(self.calendar), "fill_gaps": self.fill_gaps,
                "date_style": style.to_raw(frame["date"]),
                "shift": low.tolist(), "scale": span.tolist(), "example": example}

    def column_names(self, frame: pd.DataFrame) -> dict[str, Any]:
        """The raw file's names of the date, the value and the further input columns."""
        return {"date_column": "date", "value_column": "value", "date_format": None,
                "input_columns": [str(c) for c in frame.columns[2:]], "future_columns": [],
                "series_column": None}

    def _values(self, frame: pd.DataFrame) -> np.ndarray:
        """Length x columns floats: the value, then any further input columns."""
        if frame.empty:
            raise DataError(f"{self.name}: the series is empty")
        values = frame.drop(columns="date").astype(float)
        missing = int(values.isna().to_numpy().sum())
        if missing and self.fill_missing == "none":
            raise DataError(
                f"{self.name}: the series has {missing} missing or non-numeric values; "
                "set dataset.fill_missing=interpolate to fill them"
            )
        if missing:
            values = values.interpolate(limit_direction="both")
        return values.to_numpy(dtype=np.float64)

    def _test_begin(self, dates: pd.Series, which: str) -> int:
        """Index of the first test target; test windows may read earlier values as inputs.
        `which` names the series in errors."""
        begin = self._first_test(dates)
        if begin >= len(dates):
            raise DataError(f"{which}: no data on or after test_start={self.test_start}")
        if begin <= self.window + 1:
            raise DataError(
                f"{which}: fewer than two training windows before the test period; "
                "use a smaller dataset.window or a later dataset.test_start"
            )
        return begin

    def _first_test(self, dates: pd.Series) -> int:
        """Index of the first test target: the first on or after test_start, else the
        first of the last test_fraction."""
        if self.test_start is None:
            return len(dates) - max(1, int(round(len(dates) * self.test_fraction)))
        return int((dates < as_of(dates, self.test_start, "test_start")).sum())
