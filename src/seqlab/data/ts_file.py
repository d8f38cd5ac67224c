"""Labelled sequences in the UEA/UCR archive's `.ts` format, read with sktime's loader.

Two kinds: `dataset=ts_file` reads the user's own files (`path`, and `test_path` for the
archive's official test file; without it a seeded, stratified `test_fraction` of `path`
is the test split); `dataset=uea dataset.problem=<name>` reads one of the archive
problems that sktime ships inside its wheel (offline), with its official splits:

    python -m seqlab.train experiment=japanese_vowels dataset=uea dataset.problem=BasicMotions

Both are many-to-one classification (or regression, for a `.ts` file of numeric
targets, with `task=regression`); numeric_sequences does the splitting and scaling.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqlab.config import require_choice
from seqlab.data.numeric_sequences import Sequences, SplitSettings, sequence_data
from seqlab.data.processed import ProcessedData
from seqlab.data.sktime_data import shipped_file
from seqlab.data.user_files import check_path, fetched_copy
from seqlab.errors import DataError

# The UEA/UCR classification problems sktime ships (sktime/datasets/data/<name>/).
SHIPPED = ("ACSF1", "ArrowHead", "BasicMotions", "GunPoint", "ItalyPowerDemand",
           "JapaneseVowels", "OSULeaf", "PLAID")


def read_ts(path: Path) -> tuple[list[np.ndarray], np.ndarray]:
    """Each case of a `.ts` file as steps x channels values, and its label (as text)."""
    from sktime.datasets import load_from_tsfile

    try:
        frame, labels = load_from_tsfile(str(path), return_data_type="nested_univ")
    except (OSError, ValueError, IndexError, TypeError) as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise DataError(f"{path}: not a readable .ts file ({reason}); see "
                        "https://www.sktime.net for the format") from None
    cases = [np.stack([cell.to_numpy(np.float64) for cell in cells], axis=1)
             for _, cells in frame.iterrows()]
    return cases, np.asarray(labels).astype(str)


def ts_sequences(train: Path, test: Path | None) -> Sequences:
    """The cases of one or two `.ts` files (the second: the test split)."""
    values, labels = read_ts(train)
    where = [f"case {i + 1} of {train.name}" for i in range(len(values))]
    marks = np.zeros(len(values), dtype=bool)
    if test is not None:
        test_values, test_labels = read_ts(test)
        if values and test_values and test_values[0].shape[1] != values[0].shape[1]:
            raise DataError(f"{test}: {test_values[0].shape[1]} channels, "
                            f"{train.name} {values[0].shape[1]}; they must match")
        where += [f"case {i + 1} of {test.name}" for i in range(len(test_values))]
        values, labels = values + test_values, np.concatenate([labels, test_labels])
        marks = np.repeat([False, True], [len(marks), len(test_values)])
    channels = values[0].shape[1] if values else 1
    return Sequences(values=values, labels=list(labels), where=where,
                     columns=[f"dim_{i}" for i in range(channels)],
                     test=marks if test is not None else None)


@dataclass
class TsFile(SplitSettings):
    """The user's `.ts` file(s): `path`, and `test_path` for its own test split."""

    name: str = "ts_file"
    path: str = ""
    test_path: str | None = None
    source: str = "ts_file"

    def __post_init__(self) -> None:
        check_path(self.path)
        if self.test_path is not None:
            check_path(self.test_path)
        self.check_split_settings()

    archetype = "many_to_one"

    def preprocess(self, raw_dir: Path) -> ProcessedData:
        train = fetched_copy(raw_dir, self.path)
        test = None if self.test_path is None else fetched_copy(raw_dir, self.test_path)
        return sequence_data(self.name, ts_sequences(train, test), self, str(train))


@dataclass
class UeaProblem(SplitSettings):
    """A UEA/UCR archive problem shipped with sktime, with its official test split."""

    name: str = "uea"
    problem: str = "BasicMotions"
    source: str = "uea_BasicMotions"

    def __post_init__(self) -> None:
        require_choice("problem", self.problem, SHIPPED)
        self.check_split_settings()

    archetype = "many_to_one"

    def preprocess(self, raw_dir: Path) -> ProcessedData:
        train, test = (Path(raw_dir) / f"{self.problem}_{part}.ts" for part in ("TRAIN", "TEST"))
        for path in (train, test):
            if not path.is_file():
                raise DataError(f"{path} is missing; run the fetch stage (dvc repro) first")
        return sequence_data(self.name, ts_sequences(train, test), self, str(train))


def shipped_writer(problem: str) -> Callable[[Path, Path], None]:
    """The fetch of `uea_<problem>`: copy sktime's two official files into the folder."""
    import shutil

    def write(folder: Path, downloads: Path) -> None:
        for part in ("TRAIN", "TEST"):
            shutil.copyfile(shipped_file(problem, f"{problem}_{part}.ts"),
                            Path(folder) / f"{problem}_{part}.ts")
    return write
