"""Trivial baselines every model is reported beside."""

from __future__ import annotations

import numpy as np

from seqlab.data.processed import ProcessedData


def majority_class(data: ProcessedData) -> np.ndarray:
    """Predict, for every test row, the most frequent class of the training split."""
    train = data.targets[data.splits["train"]]
    majority = np.bincount(train).argmax()
    return np.full(len(data.splits["test"]), majority)


def naive_forecast(data: ProcessedData, lag: int = 1) -> np.ndarray:
    """Predict each test target as the value `lag` steps before it (scaled units).

    lag=1 is the naive (last value) forecast; lag=seasonal_period the seasonal naive one.
    """
    positions = data.extras["target_pos"][data.splits["test"]]
    return data.extras["series"][positions - lag]
