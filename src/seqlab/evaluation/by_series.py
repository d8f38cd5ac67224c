"""Each series' own scores, for a global model of several (csv_series' series_column).

The pooled test metrics weigh every window alike, so a large series dominates them; a
user with several stores wants each store's forecast judged on its own, MASE against its
own seasonal naive scale (`meta.series[name]["naive_mae"]`).
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING

import numpy as np

from seqlab.data.processed import ProcessedData
from seqlab.evaluation.metrics import regression
from seqlab.evaluation.predict import scored

if TYPE_CHECKING:
    from seqlab.evaluation.outcome import Outcome

SCORES = ("mse", "mae_original", "smape", "mase")  # per series: the ones users compare


def safe(name: str) -> str:
    """A series name as a metric key and file name part (MLflow's allowed characters)."""
    return re.sub(r"[^\w\-. ]", "_", name)


def in_span(positions: np.ndarray, start: int, end: int) -> np.ndarray:
    """Which rows' first targets (positions N, or N x H) lie in values start:end."""
    first = positions if positions.ndim == 1 else positions[:, 0]
    return (first >= start) & (first < end)


def series_metrics(outcome: Outcome) -> dict[str, float]:
    """The model's scores per series (a Task's more_metrics)."""
    return series_scores(outcome.data, outcome.truth, outcome.answers, outcome.per_step)


def series_scores(data: ProcessedData, truth: np.ndarray, answers: np.ndarray,
                  per_step: bool) -> dict[str, float]:
    """`series/<name>/<score>` of `answers` (the model's or a baseline's) on each series'
    test windows; none for data of a single series."""
    meta = data.meta
    spans = meta.series_spans()
    if not spans:
        return {}
    positions = scored(data.extras["target_pos"], data, "test", per_step)
    truth = np.reshape(truth, (len(positions), -1))
    answers = np.reshape(answers, truth.shape)
    found = {}
    for name, start, end in spans:
        rows = in_span(positions, start, end)
        if not rows.any():
            continue
        own = dataclasses.replace(meta, naive_mae=meta.series[name]["naive_mae"])
        scores = regression(truth[rows], answers[rows], own)
        found |= {f"series/{safe(name)}/{key}": scores[key] for key in SCORES if key in scores}
    return found
