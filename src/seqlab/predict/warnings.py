"""What a prediction cannot be sure of: raw inputs unlike anything the model was trained on.

A trained net answers anything fluently, so predict says where its answers are guesses:
a sequence longer or shorter than any in training, rows of several sequences read as one
for want of an `id` column, values far outside the training range, unknown tokens,
columns it ignores, blank lines answered with an empty row, a series' gaps filled. Each
kind is one `seqlab: warning:` line (a count and the first lines it concerns), and a note
on each answer row it concerns (the served model's `warning` column).

The checks compare the inputs with what preprocessing measured on the training rows
(meta.raw's `lengths`, `ranges` and `unknown_share`: seqlab.data.meta.training_bounds); a
model trained before those were measured skips the checks it has no measure for.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from seqlab.data.meta import Meta
from seqlab.data.raw_inputs import ID, MISSING_NAMED, Encoded, Place, listed
from seqlab.data.vocab import Vocab
from seqlab.errors import DataError
from seqlab.predict.inputs import columns

FIRST = 3  # the lines a warning names, before "and N more"
# What one input of a format is called, and what its length counts.
NOUNS = {"sequences": ("sequence", "steps"), "texts": ("text", "words"),
         "sentences": ("sentence", "words"), "sources": ("text", "tokens"),
         "series": ("series", "rows"), "values": ("input", "values")}
Where = Callable[[Sequence[int]], str]  # inputs -> "lines 2, 5 and 3 more"
LEVEL_UNITS = {"word": "words", "token": "tokens", "char": "characters"}


@dataclass
class Kind:
    """One kind of doubt: its line, and a note for each input it concerns."""

    message: str
    notes: dict[int, str] = field(default_factory=dict)


@dataclass
class Warnings:
    """The doubts about one table of inputs, by kind (at most one line each)."""

    place: Place
    kinds: dict[str, Kind] = field(default_factory=dict)
    owners: np.ndarray | None = None  # the input each answer row answers

    def add(self, kind: str, message: str, notes: dict[int, str]) -> None:
        self.kinds.setdefault(kind, Kind(message, notes))

    def __bool__(self) -> bool:
        return bool(self.kinds)

    def lines(self) -> list[str]:
        """One line per kind, as `seqlab: warning:` prints it (without the prefix)."""
        return [f"{self.place.name}: {kind.message}" for kind in self.kinds.values()]

    def report(self) -> None:
        for line in self.lines():
            print(f"seqlab: warning: {line}", file=sys.stderr)

    def column(self) -> list[str]:
        """A note for every answer row: its input's doubts, or "" (the `warning` column)."""
        owners = self.owners if self.owners is not None else np.zeros(0, dtype=np.int64)
        return ["; ".join(k.notes[i] for k in self.kinds.values() if i in k.notes)
                for i in owners.tolist()]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _more(items: Sequence[str], first: int = FIRST) -> str:
    """'a, b, c and 4 more'."""
    shown = ", ".join(items[:first])
    return f"{shown} and {len(items) - first} more" if len(items) > first else shown


def _number(value: float) -> str:
    return f"{value:g}"


def positional(names: Sequence[str]) -> str | None:
    """The prefix of columns named by their position (pixel0, pixel1, ...), else None."""
    found = [re.fullmatch(r"(.*?)(\d+)", name) for name in names]
    if len(names) < 2 or not all(found):
        return None
    prefixes = {m.group(1) for m in found if m}
    numbers = sorted(int(m.group(2)) for m in found if m)
    if len(prefixes) != 1 or numbers != list(range(numbers[0], numbers[0] + len(numbers))):
        return None
    return prefixes.pop()


def refuse_other_sizes(frame: pd.DataFrame, meta: Meta, place: Place) -> None:
    """Columns named by position beyond the model's (pixel0 ... pixel191 for a model of
    pixel0 ... pixel63) are inputs of another size: an error, never the first 64 read."""
    needed = columns(meta)
    prefix = positional(needed)
    if prefix is None:
        return
    family = [str(c) for c in frame.columns if re.fullmatch(re.escape(prefix) + r"\d+", str(c))]
    if set(family) - set(needed):
        raise DataError(f"{place.name}: {len(family)} columns {family[0]} ... {family[-1]}, but "
                        f"this model reads {len(needed)} ({needed[0]} ... {needed[-1]}); give "
                        "inputs of the size it was trained on")


def review(frame: pd.DataFrame, encoded: Encoded, meta: Meta, found: Warnings) -> None:
    """Every check of a table of inputs, once encoded, into `found`."""
    raw, place = meta.raw, found.place
    owners = (encoded.owners if encoded.owners is not None
              else np.arange(len(frame), dtype=np.int64))
    inputs = np.arange(len(encoded.lengths))
    blank = encoded.blank if encoded.blank is not None else np.zeros(len(inputs), dtype=bool)
    noun, unit = NOUNS.get(raw.get("format"), ("input", "steps"))
    # The line each input starts on.
    starts = {int(o): place.line(row) for row, o in reversed(list(enumerate(owners)))}

    def at(flagged: Sequence[int]) -> str:
        lines = [str(starts.get(int(i), "?")) for i in flagged]
        return f"{place.unit}{'s' if len(lines) > 1 else ''} {_more(lines)}"

    if blank.any():
        rows = np.flatnonzero(blank)
        found.add("blank", f"{_plural(len(rows), 'blank ' + place.unit)}, answered with an "
                           f"empty row ({at(rows)})",
                  {int(i): f"blank {place.unit}" for i in rows})
    extra = [str(c) for c in frame.columns if str(c) not in columns(meta) and str(c) != ID]
    if extra:
        named = listed(extra)
        found.add("columns", f"{_plural(len(extra), 'column')} this model does not read, "
                             f"ignored: {named}",
                  {int(i): f"ignored: {named}" for i in inputs})
    if raw.get("format") == "sequences" and ID not in frame.columns and len(frame) > 1:
        example = ",".join([ID, *columns(meta)[:2], "..."])
        found.add("ids", f"no {ID!r} column, so all {len(frame)} rows are read as one sequence; "
                         f"to answer several, give each sequence's rows the same {ID} "
                         f"({example})",
                  {0: f"all {len(frame)} rows read as one sequence (no {ID} column)"})
    _lengths(encoded, meta, blank, noun, unit, at, found)
    _ranges(frame, meta, owners, found)
    _unknown(encoded, meta, blank, noun, at, found)
    if encoded.filled:
        found.add("gaps", f"{_plural(len(encoded.filled), 'missing date')} filled by "
                          f"interpolation: {_more(encoded.filled)}",
                  {int(i): "gaps filled by interpolation" for i in inputs})


