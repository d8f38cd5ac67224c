"""Figures people would rather look at than read: learning curves, forecasts, confusion.

Imported only to draw (pyplot costs half a second), and without pandas or scikit-learn:
the evaluate stage would import them for nothing else.
"""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # figures are saved to files; no display on servers or in CI

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def read_history(path: Path) -> dict[str, np.ndarray]:
    """history.csv as column -> values; an empty cell (an epoch without validation) is NaN."""
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    names = rows[0].keys() if rows else []
    return {name: np.array([float(row[name]) if row[name] else np.nan for row in rows])
            for name in names}


def learning_curves(history: Path | dict[str, np.ndarray]) -> Figure:
    """Every per-epoch metric of a run (history.csv, or its columns), train and val side
    by side."""
    if not isinstance(history, dict):
        history = read_history(Path(history))
    metrics = sorted({c.split("/", 1)[1] for c in history if "/" in c})
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.5), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        for stage in ("train", "val"):
            column = f"{stage}/{metric}"
            if column in history:
                kept = np.isfinite(history[column])
                ax.plot(history["epoch"][kept], history[column][kept], label=stage)
        ax.set(xlabel="epoch", ylabel=metric, title=f"learning curve: {metric}")
        if metric == "loss":
            ax.set_yscale("log")
        ax.legend()
    fig.tight_layout()
    return fig


def forecast(
    dates: list[str], series: np.ndarray, test_dates: list[str],
    lines: dict[str, np.ndarray], title: str,
    band: tuple[np.ndarray, np.ndarray, str] | None = None,
) -> Figure:
    """The whole series, with each forecast line drawn over the test period, and the
    model's interval (`band`: lower, upper, label) shaded. `dates` as meta.json writes
    them: each at its time of day (a half-hourly series is not drawn a day a point)."""
    from seqlab.data.dates import wall_times  # pandas: loaded by a forecast's baselines

    fig, ax = plt.subplots(figsize=(10, 4))
    ax.plot(wall_times(dates), series, color="0.6", label="series")
    when = wall_times(test_dates)
    if band is not None:
        lower, upper, label = band
        ax.fill_between(when, lower, upper, color="C0", alpha=0.25, linewidth=0, label=label)
    for label, values in lines.items():
        ax.plot(when, values, label=label, linewidth=1.5 if label == "model" else 1)
    ax.axvline(when[0], color="0.3", linestyle=":", label="test starts")
    ax.set(title=title, ylabel="value (original scale)")
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig


def confusion(truth: np.ndarray, predicted: np.ndarray, labels: list[str],
              title: str) -> Figure:
    """Counts of true (rows) by predicted (columns) class, as scikit-learn draws them."""
    n = len(labels)
    counts = np.zeros((n, n), dtype=np.int64)
    np.add.at(counts, (np.ravel(truth), np.ravel(predicted)), 1)
    fig, ax = plt.subplots(figsize=(6, 5))
    image = ax.imshow(counts, interpolation="nearest", cmap="viridis")
    dark, light = image.cmap(0), image.cmap(1.0)
    middle = (counts.max() + counts.min()) / 2
    for (row, column), count in np.ndenumerate(counts):
        ax.text(column, row, str(count), ha="center", va="center",
                color=light if count < middle else dark)
    ax.set(xticks=range(n), yticks=range(n), xticklabels=labels, yticklabels=labels,
           xlabel="Predicted label", ylabel="True label", title=title)
    ax.set_ylim(n - 0.5, -0.5)
    fig.tight_layout()
    return fig
