"""The report's figures: models against baselines, cells side by side, learning curves.

Every figure draws groups (a configuration over its seeds): a bar is the mean, its error
bar the standard deviation when there are several seeds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # written to files; no display on servers or in CI

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from seqlab.io import naming  # noqa: E402
from seqlab.report.entries import Entry  # noqa: E402
from seqlab.report.verdicts import Group  # noqa: E402

PANEL = (4.5, 3.5)  # inches per panel


def save(fig: Figure, path: Path) -> None:
    # No software version in the file: a new matplotlib alone does not change the output.
    with naming(path):  # a full disk: one line naming the figure
        fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)


def _panels(count: int, columns: int = 3) -> tuple[Figure, list]:
    cols = min(columns, count)
    rows = math.ceil(count / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(PANEL[0] * cols, PANEL[1] * rows),
                             squeeze=False)
    flat = list(axes.flat)
    for ax in flat[count:]:
        ax.set_visible(False)
    return fig, flat[:count]


def by_dataset(groups: Sequence[Group]) -> dict[tuple[str, str], list[Group]]:
    """Groups by (dataset, metric): what one panel can compare."""
    blocks: dict[tuple[str, str], list[Group]] = {}
    for g in groups:
        blocks.setdefault((g.dataset, g.metric), []).append(g)
    return blocks


def bars(ax, groups: Sequence[Group], labels: Sequence[str], title: str) -> None:
    """One bar per group (mean ± std) with its baseline drawn across it as a dashed line."""
    x = range(len(groups))
    spread = [g.std if g.n > 1 else math.nan for g in groups]  # NaN: no error bar
    ax.bar(x, [g.mean for g in groups], yerr=spread, capsize=4, color="tab:blue",
           label="model (mean ± std over seeds)")
    named = set()
    for i, g in enumerate(groups):
        base = g.baseline_group()
        if base is not None:
            label = f"{g.baseline_name} baseline"
            ax.hlines(base.mean, i - 0.45, i + 0.45, colors="black", linestyles="--",
                      label=None if label in named else label)
            named.add(label)
    ax.set_xticks(list(x), [f"{lab}\n({g.n} seed{'s' * (g.n != 1)})"
                            for lab, g in zip(labels, groups, strict=True)],
                  rotation=20, ha="right", fontsize=8)
    tops = [g.mean + (0.0 if math.isnan(e) else e) for g, e in zip(groups, spread, strict=True)]
    tops += [b.mean for b in (g.baseline_group() for g in groups) if b is not None]
    if min(tops + [g.mean for g in groups]) >= 0 and max(tops) > 0:
        ax.set_ylim(0, max(tops) * 1.4)  # room for the legend above the bars
    metric = groups[0].metric
    ax.set(title=title, ylabel=f"{metric} ({'higher' if groups[0].higher_is_better else 'lower'}"
                               " is better)")
    ax.legend(fontsize=7, loc="upper right")


def baselines_figure(groups: Sequence[Group], title: str) -> Figure:
    """Each dataset's configurations against their trivial baselines, one panel a dataset."""
    blocks = by_dataset(groups)
    fig, axes = _panels(len(blocks))
    for ax, ((dataset, _), block) in zip(axes, blocks.items(), strict=True):
        bars(ax, block, [g.config for g in block], dataset or "(dataset unknown)")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def cells_figure(blocks: dict[str, list[tuple[str, Group]]], title: str) -> Figure:
    """Recurrent cells side by side, one panel for each dataset trained with several."""
    fig, axes = _panels(len(blocks))
    for ax, (dataset, cells) in zip(axes, blocks.items(), strict=True):
        bars(ax, [g for _, g in cells], [f"{cell}: {g.config}" for cell, g in cells], dataset)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def learning_curves_figure(curves: dict[str, list[Entry]], title: str) -> Figure:
    """One panel per configuration: every seed's training loss (solid) and validation
    loss (dashed) by epoch, on a log scale when the losses are all positive."""
    fig, axes = _panels(len(curves))
    for ax, (config, entries) in zip(axes, curves.items(), strict=True):
        positive = True
        for i, e in enumerate(entries):
            color = f"C{i % 10}"
            seed = "" if e.seed is None else f" seed {e.seed}"
            for stage, style in (("train", "-"), ("val", "--")):
                column = f"{stage}/loss"
                if e.history is not None and column in e.history:
                    rows = e.history[["epoch", column]].dropna()
                    positive &= bool((rows[column] > 0).all())
                    ax.plot(rows["epoch"], rows[column], style, color=color,
                            label=f"{stage}{seed}")
        if positive:
            ax.set_yscale("log")
        ax.set(title=config, xlabel="epoch", ylabel="loss")
        ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
