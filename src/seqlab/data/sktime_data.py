"""Real recordings shipped inside sktime's wheel, written as plain raw files (offline).

sktime bundles a few archive datasets with its code, so fetching them needs no network:
the UEA JapaneseVowels archive (.ts files, read with sktime's own loader) and a 7,500-step
excerpt of an MIT-BIH ECG recording (a `data,label` CSV). Each writer turns one of them
into an npz of plain arrays, the same bytes on every fetch. sktime is imported only when
a source is fetched: importing it costs seconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seqlab.data.processed import write_npz
from seqlab.errors import DataError

VOWELS_FILE = "japanese_vowels.npz"
ECG_FILE = "mitdb_ecg.npz"


def _missing(what: str, error: object) -> DataError:
    reason = " ".join(str(error).split())  # one line, whatever the loader said
    return DataError(f"sktime's shipped dataset file {what} is missing or unreadable "
                     f"({reason}); reinstall it with: pip install --force-reinstall sktime")


def data_dir() -> Path:
    """sktime's folder of shipped datasets (sktime/datasets/data/)."""
    from importlib.resources import files

    try:
        return Path(str(files("sktime.datasets"))) / "data"
    except ImportError as error:  # ModuleNotFoundError: sktime is not installed
        raise _missing("folder sktime/datasets/data", error) from None


def shipped_file(*parts: str) -> Path:
    """The path of a file sktime ships; one DataError line when it is not there."""
    path = data_dir().joinpath(*parts)
    if not path.is_file():
        raise _missing("/".join(parts), "no such file")
    return path


def read_vowels(split: str) -> tuple[list[np.ndarray], np.ndarray]:
    """One official split of JapaneseVowels: each utterance as steps x 12 values, and
    its speaker (1-9)."""
    path = shipped_file("JapaneseVowels", f"JapaneseVowels_{split}.ts")
    from sktime.datasets import load_from_tsfile

    try:
        frame, speakers = load_from_tsfile(str(path), return_data_type="nested_univ")
    except (OSError, ValueError) as error:  # unreadable, or a damaged .ts file
        raise _missing(f"JapaneseVowels/{path.name}", error) from None
    # nested_univ: a row per utterance, a column per channel, each cell a pd.Series.
    utterances = [np.stack([cell.to_numpy(np.float64) for cell in cells], axis=1)
                  for _, cells in frame.iterrows()]
    return utterances, np.asarray(speakers).astype(np.int64)


def write_vowels(folder: Path, downloads: Path) -> None:
    """Both official splits in one npz: values N x T x 12, zeros after each utterance's
    `lengths`; `speakers` 1-9; `official_test` marks the official test split."""
    train, test = read_vowels("TRAIN"), read_vowels("TEST")
    utterances = train[0] + test[0]
    lengths = np.array([len(u) for u in utterances], dtype=np.int64)
    values = np.zeros((len(utterances), lengths.max(), utterances[0].shape[1]))
    for row, utterance in enumerate(utterances):
        values[row, : len(utterance)] = utterance
    write_npz(Path(folder) / VOWELS_FILE, {
        "values": values, "lengths": lengths,
        "speakers": np.concatenate([train[1], test[1]]),
        "official_test": np.repeat([False, True], [len(train[0]), len(test[0])]),
    })


def write_ecg(folder: Path, downloads: Path) -> None:
    """The ECG in millivolts and sktime's per-step annotation (1: the one abnormal beat)."""
    import pandas as pd

    path = shipped_file("mitdb", "mitdb.csv")
    try:
        frame = pd.read_csv(path)
        signal, annotation = frame["data"].to_numpy(np.float64), frame["label"].to_numpy()
    except (OSError, ValueError, KeyError, pd.errors.ParserError) as error:
        raise _missing("mitdb/mitdb.csv", error) from None
    write_npz(Path(folder) / ECG_FILE, {"signal": signal,
                                        "annotation": annotation.astype(np.int64)})


# source name -> (its writer, the file whose presence means "fetched"): what
# seqlab.data.sources registers.
SHIPPED = {
    "japanese_vowels": (write_vowels, VOWELS_FILE),
    "mitdb_ecg": (write_ecg, ECG_FILE),
}
