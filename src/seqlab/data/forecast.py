"""Windowed next-value forecasting on one series (the course's Exercise 1)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from seqlab.config import require_choice, require_int, require_number
from seqlab.data.meta import Meta
from seqlab.data.processed import ProcessedData
from seqlab.errors import ConfigError, DataError
from seqlab.layout import SERIES_FILE

LAG_ORDERS = ("newest_first", "oldest_first")
FRAMINGS = ("steps", "features")
FILLS = ("none", "interpolate")


def read_series(folder: Path) -> pd.DataFrame:
    """Read a raw `series.csv` (columns date,value), checking its shape."""
    path = Path(folder) / SERIES_FILE
    if not path.is_file():
        raise DataError(f"{path} is missing; run the fetch stage (dvc repro) first")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DataError(f"{path} is not a readable CSV ({' '.join(str(error).split())})") from None
    if list(frame.columns) != ["date", "value"]:
        raise DataError(f"{path}: expected columns date,value, found {','.join(frame.columns)}")
    frame["date"] = pd.to_datetime(frame["date"], errors="coerce")
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    if frame["date"].isna().any():
        row = int(frame["date"].isna().to_numpy().argmax()) + 2
        raise DataError(f"{path}: line {row} has a date that cannot be read")
    return frame


@dataclass
class ForecastWindows:
    """Predict the next value of a series from the `window` values before it.

    Windows are ordered newest first (t-1 first, as in the course's solution) or oldest
    first, and framed as `window` steps of one feature (N x W x 1) or one step of
    `window` features (N x 1 x W). The scaler is fitted on the training period only.
    """

    name: str
    source: str
    window: int = 12
    lag_order: str = "newest_first"
    framing: str = "steps"
    test_start: str | None = None  # first date of the test period; else use test_fraction
    test_fraction: float = 0.2
    val_fraction: float = 0.1  # the last part of the training period
    seasonal_period: int = 12
    fill_missing: str = "none"

    def __post_init__(self) -> None:
        require_int("window", self.window, minimum=1)
        require_choice("lag_order", self.lag_order, LAG_ORDERS)
        require_choice("framing", self.framing, FRAMINGS)
        require_number("test_fraction", self.test_fraction, 0, 1, low_open=True, high_open=True)
        require_number("val_fraction", self.val_fraction, 0, 1, high_open=True)
        require_int("seasonal_period", self.seasonal_period, minimum=1)
        require_choice("fill_missing", self.fill_missing, FILLS)
        if self.test_start is not None:
            try:
                pd.Timestamp(self.test_start)
            except ValueError:
                raise ConfigError(f"test_start: {self.test_start!r} is not a date") from None

    task = "regression"
    archetype = "many_to_one"

    def preprocess(self, raw_dir: Path) -> ProcessedData:
        frame = read_series(raw_dir)
        values = self._values(frame)
        dates = frame["date"]
        length = len(values)
        if length <= self.window:
            raise DataError(
                f"{self.name}: window {self.window} is not shorter than the series "
                f"({length} points); use a smaller dataset.window"
            )
        test_begin = self._test_begin(dates)
        positions = np.arange(self.window, length)  # index of each window's target
        train_positions = positions[positions < test_begin]
        n_val = int(round(len(train_positions) * self.val_fraction))
        fit_end = test_begin - n_val  # values before this index are the training period

        low, high = float(values[:fit_end].min()), float(values[:fit_end].max())
        if not high > low:
            raise DataError(
                f"{self.name}: the series is constant ({low}) over the training period; "
                "there is nothing to learn"
            )
        scaled = ((values - low) / (high - low)).astype(np.float32)

        offsets = np.arange(-self.window, 0)
        windows = scaled[positions[:, None] + offsets]  # oldest first
        if self.lag_order == "newest_first":
            windows = windows[:, ::-1]
        inputs = windows[:, :, None] if self.framing == "steps" else windows[:, None, :]
        rows = positions - self.window
        return ProcessedData(
            inputs=np.ascontiguousarray(inputs, dtype=np.float32),
            targets=scaled[positions][:, None],
            lengths=np.full(len(positions), inputs.shape[1], dtype=np.int64),
            splits={
                "train": rows[positions < fit_end],
                "val": rows[(positions >= fit_end) & (positions < test_begin)],
                "test": rows[positions >= test_begin],
            },
            extras={"series": scaled, "target_pos": positions.astype(np.int64)},
            meta=Meta(
                name=self.name, task=self.task, archetype=self.archetype,
                input_size=int(inputs.shape[2]), output_size=1, steps=int(inputs.shape[1]),
                scaler={"min": low, "max": high}, seasonal_period=self.seasonal_period,
                dates=dates.dt.strftime("%Y-%m-%d").tolist(),
            ),
        )

    def _values(self, frame: pd.DataFrame) -> np.ndarray:
        if frame.empty:
            raise DataError(f"{self.name}: the series is empty")
        missing = int(frame["value"].isna().sum())
        if missing and self.fill_missing == "none":
            raise DataError(
                f"{self.name}: the series has {missing} missing or non-numeric values; "
                "set dataset.fill_missing=interpolate to fill them"
            )
        values = frame["value"].interpolate(limit_direction="both") if missing else frame["value"]
        return values.to_numpy(dtype=np.float64)

    def _test_begin(self, dates: pd.Series) -> int:
        """Index of the first test target; test windows may read earlier values as inputs."""
        if self.test_start is None:
            begin = len(dates) - max(1, int(round(len(dates) * self.test_fraction)))
        else:
            begin = int((dates < pd.Timestamp(self.test_start)).sum())
        if begin >= len(dates):
            raise DataError(f"{self.name}: no data on or after test_start={self.test_start}")
        if begin <= self.window + 1:
            raise DataError(
                f"{self.name}: fewer than two training windows before the test period; "
                "use a smaller dataset.window or a later dataset.test_start"
            )
        return begin
