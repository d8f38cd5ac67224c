"""`task: auto` for numeric sequences: are a file's labels classes, or numbers to predict?

One rule for every numeric-sequence kind (.ts, long CSV, npz), documented in
docs: guides/own-data/index.md:

- a `.ts` file declares it: `@targetLabel true` means numeric targets (regression; a
  target that is not a number is then an error naming its line), `@classLabel` classes;
- otherwise labels that are all numbers are values to predict (regression) when one has
  a fractional part (1.4), when there are more than MAX_CLASSES distinct values, or when
  there are more distinct values than half the sequences (too few of each to learn a
  class from); whole numbers with few values, each seen often (0..9), are classes;
- anything else (text) is classes, and so is a label that changes within a sequence
  (a class at every step: tagging).

A choice made from numbers is said in one line naming the file, with the setting that
overrides it; `dataset.task=classification` or `=regression` skips the guess.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

AUTO = "auto"
MAX_CLASSES = 20  # more distinct whole numbers than this are values, not classes


def choose(labels: Sequence[object], declared: bool | None, what: str, source: str
           ) -> tuple[str, str | None]:
    """('classification' or 'regression', the line that says why, or None when the labels
    are text): `labels` one per sequence, `declared` what the file says (True numeric
    targets, False classes, None nothing), `what` names the labels in the line (`label
    column 'y'`), `source` the user's file."""
    if declared is not None:
        if not declared:
            return "classification", None
        if _numbers(labels) is None:  # said by the error that names the line, not here
            return "regression", None
        return "regression", (f"{source}: @targetLabel true with numeric targets: a "
                              "regression problem (dataset.task=classification to treat "
                              "the targets as classes)")
    values = _numbers(labels)
    if values is None:
        return "classification", None
    distinct = len(np.unique(values))
    whole = bool(np.all(values == np.round(values)))
    if not whole:
        why = "numbers with a fractional part"
    elif distinct > MAX_CLASSES or distinct > len(values) / 2:
        why = f"{distinct} distinct whole numbers for {len(values)} sequences"
    else:
        return "classification", (f"{source}: {what} holds {distinct} distinct whole "
                                   "numbers: classes (dataset.task=regression to predict "
                                   "them as numbers)")
    return "regression", (f"{source}: {what} holds {why}: a regression problem "
                          "(dataset.task=classification to treat them as classes)")


def is_number(text: str) -> bool:
    """Whether `text` reads as a number (a label, a header cell)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def _numbers(labels: Sequence[object]) -> np.ndarray | None:
    """The labels as finite floats, or None when one is not a number."""
    try:
        values = np.array([float(str(label).strip()) for label in labels])
    except ValueError:
        return None
    return values if len(values) and np.isfinite(values).all() else None
