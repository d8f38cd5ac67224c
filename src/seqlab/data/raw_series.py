"""A series given raw (a request to the served model, a file to predict from): read, checked,
scaled, led and windowed by the functions the series' preprocessing uses
(seqlab.data.series, seqlab.data.forecast), so it becomes the array training read."""

from __future__ import annotations

import numpy as np
import pandas as pd

from seqlab.data.dates import DateStyle, read_dates, write_dates
from seqlab.data.forecast import framed, lead_known, with_series_id
from seqlab.data.meta import Meta
from seqlab.data.raw_inputs import Encoded, Place, numbers, require_columns, scaled
from seqlab.data.series import check_series, dates_after
from seqlab.errors import DataError

# A gap in a series given to predict: advice a user can follow from the command or a request.
GAPS_ADVICE = ("give a row for every date, or fill the gaps by interpolation "
            "(python -m seqlab.predict --fill-gaps interpolate)")


def encode_raw(frame: pd.DataFrame, meta: Meta, place: Place) -> Encoded:
    """A series in its own columns, oldest first: the next value after its last row (a
    window model reads the last `window` rows; with a horizon, the next `horizon`
    values), or the next value after every row (a per-step model). Answers are keyed by
    the date they forecast. A model of several series (series_column) answers each series
    in the table, keyed by its name too."""
    column = meta.raw.get("series_column")
    if not column:
        return one_series(frame, meta, place)
    require_columns(frame, [column], place)
    names = frame[column].astype(str).str.strip()
    trained = meta.raw["series"]
    unknown = np.flatnonzero(~names.isin(trained))
    if unknown.size:
        raise DataError(f"{place.at(int(unknown[0]), column)}: {names.iloc[unknown[0]]!r} is "
                        f"not a series the model was trained on ({', '.join(trained[:5])}"
                        f"{', ...' if len(trained) > 5 else ''})")
    parts = [(name, one_series(frame[names == name].reset_index(drop=True), meta, place, name))
             for name in names.unique()]

    def named(name: str, table: pd.DataFrame) -> pd.DataFrame:
        return table.reset_index(drop=True).assign(**{column: name})[[column, *table.columns]]

    order = {name: i for i, (name, _) in enumerate(parts)}
    return Encoded(
        inputs=np.concatenate([p.inputs for _, p in parts]),
        lengths=np.concatenate([p.lengths for _, p in parts]),
        keys=pd.concat([named(n, p.keys) for n, p in parts], ignore_index=True),
        steps=None if parts[0][1].steps is None else pd.concat(
            [named(n, p.steps) for n, p in parts], ignore_index=True),
        owners=names.map(order).to_numpy(dtype=np.int64),
        filled=[f"{d} ({n})" for n, p in parts for d in p.filled])


def one_series(frame: pd.DataFrame, meta: Meta, place: Place, name: str | None = None
               ) -> Encoded:
    """One series' rows (of the series `name`, among several) as encode_raw reads them."""
    raw = meta.raw
    date_column, value_column = raw["date_column"], raw["value_column"]
    value_columns = [value_column, *raw["input_columns"]]
    future_columns = raw.get("future_columns", [])  # given for the rows ahead too
    require_columns(frame, [date_column, *value_columns, *future_columns], place)
    window = raw["window"]
    horizon = raw.get("horizon", 1)  # a window model may forecast several steps at once
    ahead = horizon if future_columns else 0  # rows after the window: the dates forecast
    if window is not None and len(frame) < window + ahead:
        more = (f", then the {ahead} rows ahead with their {', '.join(future_columns)}"
                if ahead else "")
        raise DataError(f"{place.name}: {len(frame)} rows, but the model reads the last "
                        f"{window}{more}; give at least {window + ahead} rows of the series, "
                        "oldest first")
    # Read and written back as the training data's dates were (the one reader and writer).
    trained = DateStyle.from_raw(raw)
    text = frame[date_column].astype(str).reset_index(drop=True)  # row i: line i + 2
    dates = read_dates(place.name, text, date_column, raw["date_format"],
                       hint=f"write dates as the training data did "
                       f"(e.g. {raw['example'][date_column][-1]})")
    style = DateStyle.of(dates, text, raw["date_format"], times=trained.times)
    given = slice(0, len(frame) - ahead)  # the rows whose values are known
    values = numbers(frame.iloc[given], value_columns, place)
    known = numbers(frame, future_columns, place)
    table = pd.DataFrame({"date": dates, **{c: known[:, i] for i, c in
                                            enumerate(future_columns)}})
    # Oldest first, one row per date, and no gaps: refused, or filled as in training (or
    # as --fill-gaps says), the values between interpolated.
    ahead_nan = np.full((ahead, len(value_columns)), np.nan)
    table = table.assign(**dict(zip(value_columns, np.r_[values, ahead_nan].T, strict=True)))
    full = check_series(place.name, table, raw.get("fill_gaps") or "refuse", hint=GAPS_ADVICE)
    filled = write_dates(full["date"][~full["date"].isin(dates)], style)
    if filled:  # the known rows are those up to the last one given with its values
        given = slice(0, int((full["date"] <= dates.iloc[len(frame) - ahead - 1]).sum()))
        dates = full["date"].reset_index(drop=True)
        values = full[value_columns].to_numpy(dtype=np.float64)[given]
        known = full[future_columns].to_numpy(dtype=np.float64)
    past_dates = dates.iloc[given]
    try:
        following = dates_after(past_dates, horizon if window is not None else 1)
    except DataError as error:
        raise DataError(f"{place.name}: {error}") from None
    # Scaled as in training: the value and past inputs, then the known columns.
    columns = len(value_columns)
    shift, scale = np.asarray(raw["shift"]), np.asarray(raw["scale"])
    past = scaled(values, shift[:columns], scale[:columns])
    known = scaled(known, shift[columns:], scale[columns:])
    if not ahead:  # no rows ahead: the calendar alone reads the dates that follow
        dates = pd.concat([past_dates, pd.Series(following)], ignore_index=True)
        known = np.zeros((len(dates), 0), dtype=np.float32)
    # The known inputs and the calendar as of each row's date `horizon` rows later.
    inputs = lead_known(past, known, dates, raw.get("calendar", []), horizon)
    inputs = with_series_id(inputs, raw.get("series") or [None], name)
    if window is None:  # per step: a forecast of the date after each row
        forecast_dates = [*past_dates.iloc[1:], *following]
        return Encoded(inputs=inputs[None], lengths=np.array([len(inputs)]),
                       keys=pd.DataFrame(index=[0]),
                       steps=pd.DataFrame({"date": write_dates(forecast_dates, style)}),
                       owners=np.zeros(len(frame), dtype=np.int64), filled=filled)
    last = framed(inputs[None, -window:], raw["lag_order"], raw["framing"])  # as training
    return Encoded(inputs=np.ascontiguousarray(last), lengths=np.array([last.shape[1]]),
                   keys=pd.DataFrame({"date": write_dates(following[:1], style)}),
                   steps=None if horizon == 1 else pd.DataFrame(
                       {"date": write_dates(following, style)}),
                   owners=np.zeros(len(frame), dtype=np.int64), filled=filled)
