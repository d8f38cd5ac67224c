"""The one array format every preprocessed dataset is saved in.

A folder holds `arrays.npz` and `meta.json` (see data/meta.py). The arrays, all plain,
no pickles:

- `inputs`: float32 N x T x F values (series windows, pixels, frames) or int64 N x T
  token ids (text), padded to T steps where `variable_length`;
- `targets`: int64 N class ids, float32 N x 1 values, int64 N x T labels or float32
  N x T x 1 values at every step, or int64 N x L token ids;
- `lengths`: int64 N, the real steps of each input;
- `split_<name>`: int64 row indices of train, val and test;
- `extra_<name>`: arrays a task's baselines or figures read (the scaled series and each
  target's position in it, say).
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seqlab.data.meta import Meta
from seqlab.errors import DataError
from seqlab.io import atomic_dir
from seqlab.layout import ARRAYS_FILE, META_FILE

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
    inputs: np.ndarray
    targets: np.ndarray
    lengths: np.ndarray
    splits: dict[str, np.ndarray]
    meta: Meta
    extras: dict[str, np.ndarray] = field(default_factory=dict)

    def arrays(self) -> dict[str, np.ndarray]:
        """Every array by the name it is saved under (what `load` reads back)."""
        return {
            "inputs": self.inputs,
            "targets": self.targets,
            "lengths": self.lengths,
            **{f"split_{name}": idx for name, idx in self.splits.items()},
            **{f"extra_{name}": arr for name, arr in self.extras.items()},
        }

    def save(self, folder: Path) -> None:
        with atomic_dir(Path(folder)) as tmp:
            write_npz(tmp / ARRAYS_FILE, self.arrays())
            (tmp / META_FILE).write_text(json.dumps(self.meta.to_json(), indent=2) + "\n")

    @classmethod
    def load(cls, folder: Path) -> ProcessedData:
        folder = Path(folder)
        if not (folder / ARRAYS_FILE).is_file() or not (folder / META_FILE).is_file():
            raise DataError(
                f"no preprocessed data in {folder}; run `dvc repro` (or the preprocess stage) first"
            )
        meta = Meta.from_json(json.loads((folder / META_FILE).read_text()),
                              str(folder / META_FILE))
        with np.load(folder / ARRAYS_FILE, allow_pickle=False) as arrays:
            names = list(arrays.keys())
            return cls(
                inputs=arrays["inputs"],
                targets=arrays["targets"],
                lengths=arrays["lengths"],
                splits={n[6:]: arrays[n] for n in names if n.startswith("split_")},
                extras={n[6:]: arrays[n] for n in names if n.startswith("extra_")},
                meta=meta,
            )
