"""How a dataset kind describes its raw inputs in meta.raw, for the numeric formats two or
more kinds share (the series and text formats are written by their own kinds), and the
one scaling of numeric values that preprocessing writes and predict reads (`scaled`).

seqlab.predict.inputs reads these descriptions back: a trained model then takes raw
inputs as the dataset's files hold them and turns them into arrays as preprocessing did.
"""

from __future__ import annotations

import numpy as np


def scaled(values: np.ndarray, shift: np.ndarray | float, scale: np.ndarray | float
           ) -> np.ndarray:
    """Values as the net reads them: each column's (value - shift) / scale, both fitted on
    the training split. Preprocessing writes them so, and predict reads raw inputs so."""
    return ((values - shift) / scale).astype(np.float32)


def image_rows(images: np.ndarray, shape: tuple[int, ...], max_level: float
               ) -> dict[str, object]:
    """meta.raw of images: each one a row of its grey levels as the source holds them
    (`pixel0`, `pixel1`, ... row by row), read as `shape` (steps x features) and divided
    by the level of full ink; the example is `images` (a few test images)."""
    flat = images.reshape(len(images), -1)
    columns = [f"pixel{i}" for i in range(flat.shape[1])]
    return {"format": "values", "columns": columns, "shape": list(shape), "shift": [0.0],
            "scale": [float(max_level)],
            "example": {c: flat[:, i].tolist() for i, c in enumerate(columns)}}


def step_rows(columns: list[str], shift: np.ndarray | float, scale: np.ndarray | float,
              examples: np.ndarray, lengths: np.ndarray) -> dict[str, object]:
    """meta.raw of numeric sequences: one row per step, the `columns` in the source's
    units, an `id` column telling sequences apart; each value becomes (value - shift) /
    scale. The example is `examples` (N x T x F, real steps by `lengths`)."""
    ids = [i + 1 for i, n in enumerate(lengths) for _ in range(int(n))]
    steps = np.concatenate([example[: int(n)] for example, n in zip(examples, lengths,
                                                                     strict=True)])
    return {"format": "sequences", "columns": columns,
            "shift": np.atleast_1d(shift).astype(float).tolist(),
            "scale": np.atleast_1d(scale).astype(float).tolist(),
            "example": {"id": ids, **{c: steps[:, i].tolist() for i, c in enumerate(columns)}}}
