"""Raw inputs, in the dataset's own terms, as the arrays the net was trained on.

A dataset's meta.json says in `raw` how its raw inputs look (`format`) and what
preprocessing did to them: the scaler or vocabulary it fitted, the window, the lag order.
Each format below reads a table of raw inputs (one request to the served model, or the
file given to `python -m seqlab.predict`) and encodes it exactly as preprocessing did, so
a prediction never depends on the user repeating the preprocessing by hand:

- `series`: a dated series, oldest first, in its own columns (date, value, inputs);
- `texts`: one text per row, to classify;
- `sentences`: one sentence per row, words separated by spaces, to tag word by word;
- `sources`: one source text per row (a sentence to translate, a date to normalise);
- `values`: one fixed-size numeric input per row (an image's grey levels);
- `sequences`: one row per step of numeric sequences, an `id` column telling them apart.

An `id` column is carried into the answers. Every problem is one DataError naming the
input, its line and column.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence, Sized
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from seqlab.data.meta import Meta
from seqlab.data.raw_inputs import scaled
from seqlab.data.vocab import UNK, Vocab, split
from seqlab.errors import DataError

ID = "id"  # the column that names inputs (and groups the steps of a sequence)
MISSING_NAMED = 5  # a missing-column error names this many, then counts the rest
# A gap in a series given to predict: advice a user can follow from the command or a request.
GAPS_ADVICE = ("give a row for every date, or fill the gaps by interpolation "
            "(python -m seqlab.predict --fill-gaps interpolate)")


@dataclass(frozen=True)
class Place:
    """Where raw inputs come from, for errors: a file (rows are its lines) or a request."""

    name: str
    lines: Sequence[int] | None = None  # each row's line; None: row i is line i + first
    first: int = 2  # a CSV's first row is its line 2, under the header
    unit: str = "line"  # what a row is called: a file's line, a request's row
    blanks: bool = False  # a blank text is an input of its own (a .txt's blank line)

    def line(self, row: int) -> int:
        return int(self.lines[row]) if self.lines is not None else row + self.first

    def at(self, row: int, column: str | None = None) -> str:
        where = f"{self.name}: {self.unit} {self.line(row)}"
        return where if column is None else f"{where}, column {column!r}"


@dataclass
class Encoded:
    """A table of raw inputs as the net's arrays, and what names each answer."""

    inputs: np.ndarray  # N x T x F float32 values or N x T int64 token ids
    lengths: np.ndarray  # N real steps
    keys: pd.DataFrame  # one row per input: the columns its answer starts with
    steps: pd.DataFrame | None = None  # one row per real step, for per-step answers
    # What predict.warnings reads: the input each table row belongs to (None: row i is
    # input i), the blank inputs (answered with an empty row), each input's unknown
    # tokens, and the dates a series' gaps were filled with.
    owners: np.ndarray | None = None
    blank: np.ndarray | None = None
    unknown: list[list[str]] | None = None
    filled: list[str] = field(default_factory=list)


def listed(names: Sequence[str], first: int = MISSING_NAMED) -> str:
    """Names quoted, the first few: "'a', 'b', 'c', 'd', 'e' and 59 more"."""
    shown = ", ".join(repr(str(n)) for n in names[:first])
    return f"{shown} and {len(names) - first} more" if len(names) > first else shown


def require_columns(frame: pd.DataFrame, columns: Sequence[str], place: Place) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{place.name}: no column{'s' if len(missing) > 1 else ''} "
                        f"{listed(missing)}")
    if frame.empty:
        raise DataError(f"{place.name}: no rows to predict")


def numbers(frame: pd.DataFrame, columns: Sequence[str], place: Place) -> np.ndarray:
    """Rows x columns float64; an empty cell, a non-number or an infinity is an error."""
    table = np.empty((len(frame), len(columns)))
    for i, column in enumerate(columns):
        cells = frame[column]
        values = pd.to_numeric(cells.astype(str).str.strip() if cells.dtype == object
                               else cells, errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values)
        if bad.any():
            row = int(bad.argmax())
            cell = cells.iloc[row]  # a text quoted; nan, inf as they read (not np.float64(nan))
            shown = repr(cell) if isinstance(cell, str) else str(cell)
            raise DataError(f"{place.at(row, column)}: {shown} is not a finite number")
        table[:, i] = values
    return table


def keys(frame: pd.DataFrame) -> pd.DataFrame:
    """The id column of the inputs (as given), or no column."""
    return frame[[ID]].reset_index(drop=True) if ID in frame.columns else pd.DataFrame(
        index=range(len(frame)))


def scaled_as_trained(values: np.ndarray, raw: dict[str, Any]) -> np.ndarray:
    """Values as preprocessing scaled them: (value - shift) / scale, per column."""
    return scaled(values, np.asarray(raw["shift"]), np.asarray(raw["scale"]))


