"""Bring your own series: forecasting on the user's CSV, with any date and value columns.

`dataset=csv_series dataset.path=my.csv dataset.date_column=Month
dataset.value_column=Sales` windows the user's file exactly as ForecastWindows windows a
shipped series (any frequency; split by date or by the last fraction). Further numeric
columns (`input_columns`) become extra inputs at every step. The fetch stage copies the
file into data/raw/<source>/, so DVC versions it and editing it reruns what reads it.
The seasonal period and the window are inferred from the dates' frequency unless given
(`auto`, see seqlab.data.frequency).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from seqlab.checks import AUTO, Auto
from seqlab.data.dates import DATE_STYLE, DateStyle, read_dates
from seqlab.data.forecast import ForecastWindows
from seqlab.data.series import check_series
from seqlab.data.user_files import (
    check_path,
    fetched_copy,
    headerless_dates,
    numbers,
    read_table,
)
from seqlab.errors import ConfigError, DataError

SERIES = "series name"  # the frame's column of series names (not a column of the file)


@dataclass
class CsvSeries(ForecastWindows):
    """The user's CSV as a forecasting series: one row per date, oldest first."""

    # A user's series may be of any frequency: both follow from its dates unless given.
    window: int | Auto = AUTO
    seasonal_period: int | Auto = AUTO
    path: str = ""
    date_column: str = "date"
    value_column: str = "value"
    input_columns: list[str] = field(default_factory=list)  # further inputs at each step
    # Inputs known in the future (a planned promotion, a holiday flag): read as of the
    # dates forecast (ForecastWindows.with_known); a forecast is given their values ahead.
    future_columns: list[str] = field(default_factory=list)
    # Several series in one file, named in this column: windowed each on its own and
    # trained as one global model that is told which series it reads.
    series_column: str | None = None
    date_format: str | None = None  # strftime format; null: ISO dates, years, Mon-YYYY, ...

    def __post_init__(self) -> None:
        super().__post_init__()
        check_path(self.path)
        columns = [self.date_column, self.value_column, *self.input_columns,
                   *self.future_columns, *([self.series_column] if self.series_column else [])]
        if self.series_column and self.backtest_folds > 1:
            raise ConfigError("series_column: backtests cut one series at its folds' "
                              "origins; give dataset.backtest_folds=1 with several series")
        repeated = {c for c in columns if columns.count(c) > 1}
        if repeated:
            raise ConfigError(f"input_columns: {sorted(repeated)[0]!r} is named twice; "
                              "the date, value, input, future and series columns must differ")

    def read(self, raw_dir: Path) -> pd.DataFrame:
        path = fetched_copy(raw_dir, self.path)
        self.date_column = headerless_dates(path, self.date_column, self.path)
        series = [self.series_column] if self.series_column else []
        table = read_table(path, [self.date_column, self.value_column, *self.input_columns,
                                  *self.future_columns, *series])
        text = table[self.date_column]
        frame = pd.DataFrame({"date": read_dates(str(path), text, self.date_column,
                                                 self.date_format)})
        # Dates are written back (serving example, answers) as they came in.
        style = DateStyle.of(frame["date"], text, self.date_format)
        frame["value"] = numbers(path, table, self.value_column)
        for column in [*self.input_columns, *self.future_columns]:
            frame[column] = numbers(path, table, column)
        if not self.series_column:
            checked = check_series(path, frame, self.fill_gaps)
            checked.attrs[DATE_STYLE] = style
            return checked
        names = table[self.series_column].astype(str).str.strip()
        if (names == "").any():
            row = int((names == "").to_numpy().argmax())
            raise DataError(f"{path}: line {row + 2}, column {self.series_column!r}: empty; "
                            "name the series of every row")
        # Each series is checked on its own rows, which keep their line numbers.
        checked = pd.concat([check_series(path, frame[names == name], self.fill_gaps)
                             .assign(**{SERIES: name}) for name in names.unique()],
                            ignore_index=True)
        checked.attrs[DATE_STYLE] = style
        return checked

    def segments(self, frame: pd.DataFrame) -> list[tuple[str | None, pd.DataFrame]]:
        if SERIES not in frame.columns:
            return [(None, frame)]
        return [(str(name), part.drop(columns=SERIES).reset_index(drop=True))
                for name, part in frame.groupby(SERIES, sort=False)]

    def known_columns(self) -> list[str]:
        return list(self.future_columns)

    def column_names(self, frame: pd.DataFrame) -> dict[str, Any]:
        return {"date_column": self.date_column, "value_column": self.value_column,
                "date_format": self.date_format, "input_columns": list(self.input_columns),
                "future_columns": list(self.future_columns),
                "series_column": self.series_column}
