"""Next-value prediction at every step of a series (synchronous many-to-many).

The series is cut into chunks; at step t of a chunk the input is the value at t and the
target the value at t+1, so a model emits a forecast at every step from what it has read
so far. Training chunks overlap (every `stride` values); validation and test chunks tile
their period without overlap, so each value there is scored once, and the last chunk of
a period is shorter (lengths vary, padding is masked). The MinMax scaler is fitted on the
training period only.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqlab.checks import AUTO, require_choice, require_int, require_number
from seqlab.data.dates import DATE_STYLE, DateStyle, write_dates
from seqlab.data.frequency import frequency
from seqlab.data.meta import Meta
from seqlab.data.processed import ProcessedData
from seqlab.data.raw_inputs import scaled as scale
from seqlab.data.series import FILLS, GAP_FILLS, naive_mae, read_series
from seqlab.errors import DataError


@dataclass
class StepForecast:
    """Chunks of a series as sequences: N x T x 1 values in, N x T x 1 next values out."""

    name: str
    source: str
    steps: int = 20  # chunk length
    stride: int = 5  # between the starts of training chunks
    test_fraction: float = 0.2  # the last part of the series
    val_fraction: float = 0.1  # the last part of the rest
    # > 1: also report the seasonal-naive baseline; auto: from the dates' frequency
    seasonal_period: int | str = AUTO
    fill_missing: str = "none"
    fill_gaps: str = "refuse"

    def __post_init__(self) -> None:
        require_int("steps", self.steps, minimum=2)
        require_int("seasonal_period", self.seasonal_period, minimum=1, auto=True)
        require_int("stride", self.stride, minimum=1)
        require_number("test_fraction", self.test_fraction, 0, 1, low_open=True, high_open=True)
        require_number("val_fraction", self.val_fraction, 0, 1, high_open=True)
        require_choice("fill_missing", self.fill_missing, FILLS)
        require_choice("fill_gaps", self.fill_gaps, GAP_FILLS)

    task = "step_regression"
    archetype = "synchronous"

    def preprocess(self, raw_dir: Path) -> ProcessedData:
        frame = read_series(raw_dir, self.fill_gaps)
        style = frame.attrs.get(DATE_STYLE) or DateStyle.of(frame["date"])
        values = frame["value"]
        if values.isna().any():
            if self.fill_missing == "none":
                raise DataError(f"{self.name}: the series has missing or non-numeric values; "
                                "set dataset.fill_missing=interpolate to fill them")
            values = values.interpolate(limit_direction="both")
        values = values.to_numpy(dtype=np.float64)
        period = self.seasonal_period
        if period == AUTO:
            inferred = frequency(frame["date"])
            period = inferred.period
            print(f"seqlab: {inferred.name} dates: dataset.seasonal_period={period} (set it "
                  "to change it)", file=sys.stderr)
        # Target positions: [1, val_begin) train, [val_begin, test_begin) val, the rest test.
        test_begin = len(values) - int(round(len(values) * self.test_fraction))
        val_begin = test_begin - int(round((test_begin - 1) * self.val_fraction))
        if val_begin - 1 < self.steps:
            raise DataError(f"{self.name}: the training period is shorter than one chunk of "
                            f"{self.steps} steps; use a smaller dataset.steps")
        low, high = float(values[:val_begin].min()), float(values[:val_begin].max())
        if not high > low:
            raise DataError(f"{self.name}: the series is constant over the training period")
        scaled = scale(values, low, high - low)  # as predict scales raw inputs

        periods = {
            "train": range(1, val_begin - self.steps + 1, self.stride),
            "val": range(val_begin, test_begin, self.steps),
            "test": range(test_begin, len(values), self.steps),
        }
        period_end = {"train": val_begin, "val": test_begin, "test": len(values)}
        starts, ends, splits, row = [], [], {}, 0
        for split, first_targets in periods.items():
            for first in first_targets:
                starts.append(first)
                ends.append(min(first + self.steps, period_end[split]))
            splits[split] = np.arange(row, len(starts), dtype=np.int64)
            row = len(starts)
        lengths = np.array(ends, dtype=np.int64) - np.array(starts, dtype=np.int64)
        target_pos = np.full((len(starts), self.steps), -1, dtype=np.int64)
        for i, (first, length) in enumerate(zip(starts, lengths, strict=True)):
            target_pos[i, :length] = np.arange(first, first + length)
        padded = target_pos < 0
        inputs = np.where(padded, 0.0, scaled[target_pos - 1]).astype(np.float32)
        targets = np.where(padded, 0.0, scaled[target_pos]).astype(np.float32)
        return ProcessedData(
            inputs=inputs[:, :, None],
            targets=targets[:, :, None],
            lengths=lengths,
            splits=splits,
            extras={"series": scaled, "target_pos": target_pos},
            meta=Meta(
                name=self.name, task=self.task, archetype=self.archetype, input_size=1,
                output_size=1, steps=self.steps, variable_length=True,
                scaler={"min": low, "max": high}, seasonal_period=period,
                naive_mae=naive_mae(values[:val_begin], period),
                dates=write_dates(frame["date"], style),
                # A forecast at every row read; the example is the series' last chunk.
                raw={"format": "series", "date_column": "date", "value_column": "value",
                     "date_format": None, "input_columns": [], "window": None,
                     "fill_gaps": self.fill_gaps, "shift": [low], "scale": [high - low],
                     "date_style": style.to_raw(frame["date"]),
                     "example": {"date": write_dates(frame["date"].iloc[-self.steps:], style),
                                 "value": values[-self.steps:].tolist()}},
            ),
        )
