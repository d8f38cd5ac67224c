"""Figures people would rather look at than read: learning curves, forecasts, confusion."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # figures are saved to files; no display on servers or in CI

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def learning_curves(history: pd.DataFrame) -> Figure:
    """Every per-epoch metric of a run, train and val side by side."""
    metrics = sorted({c.split("/", 1)[1] for c in history.columns if "/" in c})
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.5), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        for stage in ("train", "val"):
            column = f"{stage}/{metric}"
            if column in history:
                rows = history[["epoch", column]].dropna()
                ax.plot(rows["epoch"], rows[column], label=stage)
        ax.set(xlabel="epoch", ylabel=metric, title=f"learning curve: {metric}")
        if metric == "loss":
            ax.set_yscale("log")
        ax.legend()
    fig.tight_layout()
    return fig


def forecast(
    dates: list[str], series: np.ndarray, test_dates: list[str],
    lines: dict[str, np.ndarray], title: str,
) -> Figure:
    """The whole series, with each forecast line drawn over the test period."""
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.plot(pd.to_datetime(dates), series, color="0.6", label="series")
    when = pd.to_datetime(test_dates)
    for label, values in lines.items():
        ax.plot(when, values, label=label, linewidth=1.5 if label == "model" else 1)
    ax.axvline(when[0], color="0.3", linestyle=":", label="test starts")
    ax.set(title=title, ylabel="value (original scale)")
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig


def confusion(truth: np.ndarray, predicted: np.ndarray, labels: list[str],
              title: str) -> Figure:
    from sklearn.metrics import ConfusionMatrixDisplay

    fig, ax = plt.subplots(figsize=(6, 5))
    ConfusionMatrixDisplay.from_predictions(
        truth, predicted, labels=list(range(len(labels))), display_labels=labels, ax=ax,
        colorbar=False,
    )
    ax.set_title(title)
    fig.tight_layout()
    return fig
    return fig