def padded(rows: list[np.ndarray], pad: float | int, dtype: type) -> tuple[np.ndarray, ...]:
    """Rows of different lengths as one N x T(...) array padded with `pad`, and lengths."""
    lengths = np.array([len(r) for r in rows], dtype=np.int64)
    shape = (len(rows), int(lengths.max()), *np.shape(rows[0])[1:])
    out = np.full(shape, pad, dtype=dtype)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out, lengths


def blanks(texts: Sequence[Sized], place: Place, column: str, problem: str) -> np.ndarray:
    """Which texts are blank: inputs of their own where the place allows (a .txt's blank
    lines, answered with an empty row), else an error naming the first."""
    blank = np.array([not text for text in texts], dtype=bool)
    if blank.any() and not place.blanks:
        raise DataError(f"{place.at(int(blank.argmax()), column)}: {problem}")
    return blank


def unknown(pieces: Sequence[Sequence[str]], vocab: Vocab) -> list[list[str]]:
    """Each input's tokens that the vocabulary does not hold (the unknown token for the net)."""
    return [[p for p in ps if p not in vocab.index] for ps in pieces]


# -- the formats ---------------------------------------------------------------------------

def series(frame: pd.DataFrame, meta: Meta, place: Place) -> Encoded:
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
    """One series' rows (of the series `name`, among several) as series() reads them."""
    from seqlab.data.dates import DateStyle, read_dates, write_dates
    from seqlab.data.forecast import check_series, dates_after, lead_known

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
    past = ((values - shift[:columns]) / scale[:columns]).astype(np.float32)
    known = ((known - shift[columns:]) / scale[columns:]).astype(np.float32)
    if not ahead:  # no rows ahead: the calendar alone reads the dates that follow
        dates = pd.concat([past_dates, pd.Series(following)], ignore_index=True)
        known = np.zeros((len(dates), 0), dtype=np.float32)
    # The known inputs and the calendar as of each row's date `horizon` rows later.
    inputs = lead_known(past, known, dates, raw.get("calendar", []), horizon)
    names = raw.get("series") or [None]
    if len(names) > 1:  # which series: a static input at every step, as in training
        inputs = np.concatenate([inputs, np.repeat(np.eye(len(names), dtype=np.float32)[
            [names.index(name)]], len(inputs), axis=0)], axis=1)
    if window is None:  # per step: a forecast of the date after each row
        forecast_dates = [*past_dates.iloc[1:], *following]
        return Encoded(inputs=inputs[None], lengths=np.array([len(inputs)]),
                       keys=pd.DataFrame(index=[0]),
                       steps=pd.DataFrame({"date": write_dates(forecast_dates, style)}),
                       owners=np.zeros(len(frame), dtype=np.int64), filled=filled)
    last = inputs[-window:]  # oldest first
    if raw["lag_order"] == "newest_first":
        last = last[::-1]
    if raw["framing"] == "features":
        last = last.reshape(1, -1)
    return Encoded(inputs=np.ascontiguousarray(last)[None], lengths=np.array([len(last)]),
                   keys=pd.DataFrame({"date": write_dates(following[:1], style)}),
                   steps=None if horizon == 1 else pd.DataFrame(
                       {"date": write_dates(following, style)}),
                   owners=np.zeros(len(frame), dtype=np.int64), filled=filled)


def texts(frame: pd.DataFrame, meta: Meta, place: Place) -> Encoded:
    """One text per row, lowercased words as in training (text_classes.words), cut to
    `max_tokens`; unknown words are the unknown token."""
    from seqlab.data.text_classes import encode, words

    raw = meta.raw
    column = raw["column"]
    require_columns(frame, [column], place)
    tokens = [words(str(text)) for text in frame[column]]
    blank = blanks(tokens, place, column, "no words to classify")
    vocab = Vocab(meta.source_vocab, "word")
    inputs, lengths = encode([t or [UNK] for t in tokens], vocab, raw["max_tokens"],
                             raw["keep"])
    return Encoded(inputs=inputs, lengths=lengths, keys=keys(frame), blank=blank,
                   unknown=unknown(tokens, vocab))


def sentences(frame: pd.DataFrame, meta: Meta, place: Place) -> Encoded:
    """One sentence per row, its words separated by spaces: a tag for every word."""
    require_columns(frame, ["sentence"], place)
    from seqlab.data.treebank import word_features

    fold = str.lower if meta.raw["lowercase"] else str
    vocab = Vocab(meta.source_vocab, "word")
    words = [str(text).split() for text in frame["sentence"]]
    blank = blanks(words, place, "sentence", "no words to tag")
    words = [ws or [""] for ws in words]  # a blank sentence: one empty word, its tag emptied
    chars = meta.raw.get("chars")  # words read with their characters, as in training
    alphabet = {c: i for i, c in enumerate(chars, start=2)} if chars else None
    width = meta.model_args.get("chars_per_word", 0)
    ids = [word_features(ws, vocab, fold, alphabet, width) for ws in words]
    inputs, lengths = padded(ids, vocab.pad_id, np.int64)
    number = range(1, len(words) + 1)
    steps = pd.DataFrame({"sentence": [n for n, ws in zip(number, words, strict=True)
                                       for _ in ws],
                          "token": [w for ws in words for w in ws]})
    return Encoded(inputs=inputs, lengths=lengths, keys=pd.DataFrame({"sentence": list(number)}),
                   steps=steps, blank=blank,
                   unknown=[[w for w in ws if fold(w) not in vocab.index] for ws in words])


