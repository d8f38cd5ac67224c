"""The tests seqlab's verdicts rest on: a paired t-test and Holm's adjustment.

One ground module, so backtests (folds), sweeps and the report (seeds) judge alike and
none imports another to do it. scipy is imported when a test runs, not before.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np


def paired_p(x: np.ndarray, y: np.ndarray) -> float:
    """The two-sided p-value of a paired t-test of x against y.

    When every pair differs by the same amount, the t statistic has no spread to divide
    by: identical pairs are no difference (p = 1), a constant non-zero difference on
    every pair is as consistent as data get (p = 0).
    """
    from scipy import stats

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    diff = x - y
    scale = max(float(np.max(np.abs(np.concatenate([x, y])))), 1e-300)
    if float(np.ptp(diff)) <= 1e-12 * scale:
        return 1.0 if abs(float(diff[0])) <= 1e-12 * scale else 0.0
    with warnings.catch_warnings():  # scipy warns on nearly equal data; the p stands
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(stats.ttest_rel(x, y).pvalue)


def holm(ps: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjustment of the p-values given (None: not tested, left None):
    more comparisons must not make a difference easier to find."""
    tested = sorted((p, i) for i, p in enumerate(ps) if p is not None)
    m, running, out = len(tested), 0.0, list(ps)
    for rank, (p, i) in enumerate(tested):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out
