"""Scorers for a target at every step: per-frame accuracy and per-step forecast error.

Only each test sequence's real steps (below its length) are scored.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from seqlab.data.processed import ProcessedData
from seqlab.evaluation import plots, step_plots
from seqlab.evaluation.metrics import classification_metrics, headline, regression_metrics

STRIPS = 4  # test videos drawn as label strips


def _test_steps(net: torch.nn.Module, data: ProcessedData) -> tuple[np.ndarray, np.ndarray]:
    """The model's test outputs (N x T x C) and the mask of real steps (N x T)."""
    from seqlab.evaluation.evaluate import predict  # evaluate.py imports this module

    outputs = predict(net, data, "test", pass_lengths=True)
    lengths = data.lengths[data.splits["test"]]
    return outputs, np.arange(outputs.shape[1])[None, :] < lengths[:, None]


def score_tagging(net: torch.nn.Module, data: ProcessedData, figures: Path, title: str):
    """Per-frame accuracy and macro F1 beside the training frames' majority class."""
    outputs, real = _test_steps(net, data)
    rows = data.splits["test"]
    truth_grid, predicted_grid = data.targets[rows], outputs.argmax(axis=2)
    truth, predicted = truth_grid[real], predicted_grid[real]
    test = classification_metrics(truth, predicted)
    train = data.targets[data.splits["train"]]
    train_lengths = data.lengths[data.splits["train"]]
    train_real = np.arange(train.shape[1])[None, :] < train_lengths[:, None]
    majority = np.bincount(train[train_real]).argmax()
    base = {"majority": classification_metrics(truth, np.full_like(truth, majority))}

    lengths = data.lengths[rows]
    shown = range(min(STRIPS, len(rows)))
    step_plots.label_strips([truth_grid[i, : lengths[i]] for i in shown],
                            [predicted_grid[i, : lengths[i]] for i in shown],
                            figures / "label_strips.png", title)
    if "run_position" in data.extras:
        step_plots.accuracy_by_run_position(data.extras["run_position"][rows][real],
                                            truth == predicted,
                                            figures / "accuracy_by_run_position.png", title)
    plots.confusion(truth, predicted, data.meta["classes"], figures / "confusion_matrix.png",
                    title)
    return test, base, headline(test, base, "acc", "majority", True)


def score_step_forecast(net: torch.nn.Module, data: ProcessedData, figures: Path, title: str):
    """Per-step MSE, MAE and R² beside the naive forecast (each step's input value)."""
    outputs, real = _test_steps(net, data)
    rows = data.splits["test"]
    meta = data.meta
    scale = (meta["scaler"]["min"], meta["scaler"]["max"])
    truth = data.targets[rows][real]
    forecasts = {"model": outputs[real], "naive": data.inputs[rows][real]}
    scores = {name: regression_metrics(truth, values, scale) for name, values in forecasts.items()}
    test = scores.pop("model")

    def original(values: np.ndarray) -> np.ndarray:
        return np.ravel(values) * (scale[1] - scale[0]) + scale[0]

    positions = data.extras["target_pos"][rows][real]
    order = np.argsort(positions, kind="stable")  # test chunks tile the period in time
    plots.forecast(meta["dates"], original(data.extras["series"]),
                   [meta["dates"][p] for p in positions[order]],
                   {name: original(values)[order] for name, values in forecasts.items()},
                   figures / "forecast.png", title)
    return test, scores, headline(test, scores, "mse", "naive", False)
