"""Trivial baselines every model is reported beside: their answers on the test split."""

from __future__ import annotations

from collections import Counter

import numpy as np

from seqlab.data.processed import ProcessedData
from seqlab.evaluation.predict import scored


def majority(data: ProcessedData, per_step: bool) -> dict[str, np.ndarray]:
    """The training split's most frequent class, everywhere (per row or per real step)."""
    train = scored(data.targets, data, "train", per_step)
    test = scored(data.targets, data, "test", per_step)
    return {"majority": np.full(len(test), np.bincount(train).argmax())}


def naive_forecasts(data: ProcessedData, per_step: bool) -> dict[str, np.ndarray]:
    """Each target predicted by the value one step before it (naive) and, for a seasonal
    series, one season before it (seasonal naive); in scaled units."""
    positions = scored(data.extras["target_pos"], data, "test", per_step)
    series = data.extras["series"]
    answers = {"naive": series[positions - 1]}
    period = data.meta.seasonal_period or 1
    if period > 1:
        answers["seasonal_naive"] = series[positions - period]
    return answers


def most_frequent_sequence(data: ProcessedData, per_step: bool = False
                           ) -> dict[str, list[np.ndarray]]:
    """The training split's most frequent target sequence (first in row order among ties)."""
    counts = Counter(tuple(row) for row in data.targets[data.splits["train"]])
    best = np.array(max(counts, key=lambda row: counts[row]), dtype=np.int64)
    return {"most_frequent": [best] * len(data.splits["test"])}
