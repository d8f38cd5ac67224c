"""Figures for per-step labels: label strips of a few test sequences, accuracy along a held run."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # figures are saved to files; no display on servers or in CI

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def label_strips(truth: list[np.ndarray], predicted: list[np.ndarray],
                 title: str) -> Figure:
    """For each test sequence, its true labels above the predicted ones, one colour per class."""
    fig, axes = plt.subplots(len(truth), 1, figsize=(10, 1.1 * len(truth) + 0.6), squeeze=False)
    for i, (ax, true, guess) in enumerate(zip(axes[:, 0], truth, predicted, strict=True)):
        ax.imshow(np.vstack([true, guess]), cmap="tab10", vmin=-0.5, vmax=9.5,
                  aspect="auto", interpolation="nearest")
        for row, labels in enumerate((true, guess)):
            for step, label in enumerate(labels):
                ax.text(step, row, str(label), ha="center", va="center", fontsize=7)
        ax.set_yticks([0, 1], ["truth", "model"])
        ax.set_xticks([])
        ax.set_title(f"test sequence {i}: accuracy {np.mean(true == guess):.2f}", fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def accuracy_by_run_position(positions: np.ndarray, correct: np.ndarray,
                             title: str) -> Figure:
    """Accuracy of frames by how long their digit has been held (0: the first frame)."""
    steps = np.arange(positions.max() + 1)
    accuracy = [correct[positions == p].mean() for p in steps]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.bar(steps, accuracy)
    ax.set(xlabel="frames since the digit appeared", ylabel="accuracy", ylim=(0, 1),
           title=title)
    fig.tight_layout()
    return fig
