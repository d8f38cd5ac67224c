"""The user's numeric sequences as one long CSV: a row per step, an id per sequence.

    python -m seqlab.train experiment=japanese_vowels dataset=csv_sequences \\
        dataset.path=motions.csv dataset.id_column=case dataset.label_column=activity

Rows of one id are one sequence, in file order or by `step_column`; the features are
`feature_columns` (default: every other column whose first value is a number). A label
that is the same on every row of a sequence labels the sequence (a class, or with numbers
a value to predict: `task: auto`, seqlab.data.label_kinds); one that changes labels each
step. `split_column` marks rows `train` or `test` (the whole sequence the same);
without it a seeded, stratified `test_fraction` of the sequences is the test split.
Every problem is one line naming the file's line and column.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from seqlab.checks import require_name
from seqlab.data.numeric_sequences import Sequences, SplitSettings, sequence_data
from seqlab.data.processed import ProcessedData
from seqlab.data.user_files import check_path, fetched_copy, numbers, read_table
from seqlab.errors import ConfigError, DataError

SPLIT_VALUES = ("train", "test")


@dataclass
class CsvSequences(SplitSettings):
    """Sequences of numeric features from a long CSV, labelled per sequence or per step."""

    name: str = "csv_sequences"
    path: str = ""
    source: str = "csv_sequences"
    id_column: str = "id"
    label_column: str = "label"
    step_column: str | None = None  # orders the rows of a sequence; null: file order
    feature_columns: list[str] | None = None  # null: every other numeric column
    split_column: str | None = None  # rows marked train / test; null: test_fraction

    def __post_init__(self) -> None:
        require_name("name", self.name)
        check_path(self.path)
        self.check_split_settings()
        named = [self.id_column, self.label_column, self.step_column, self.split_column]
        for column in self.feature_columns or []:
            if column in named:
                raise ConfigError(f"feature_columns: {column!r} is also the id, label, step "
                                  "or split column")

    @cached_property
    def archetype(self) -> str:  # type: ignore[override]
        """many_to_one, or synchronous when a label changes within a sequence: the file
        says which (read here, before any work, to name the run's MLflow experiment)."""
        frame = read_table(check_path(self.path), [self.id_column, self.label_column])
        changes = frame.groupby(self.id_column, sort=False)[self.label_column].nunique()
        return "synchronous" if (changes > 1).any() else "many_to_one"

    def preprocess(self, raw_dir: Path) -> ProcessedData:
        return sequence_data(self.name, self.sequences(fetched_copy(raw_dir, self.path)),
                             self, self.path)

    def own_sequences(self) -> Sequences:
        return self.sequences(check_path(self.path))

    def sequences(self, path: Path) -> Sequences:
        """The sequences of the CSV at `path` (the user's file or its fetched copy)."""
        own = [c for c in (self.id_column, self.label_column, self.step_column,
                           self.split_column) if c is not None]
        frame = read_table(path, [*own, *(self.feature_columns or [])])
        features = self.feature_columns or self._numeric_columns(frame, own)
        table = np.stack([numbers(path, frame, c).to_numpy() for c in features], axis=1)
        empty = np.isnan(table)
        if empty.any():
            row, column = np.argwhere(empty)[0]
            raise DataError(f"{path}: line {row + 2}, column {features[column]!r} is empty; "
                            "fill it in or drop the row")
        ids = frame[self.id_column].str.strip()
        if (ids == "").any():
            raise DataError(f"{path}: line {int((ids == '').to_numpy().argmax()) + 2} has no "
                            f"{self.id_column!r}; every row needs its sequence's id")
        order = self._step_order(path, frame, ids)
        labels = frame[self.label_column].str.strip().to_numpy()
        data = Sequences(values=[], labels=[], where=[], columns=list(features),
                         label_name=f"label column {self.label_column!r}")
        test = []
        for name, rows in pd.Series(np.arange(len(frame))).groupby(ids.to_numpy(),
                                                                   sort=False):
            rows = rows.to_numpy()[np.argsort(order[rows.to_numpy()], kind="stable")]
            data.values.append(table[rows])
            data.labels.append(labels[rows])
            data.where.append(f"{self.id_column} {name!r} (line {rows.min() + 2})")
            if self.split_column is not None:
                test.append(self._is_test(path, frame, rows))
        if self.split_column is not None:
            data.test = np.array(test)
        return data

    def _numeric_columns(self, frame: pd.DataFrame, own: list[str]) -> list[str]:
        found = [c for c in frame.columns if c not in own
                 and pd.notna(pd.to_numeric(frame[c].iloc[0].strip(), errors="coerce"))]
        if not found:
            raise DataError(f"{self.path}: no numeric column besides {', '.join(own)}; the "
                            f"columns found are {', '.join(map(repr, frame.columns))}")
        return found

    def _step_order(self, path: Path, frame: pd.DataFrame, ids: pd.Series) -> np.ndarray:
        """Each row's place within its sequence: its step, else its line."""
        if self.step_column is None:
            return np.arange(len(frame), dtype=np.float64)
        steps = numbers(path, frame, self.step_column).to_numpy()
        if np.isnan(steps).any():
            row = int(np.isnan(steps).argmax())
            raise DataError(f"{path}: line {row + 2}, column {self.step_column!r} is empty")
        twice = pd.DataFrame({"id": ids, "step": steps}).duplicated()
        if twice.any():
            row = int(twice.to_numpy().argmax())
            raise DataError(f"{path}: line {row + 2}: {self.id_column} {ids.iloc[row]!r} has "
                            f"step {frame[self.step_column].iloc[row]!r} twice")
        return steps

    def _is_test(self, path: Path, frame: pd.DataFrame, rows: np.ndarray) -> bool:
        marks = frame[self.split_column].iloc[rows].str.strip().str.lower()
        bad = ~marks.isin(SPLIT_VALUES)
        if bad.any():
            row = int(rows[bad.to_numpy().argmax()])
            raise DataError(f"{path}: line {row + 2}, column {self.split_column!r}: "
                            f"{frame[self.split_column].iloc[row]!r} is not train or test")
        if marks.nunique() > 1:
            raise DataError(f"{path}: line {int(rows.min()) + 2}: {self.id_column} "
                            f"{frame[self.id_column].iloc[rows[0]]!r} has both train and "
                            f"test rows in {self.split_column!r}; a sequence is in one split")
        return marks.iloc[0] == "test"
