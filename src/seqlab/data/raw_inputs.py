"""Raw inputs: how a dataset kind describes them in meta.raw, and how they become the
net's arrays again, exactly as preprocessing made them.

A dataset's meta.json says in `raw` how its raw inputs look (`format`) and what
preprocessing did to them: the scaler or vocabulary it fitted, the window, the lag order.
Each format's reader lives with the kind that writes it and uses the same functions
its preprocessing does: a series (seqlab.data.raw_series), texts (text_classes),
sentences (treebank), source texts (text_pairs); the numeric formats two or more kinds
share are here: `values` (one fixed-size input per row, an image's grey levels) and
`sequences` (one row per step, an `id` column telling sequences apart), with the one
scaling of numeric values (`scaled`). seqlab.predict.inputs dispatches a table of raw
inputs (a request to the served model, a file given to `python -m seqlab.predict`) to
its format's reader. An `id` column is carried into the answers. Every problem is one
DataError naming the input, its line and column.
"""

from __future__ import annotations

from collections.abc import Sequence, Sized
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from seqlab.errors import DataError

if TYPE_CHECKING:
    from seqlab.data.meta import Meta
    from seqlab.data.vocab import Vocab



def scaled(values: np.ndarray, shift: np.ndarray | float, scale: np.ndarray | float
           ) -> np.ndarray:
    """Values as the net reads them: each column's (value - shift) / scale, both fitted on
    the training split. Preprocessing writes them so, and predict reads raw inputs so."""
    return ((values - shift) / scale).astype(np.float32)


def image_rows(images: np.ndarray, shape: tuple[int, ...], max_level: float
               ) -> dict[str, object]:
    """meta.raw of images: each one a row of its grey levels as the source holds them
    (`pixel0`, `pixel1`, ... row by row), read as `shape` (steps x features) and divided
    by the level of full ink; the example is `images` (a few test images)."""
    flat = images.reshape(len(images), -1)
    columns = [f"pixel{i}" for i in range(flat.shape[1])]
    return {"format": "values", "columns": columns, "shape": list(shape), "shift": [0.0],
            "scale": [float(max_level)],
            "example": {c: flat[:, i].tolist() for i, c in enumerate(columns)}}


def step_rows(columns: list[str], shift: np.ndarray | float, scale: np.ndarray | float,
              examples: np.ndarray, lengths: np.ndarray) -> dict[str, object]:
    """meta.raw of numeric sequences: one row per step, the `columns` in the source's
    units, an `id` column telling sequences apart; each value becomes (value - shift) /
    scale. The example is `examples` (N x T x F, real steps by `lengths`)."""
    ids = [i + 1 for i, n in enumerate(lengths) for _ in range(int(n))]
    steps = np.concatenate([example[: int(n)] for example, n in zip(examples, lengths,
                                                                     strict=True)])
    return {"format": "sequences", "columns": columns,
            "shift": np.atleast_1d(shift).astype(float).tolist(),
            "scale": np.atleast_1d(scale).astype(float).tolist(),
            "example": {"id": ids, **{c: steps[:, i].tolist() for i, c in enumerate(columns)}}}


# -- reading raw inputs back --------------------------------------------------------------

ID = "id"  # the column that names inputs (and groups the steps of a sequence)
MISSING_NAMED = 5  # a missing-column error names this many, then counts the rest


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


def encode_values(frame: pd.DataFrame, meta: Meta, place: Place) -> Encoded:
    """One input per row: its values (an image's grey levels, row by row) in `columns`."""
    raw = meta.raw
    require_columns(frame, raw["columns"], place)
    table = scaled_as_trained(numbers(frame, raw["columns"], place), raw)
    inputs = table.reshape(len(frame), *raw["shape"])
    return Encoded(inputs=inputs, lengths=np.full(len(frame), inputs.shape[1]),
                   keys=keys(frame))


def encode_sequences(frame: pd.DataFrame, meta: Meta, place: Place) -> Encoded:
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
