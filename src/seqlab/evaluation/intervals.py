"""How good a quantile forecast's interval is (model.quantiles): coverage and width.

The interval runs from the lowest quantile to the highest: with [0.1, 0.5, 0.9] it should
hold 80 % of the values (`nominal_coverage`). `coverage` is the share that it does hold on
the test split, `width` its mean width in the series' original units: an interval is good
when it covers as often as it claims and is no wider than it needs to be.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from seqlab.evaluation.predict import quantiles
from seqlab.losses import pinball

if TYPE_CHECKING:
    from seqlab.evaluation.outcome import Outcome


def interval_metrics(outcome: Outcome) -> dict[str, float]:
    """coverage, nominal_coverage, width (original units) and the mean pinball loss
    (original units) of the net's test quantiles; none for a net without quantiles."""
    found = quantiles(outcome.net, outcome.data, "test")  # N x H x Q
    if found is None:
        return {}
    meta, levels = outcome.data.meta, outcome.net.levels
    truth = np.asarray(outcome.truth).reshape(found.shape[:2])
    lower, upper = found[..., 0], found[..., -1]
    span = meta.scaler["max"] - meta.scaler["min"]  # scaled differences to original units
    loss = pinball(levels)(torch.from_numpy(found), torch.from_numpy(truth)).item()
    return {
        "coverage": float(np.mean((truth >= lower) & (truth <= upper))),
        "nominal_coverage": float(levels[-1] - levels[0]),
        "width": float(np.mean(upper - lower) * span),
        "pinball": loss * span,  # the training loss, in the series' units
    }