def sources(frame: pd.DataFrame, meta: Meta, place: Place) -> Encoded:
    """One source text per row, normalised as the training sources were."""
    from seqlab.data.fra_eng import tokenize

    raw = meta.raw
    column = raw["column"]
    require_columns(frame, [column], place)
    given = [str(text).strip() for text in frame[column]]
    blank = blanks(given, place, column, "empty text")  # read as the end token alone
    if raw["tokenize"]:
        given = [tokenize(t, raw["lowercase"]) for t in given]
    elif raw["lowercase"]:
        given = [t.lower() for t in given]
    vocab = Vocab(meta.source_vocab, meta.source_level)
    inputs, lengths = vocab.encode_all(given)
    return Encoded(inputs=inputs, lengths=lengths, keys=keys(frame), blank=blank,
                   unknown=unknown([split(t, vocab.level) for t in given], vocab))


def values(frame: pd.DataFrame, meta: Meta, place: Place) -> Encoded:
    """One input per row: its values (an image's grey levels, row by row) in `columns`."""
    raw = meta.raw
    require_columns(frame, raw["columns"], place)
    table = scaled_as_trained(numbers(frame, raw["columns"], place), raw)
    inputs = table.reshape(len(frame), *raw["shape"])
    return Encoded(inputs=inputs, lengths=np.full(len(frame), inputs.shape[1]),
                   keys=keys(frame))


def sequences(frame: pd.DataFrame, meta: Meta, place: Place) -> Encoded:
    """One row per step; rows with the same `id` are one sequence (in the order given);
    without an `id` column the whole table is one sequence."""
    raw = meta.raw
    require_columns(frame, raw["columns"], place)
    table = scaled_as_trained(numbers(frame, raw["columns"], place), raw)
    ids = frame[ID].astype(str).to_numpy() if ID in frame.columns else np.full(len(frame), "1")
    order = list(dict.fromkeys(ids))
    rows = [table[ids == name] for name in order]
    inputs, lengths = padded(rows, 0.0, np.float32)
    names = frame[ID].drop_duplicates().tolist() if ID in frame.columns else [1]
    steps = pd.DataFrame({ID: [n for n, r in zip(names, rows, strict=True) for _ in r],
                          "step": [s for r in rows for s in range(1, len(r) + 1)]})
    position = {name: i for i, name in enumerate(order)}
    return Encoded(inputs=inputs, lengths=lengths, keys=pd.DataFrame({ID: names}),
                   steps=steps, owners=np.array([position[i] for i in ids], dtype=np.int64))


FORMATS: dict[str, Callable[[pd.DataFrame, Meta, Place], Encoded]] = {
    "series": series, "texts": texts, "sentences": sentences, "sources": sources,
    "values": values, "sequences": sequences,
}


def encode(frame: pd.DataFrame, meta: Meta, place: Place) -> Encoded:
    """Raw inputs as the net's arrays, by the format the dataset declared."""
    if not meta.raw:
        raise DataError(f"{meta.name}: its meta.json has no `raw` (what raw inputs look "
                        "like): preprocess and train again with this seqlab, or, for a "
                        "dataset kind of your own, set Meta.raw (README: Adding a dataset)")
    if meta.raw.get("format") not in FORMATS:
        raise DataError(f"{meta.name}: meta.json's raw format {meta.raw.get('format')!r} is "
                        f"not one of: {', '.join(FORMATS)}")
    return FORMATS[meta.raw["format"]](frame.reset_index(drop=True), meta, place)


def example(meta: Meta) -> pd.DataFrame:
    """The raw example the dataset keeps (a few test inputs), as a table."""
    return pd.DataFrame(meta.raw["example"])


def columns(meta: Meta) -> list[str]:
    """The columns a table of raw inputs needs (besides an optional `id`)."""
    raw = meta.raw
    return {
        "series": lambda: [*([raw["series_column"]] if raw.get("series_column") else []),
                           raw["date_column"], raw["value_column"], *raw["input_columns"],
                           *raw.get("future_columns", [])],
        "texts": lambda: [raw["column"]], "sentences": lambda: ["sentence"],
        "sources": lambda: [raw["column"]], "values": lambda: raw["columns"],
        "sequences": lambda: raw["columns"],
    }[raw["format"]]()