def _lengths(encoded: Encoded, meta: Meta, blank: np.ndarray, noun: str, unit: str,
             at: Where, found: Warnings) -> None:
    """Inputs longer or shorter than any training input."""
    bounds = meta.raw.get("lengths")
    if not bounds or not meta.variable_length:
        return
    # A text's length counts its end token: not a word the user wrote.
    offset = 1 if meta.raw.get("format") == "sources" else 0
    if offset:
        unit = LEVEL_UNITS.get(meta.source_level or "", unit)
    low, high = bounds
    lengths = encoded.lengths
    flagged = np.flatnonzero(((lengths < low) | (lengths > high)) & ~blank)
    if not flagged.size:
        return
    each = [f"{int(lengths[i]) - offset} {unit}" for i in flagged]
    found.add("lengths", f"{_plural(len(flagged), noun)} longer or shorter than any in "
                         f"training ({low - offset} to {high - offset} {unit}): "
                         f"{_more(each)} ({at(flagged)})",
              {int(i): f"{e}, but training had {low - offset} to {high - offset}"
               for i, e in zip(flagged, each, strict=True)})


def series_ranges(raw: dict) -> dict[str, list[float]]:
    """A series' value columns' training ranges: its scaler is their training min and span."""
    if raw.get("format") != "series" or "shift" not in raw:
        return {}
    names = [raw["value_column"], *raw.get("input_columns", []), *raw.get("future_columns", [])]
    return {name: [low, low + span] for name, low, span in zip(names, raw["shift"], raw["scale"],
                                                               strict=False)}


def _ranges(frame: pd.DataFrame, meta: Meta, owners: np.ndarray, found: Warnings) -> None:
    """Rows with a value beyond the training range by more than the range's own width."""
    ranges = meta.raw.get("ranges") or series_ranges(meta.raw)
    place = found.place
    first: dict[int, str] = {}  # row -> its first far value
    for column, (low, high) in ranges.items():
        if column not in frame.columns or not len(frame):
            continue
        cells = frame[column]
        values = pd.to_numeric(cells.astype(str).str.strip() if cells.dtype == object else cells,
                               errors="coerce").to_numpy(dtype=np.float64)
        width = high - low
        with np.errstate(invalid="ignore"):
            far = np.isfinite(values) & ((values > high + width) | (values < low - width))
        for row in np.flatnonzero(far):
            first.setdefault(int(row), f"{_number(values[row])} in column {column!r} "
                                       f"(training: {_number(low)} to {_number(high)})")
    if not first:
        return
    rows = sorted(first)
    each = [f"{first[r]} at {place.unit} {place.line(r)}" for r in rows]
    notes: dict[int, str] = {}
    for row in rows:
        notes.setdefault(int(owners[row]), f"{first[row]} is far outside the training range")
    found.add("ranges", f"{_plural(len(rows), place.unit)} with values far outside the "
                        f"training range (beyond it by more than its width): {_more(each)}",
              notes)


def _unknown(encoded: Encoded, meta: Meta, blank: np.ndarray, noun: str, at: Where,
             found: Warnings) -> None:
    """Inputs with more unknown tokens than the training inputs had (any, for a closed
    vocabulary like number words; mostly unknown ones, for a language's texts)."""
    if encoded.unknown is None or encoded.inputs.dtype.kind not in "iu":
        return
    ids = encoded.inputs if encoded.inputs.ndim == 2 else encoded.inputs[..., 0]
    real = np.arange(ids.shape[1])[None, :] < encoded.lengths[:, None]
    share = ((ids == Vocab.unk_id) & real).sum(axis=1) / np.maximum(encoded.lengths, 1)
    limit = float(meta.raw.get("unknown_share", 0.0))
    flagged = [i for i in np.flatnonzero((share > limit) & ~blank) if encoded.unknown[i]]
    if not flagged:
        return
    what = LEVEL_UNITS.get(meta.source_level or "word", "words")
    # Word pieces keep the separator after them ("twelve "): shown without it.
    shown = [[t.strip() or t for t in encoded.unknown[i]] for i in flagged]
    distinct = list(dict.fromkeys(t for ts in shown for t in ts))
    total = sum(len(ts) for ts in shown)
    found.add("unknown", f"{_plural(len(flagged), noun)} with {what} never seen in training "
                         f"({total} unknown: {_more(list(map(repr, distinct)), MISSING_NAMED)})"
                         f" ({at(flagged)})",
              {int(i): f"unknown {what}: {', '.join(map(repr, ts))}"
               for i, ts in zip(flagged, shown, strict=True)})
