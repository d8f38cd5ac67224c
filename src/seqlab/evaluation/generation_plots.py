"""Figures for generated sequences: captioned sample images and attention heat maps."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # figures are saved to files; no display on servers or in CI

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def captioned_images(images: np.ndarray, predicted: list[str], truth: list[str],
                     title: str, columns: int = 4) -> Figure:
    """Each image with its predicted caption (green when right, red when wrong) and truth."""
    rows = int(np.ceil(len(images) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 1.9 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, guess, true in zip(axes.flat, images, predicted, truth, strict=False):
        ax.imshow(image, cmap="gray_r")
        ax.set_title(f"{guess}\n(true: {true})", fontsize=8,
                     color="green" if guess == true else "red")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def attention_maps(weights: list[np.ndarray], sources: list[list[str]],
                   outputs: list[list[str]], title: str) -> Figure:
    """One heat map per pair: output tokens (rows) over source tokens (columns)."""
    fig, axes = plt.subplots(1, len(weights), figsize=(4.5 * len(weights), 4), squeeze=False)
    for ax, w, src, out in zip(axes[0], weights, sources, outputs, strict=True):
        ax.imshow(w, cmap="viridis", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(len(src)), [repr(s)[1:-1] for s in src], rotation=90, fontsize=7)
        ax.set_yticks(range(len(out)), [repr(s)[1:-1] for s in out], fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
