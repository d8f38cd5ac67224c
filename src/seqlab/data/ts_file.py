"""Labelled sequences in the UEA/UCR archive's `.ts` format, read with sktime's loader.

Two kinds: `dataset=ts_file` reads the user's own files (`path`, and `test_path` for the
archive's official test file; without it a seeded, stratified `test_fraction` of `path`
is the test split); `dataset=uea dataset.problem=<name>` reads one of the archive
problems that sktime ships inside its wheel (offline), with its official splits:

    python -m seqlab.train experiment=japanese_vowels dataset=uea dataset.problem=BasicMotions

Both are many-to-one: classification, or regression for a `.ts` file whose header says
`@targetLabel true` (numeric targets; `task: auto` reads the header, seqlab.data.label_kinds);
numeric_sequences does the splitting and scaling. Errors name a case by its file's line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqlab.checks import require_choice
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


def read_header(path: Path) -> tuple[bool | None, list[int]]:
    """What a `.ts` file declares of its labels (True: `@targetLabel true`, numeric
    targets; False: `@classLabel true`, classes; None: neither) and the line of each case."""
    declared, lines, data = None, [], False
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        tokens = line.strip().lower().split()
        if data and tokens:
            lines.append(number)
        elif tokens[:1] == ["@data"]:
            data = True
        elif tokens[:2] in (["@targetlabel", "true"], ["@classlabel", "true"]):
            declared = tokens[0] == "@targetlabel"
    return declared, lines


def _cases(path: Path) -> tuple[list[np.ndarray], np.ndarray, bool | None, list[str]]:
    """A `.ts` file's cases, labels, declaration and each case named by its line."""
    values, labels = read_ts(path)
    declared, lines = read_header(path)
    if len(lines) != len(values):  # lines sktime skips (comments): cases by number only
        return values, labels, declared, [f"case {i + 1}" for i in range(len(values))]
    return values, labels, declared, [f"case {i + 1} (line {n})" for i, n in enumerate(lines)]


def ts_sequences(train: Path, test: Path | None, names: tuple[str, str | None] | None = None
                 ) -> Sequences:
    """The cases of one or two `.ts` files (the second: the test split); errors call the
    files `names` (the user's paths for their copies), else their paths."""
    train_name, test_name = names or (str(train), None if test is None else str(test))
    values, labels, declared, where = _cases(train)
    files = [train_name] * len(values)
    marks = np.zeros(len(values), dtype=bool)
    if test is not None:
        test_values, test_labels, _, test_where = _cases(test)
        if values and test_values and test_values[0].shape[1] != values[0].shape[1]:
            raise DataError(f"{test_name}: {test_values[0].shape[1]} channels, "
                            f"{train_name} {values[0].shape[1]}; they must match")
        where += test_where
        files += [str(test_name)] * len(test_values)
        values, labels = values + test_values, np.concatenate([labels, test_labels])
        marks = np.repeat([False, True], [len(marks), len(test_values)])
    channels = values[0].shape[1] if values else 1
    return Sequences(values=values, labels=list(labels), where=where,
                     columns=[f"dim_{i}" for i in range(channels)],
                     test=marks if test is not None else None, files=files,
                     declared=declared, label_name="the targets")


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
        return sequence_data(self.name, ts_sequences(train, test, (self.path, self.test_path)),
                             self, self.path)

    def own_sequences(self) -> Sequences:
        return ts_sequences(check_path(self.path),
                            None if self.test_path is None else check_path(self.test_path))


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

    def own_sequences(self) -> Sequences:
        return ts_sequences(*(shipped_file(self.problem, f"{self.problem}_{part}.ts")
                              for part in ("TRAIN", "TEST")))


def shipped_writer(problem: str) -> Callable[[Path, Path], None]:
    """The fetch of `uea_<problem>`: copy sktime's two official files into the folder."""
    import shutil

    def write(folder: Path, downloads: Path) -> None:
        for part in ("TRAIN", "TEST"):
            shutil.copyfile(shipped_file(problem, f"{problem}_{part}.ts"),
                            Path(folder) / f"{problem}_{part}.ts")
    return write
