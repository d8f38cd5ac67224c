"""The user's own files (bring your own data): copied by the fetch stage, read with one-line
errors.

A dataset kind that reads a user's file has a `path` field. The fetch stage copies that
file unchanged into data/raw/<source>/ (so DVC versions it, and its hash is in dvc.lock
and in every run's lineage) and the kind's `preprocess` reads the copy. Every problem
with the file is one DataError naming the file and what to do: a missing file, an empty
one, one that is not text, missing columns (with the columns found). The file is named as
the user gave it, never as its copy (`named_as_given`: the copy's path means nothing to
them, and under data/cache/ it is a hash).
"""

from __future__ import annotations

import csv
import shutil
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from seqlab.errors import ConfigError, DataError


def check_path(path: str | Path) -> Path:
    """`dataset.path` as a Path, refused before any work when there is no such file."""
    found = Path(path)
    if not found.is_file():
        where = "" if found.is_absolute() else f" (relative to {Path.cwd()})"
        raise ConfigError(f"path: no file {str(path)!r}{where}; give the path of your data file")
    return found


def own_files(spec: object) -> list[str]:
    """The user's files a dataset kind reads (`path`, and `test_path` where it has one)."""
    return [str(p) for p in (getattr(spec, "path", None), getattr(spec, "test_path", None))
            if p]


def copy_into(path: str | Path, folder: Path) -> Path:
    """Copy the user's file into a raw source folder (the fetch stage); return the copy."""
    source = check_path(path)
    return Path(shutil.copy2(source, Path(folder) / source.name))


class MissingCopy(DataError):
    """The fetch stage's copy is not there: an error about the copy itself."""


def fetched_copy(raw_dir: Path, path: str | Path) -> Path:
    """The copy of the user's file that the fetch stage made in `raw_dir`."""
    copy = Path(raw_dir) / Path(path).name
    if not copy.is_file():
        raise MissingCopy(f"{copy} is missing; run the fetch stage (dvc repro) first")
    return copy


@contextmanager
def named_as_given(raw_dir: Path, paths: Sequence[str | Path]) -> Iterator[None]:
    """A DataError raised inside names each of the user's `paths`, not its copy in
    `raw_dir`: readers are handed the copies (and name what they read), so the one place
    that knows both maps them back."""
    try:
        yield
    except MissingCopy:
        raise
    except DataError as error:
        message = str(error)
        for path in paths:
            message = message.replace(str(Path(raw_dir) / Path(path).name), str(path))
        if message == str(error):
            raise
        raise DataError(message) from None


def read_text(path: Path) -> str:
    """A file's text with any line ending (old Mac `\\r` too), refusing empty or binary."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: not UTF-8 text (byte {error.start}); save it as UTF-8"
                        ) from None
    if not text.strip():
        raise DataError(f"{path} is empty; it needs a header line and rows of data")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_table(path: Path, columns: Sequence[str], sep: str = ",") -> pd.DataFrame:
    """A CSV (or TSV) with a header line that holds `columns`; values read as text.

    Row numbers in later errors are file lines: the header is line 1.
    """
    import io

    text = read_text(path)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False,
                            quoting=csv.QUOTE_MINIMAL)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise DataError(f"{path}: not a readable {'TSV' if sep == chr(9) else 'CSV'} "
                        f"({' '.join(str(error).split())})") from None
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        raise DataError(f"{path}: no column {missing[0]!r}; the columns found are "
                        + ", ".join(map(repr, frame.columns))
                        + "; set the dataset's column names to match")
    if frame.empty:
        raise DataError(f"{path} has a header but no rows of data")
    return frame


UNNAMED = "Unnamed: 0"  # pandas' name for a first column whose header is empty


def headerless_dates(path: Path, column: str, given: str | Path) -> str:
    """`column`, or, when the CSV at `path` has no such column and its first column has no
    header (a date index saved without a name), that first column, said in one line
    naming the user's file `given`."""
    header = next(csv.reader([read_text(path).split("\n", 1)[0]]), [])
    if column in header or not header or header[0] != "":
        return column
    print(f"seqlab: {given}: no column {column!r} and the first column has no header: "
          "read as the dates (name it in the file, or give dataset.date_column)",
          file=sys.stderr)
    return UNNAMED


def numbers(path: Path, frame: pd.DataFrame, column: str) -> pd.Series:
    """A column as floats; a value that is not a number is an error naming its line."""
    values = pd.to_numeric(frame[column].str.strip(), errors="coerce")
    bad = values.isna() & (frame[column].str.strip() != "")
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise DataError(f"{path}: line {row + 2}, column {column!r}: {frame[column].iloc[row]!r} "
                        "is not a number")
    return values.astype(float)
