"""The one tensor format every preprocessed dataset is saved in.

A folder holds `arrays.npz` (inputs N x T x F, targets, lengths, split indices and any
extra arrays, all plain arrays, no pickles) and `meta.json` (task, sizes, fitted scaler,
vocabularies, dates: whatever a model or report needs to interpret the arrays).
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from seqlab.errors import DataError
from seqlab.io import atomic_dir

ARRAYS_FILE = "arrays.npz"
META_FILE = "meta.json"
SPLITS = ("train", "val", "test")


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Like np.savez, but the same arrays always give the same bytes.

    np.savez stamps every member with the current time, which would change DVC's hash of
    an output that did not change.
    """
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, array in arrays.items():
            member = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with archive.open(member, "w", force_zip64=True) as handle:
                np.lib.format.write_array(handle, np.asanyarray(array), allow_pickle=False)


@dataclass
class ProcessedData:
    inputs: np.ndarray  # float32, N x T x F
    targets: np.ndarray  # int64 N (classes) or float32 N x 1 (values)
    lengths: np.ndarray  # int64 N, valid steps of each input
    splits: dict[str, np.ndarray]  # split name -> int64 row indices
    meta: dict[str, Any]
    extras: dict[str, np.ndarray] = field(default_factory=dict)

    def save(self, folder: Path) -> None:
        with atomic_dir(Path(folder)) as tmp:
            arrays = {
                "inputs": self.inputs,
                "targets": self.targets,
                "lengths": self.lengths,
                **{f"split_{name}": idx for name, idx in self.splits.items()},
                **{f"extra_{name}": arr for name, arr in self.extras.items()},
            }
            write_npz(tmp / ARRAYS_FILE, arrays)
            (tmp / META_FILE).write_text(json.dumps(self.meta, indent=2) + "\n")

    @classmethod
    def load(cls, folder: Path) -> ProcessedData:
        folder = Path(folder)
        if not (folder / ARRAYS_FILE).is_file() or not (folder / META_FILE).is_file():
            raise DataError(
                f"no preprocessed data in {folder}; run `dvc repro` (or the preprocess stage) first"
            )
        with np.load(folder / ARRAYS_FILE, allow_pickle=False) as arrays:
            names = list(arrays.keys())
            return cls(
                inputs=arrays["inputs"],
                targets=arrays["targets"],
                lengths=arrays["lengths"],
                splits={n[6:]: arrays[n] for n in names if n.startswith("split_")},
                extras={n[6:]: arrays[n] for n in names if n.startswith("extra_")},
                meta=json.loads((folder / META_FILE).read_text()),
            )
