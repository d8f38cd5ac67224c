"""1-nearest-neighbour under dynamic time warping: the classic reference for classifying
numeric sequences.

1-NN DTW was the time-series classification benchmark to beat for a decade (Bagnall et
al., 2017): each test sequence takes the class of the training sequence it is nearest to
once either may stretch in time. Here: dtaidistance's C implementation, with a
Sakoe-Chiba band of WINDOW_SHARE of the length (the UCR archive's constrained DTW), each
sequence at its own length (no padding), every feature at once (dependent DTW).

DTW costs pairs x steps x band cells; past MAX_CELLS the reference is skipped, and a line
says so: the net would be done before it.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from seqlab.data.processed import ProcessedData

WINDOW_SHARE = 0.1  # the band: a tenth of the length either way
MAX_CELLS = 2e9  # pairs x steps x band width, at most: about ten seconds here
DESCRIPTION = (f"1-nearest-neighbour under DTW (dtaidistance, a {WINDOW_SHARE:.0%} "
               "Sakoe-Chiba band)")


def classes(data: ProcessedData) -> np.ndarray | None:
    """The class of each test sequence by its nearest training sequence under DTW; None
    (said in one line) where that costs more than MAX_CELLS, or for token inputs."""
    if not np.issubdtype(data.inputs.dtype, np.floating):
        return None
    train_rows, test_rows = data.splits["train"], data.splits["test"]
    steps = data.inputs.shape[1]
    window = max(1, math.ceil(WINDOW_SHARE * steps))
    cells = len(train_rows) * len(test_rows) * steps * (2 * window + 1)
    if cells > MAX_CELLS:
        print(f"seqlab: the 1-NN DTW reference is skipped: {len(test_rows):,} x "
              f"{len(train_rows):,} sequences of up to {steps} steps would cost "
              f"{cells:.2g} cells, past its {MAX_CELLS:.0g}", file=sys.stderr)
        return None
    from dtaidistance import dtw, dtw_ndim

    values = data.inputs.reshape(len(data.inputs), steps, -1).astype(np.float64)
    rows = np.concatenate([train_rows, test_rows])
    one = values.shape[2] == 1
    # Each at its own length: zeros of padding are not part of a sequence's shape.
    series = [values[row, : max(int(data.lengths[row]), 1)] for row in rows]
    series = [s[:, 0].copy() if one else np.ascontiguousarray(s) for s in series]
    n = len(train_rows)
    block = ((0, n), (n, len(rows)))  # training rows against test rows only
    matrix = (dtw if one else dtw_ndim).distance_matrix_fast(series, window=window, block=block)
    nearest = np.asarray(matrix)[:n, n:].argmin(axis=0)
    return data.targets[train_rows][nearest]
