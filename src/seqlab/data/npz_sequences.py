"""The user's numeric sequences as numpy arrays in one `.npz` file (`np.savez`):

- `x`: N x T x F values (or N x T: one feature), padded after each sequence's length;
- `y`: N labels (one per sequence: classes, or numbers to predict, as `task: auto` tells
  from them, seqlab.data.label_kinds) or N x T (a label per step);
- `lengths` (optional): N real steps per sequence; without it every sequence has T;
- `test` (optional): N booleans, the test split; without it a seeded `test_fraction`.

    python -m seqlab.train experiment=japanese_vowels dataset=npz_sequences dataset.path=my.npz
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqlab.data.numeric_sequences import Sequences, SplitSettings, sequence_data
from seqlab.data.processed import ProcessedData
from seqlab.data.user_files import check_path, fetched_copy
from seqlab.errors import DataError


def read_arrays(path: Path, names: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
    """The arrays of an npz file (no pickles), or those of `names` it has; one line when
    it is not an npz."""
    try:
        with np.load(path, allow_pickle=False) as arrays:
            return {name: arrays[name] for name in arrays.files
                    if names is None or name in names}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise DataError(f"{path}: not a readable .npz of plain arrays ({reason}); write it "
                        "with numpy.savez(path, x=..., y=...)") from None


@dataclass
class NpzSequences(SplitSettings):
    """Sequences from arrays `x`, `y`, and optionally `lengths` and `test`."""

    name: str = "npz_sequences"
    path: str = ""
    source: str = "npz_sequences"

    def __post_init__(self) -> None:
        check_path(self.path)
        self.check_split_settings()

    @property
    def archetype(self) -> str:  # type: ignore[override]
        """synchronous when `y` labels every step, else many_to_one (read before any work)."""
        labels = read_arrays(check_path(self.path), ("y",)).get("y")
        return "synchronous" if labels is not None and labels.ndim == 2 else "many_to_one"

    def preprocess(self, raw_dir: Path) -> ProcessedData:
        path = fetched_copy(raw_dir, self.path)
        return sequence_data(self.name, self.sequences(path), self, self.path)

    def own_sequences(self) -> Sequences:
        return self.sequences(check_path(self.path))

    def sequences(self, path: Path) -> Sequences:
        arrays = read_arrays(path)
        missing = [name for name in ("x", "y") if name not in arrays]
        if missing:
            raise DataError(f"{path}: no array {missing[0]!r}; the arrays found are "
                            f"{', '.join(map(repr, arrays)) or 'none'}; it needs x and y")
        x, y = arrays["x"], arrays["y"]
        x = x[:, :, None] if x.ndim == 2 else x
        if x.ndim != 3 or not np.issubdtype(x.dtype, np.number):
            raise DataError(f"{path}: x is {x.dtype} of shape {x.shape}; it needs numbers "
                            "N x T x F (or N x T)")
        count, steps = x.shape[:2]
        lengths = arrays.get("lengths", np.full(count, steps))
        expected = {"y": ((count,), (count, steps)), "lengths": ((count,),),
                    "test": ((count,),)}
        for name, shapes in expected.items():
            if name in arrays and arrays[name].shape not in shapes:
                raise DataError(f"{path}: {name} has shape {arrays[name].shape}; with x of "
                                f"shape {x.shape} it needs "
                                + " or ".join(str(s) for s in shapes))
        if not np.issubdtype(lengths.dtype, np.integer) or (lengths > steps).any():
            raise DataError(f"{path}: lengths must be whole numbers of at most {steps} "
                            "(x's steps)")
        test = arrays.get("test")
        if test is not None and test.dtype != bool:
            raise DataError(f"{path}: test is {test.dtype}; it needs booleans (True: test)")
        return Sequences(
            values=[x[i, : lengths[i]].astype(np.float64) for i in range(count)],
            labels=[y[i, : lengths[i]] if y.ndim == 2 else y[i].item() for i in range(count)],
            where=[f"sequence {i} (row {i} of x)" for i in range(count)],
            columns=[f"x{i}" for i in range(x.shape[2])], test=test, label_name="y")
