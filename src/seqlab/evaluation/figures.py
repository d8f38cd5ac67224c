"""The figures a task draws from an Outcome: file stem -> figure (none when not applicable)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from seqlab.evaluation.by_series import in_span, safe
from seqlab.evaluation.predict import quantiles, scored

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from seqlab.evaluation.outcome import Outcome

STRIPS = 4  # test sequences drawn as label strips
SERIES_DRAWN = 4  # of several series, those drawn (a figure each)


def confusion_matrix(outcome: Outcome) -> dict[str, Figure]:
    from seqlab.evaluation import plots

    return {"confusion_matrix": plots.confusion(outcome.truth, outcome.answers,
                                                outcome.data.meta.classes, outcome.title)}


def forecast(outcome: Outcome) -> dict[str, Figure]:
    """The series in original units, with the model's and baselines' test forecasts; with
    a horizon, the H-step paths from origins H apart, which tile the test period; with a
    quantile net, its interval shaded. Of several series, the first SERIES_DRAWN, a
    figure each (`forecast_<series>`)."""
    data = outcome.data
    positions = scored(data.extras["target_pos"], data, "test", outcome.per_step)
    lines = {"model": outcome.answers, **outcome.baselines}
    found = None if outcome.per_step else quantiles(outcome.net, data, "test")
    if found is not None:  # the interval: the lowest and highest quantiles
        lines |= {"lower": found[..., 0], "upper": found[..., -1]}
    lines = {name: np.reshape(values, positions.shape) for name, values in lines.items()}
    spans = data.meta.series_spans()
    if not spans:
        return {"forecast": _forecast(outcome, positions, lines, 0, len(data.meta.dates),
                                      outcome.title)}
    figures = {}
    for name, start, end in spans[:SERIES_DRAWN]:
        mine = in_span(positions, start, end)
        figures[f"forecast_{safe(name)}"] = _forecast(
            outcome, positions[mine] - start, {k: v[mine] for k, v in lines.items()},
            start, end, f"{outcome.title}: {name}")
    return figures


def _forecast(outcome: Outcome, positions: np.ndarray, lines: dict[str, np.ndarray],
              start: int, end: int, title: str) -> Figure:
    """One series (values start:end of the data's) with its test forecasts, whose
    `positions` count from its start."""
    from seqlab.evaluation import plots

    data, meta = outcome.data, outcome.data.meta
    if positions.ndim == 2:  # N x H: every H-th origin's path
        tiles = (positions[:, 0] - positions[:, 0].min()) % positions.shape[1] == 0
        lines = {name: values[tiles].ravel() for name, values in lines.items()}
        positions = positions[tiles].ravel()
    order = np.argsort(positions, kind="stable")  # per-step test chunks tile the period
    lines = {name: meta.unscale(values)[order] for name, values in lines.items()}
    band = None
    if "lower" in lines:
        levels = outcome.net.levels
        band = (lines.pop("lower"), lines.pop("upper"),
                f"model {levels[0]:g}-{levels[-1]:g} quantiles")
    dates = meta.dates[start:end]
    return plots.forecast(dates, meta.unscale(data.extras["series"][start:end]),
                          [dates[p] for p in positions[order]], lines, title, band)


def _per_row(flat: np.ndarray, lengths: np.ndarray) -> list[np.ndarray]:
    """Per-step answers laid end to end, cut back into one array per row."""
    return np.split(flat, np.cumsum(lengths)[:-1])


def label_strips(outcome: Outcome) -> dict[str, Figure]:
    """The first test sequences' true labels above the predicted ones."""
    from seqlab.evaluation import step_plots

    lengths = outcome.data.lengths[outcome.data.splits["test"]]
    shown = min(STRIPS, len(lengths))
    truth = _per_row(outcome.truth, lengths)[:shown]
    answers = _per_row(outcome.answers, lengths)[:shown]
    return {"label_strips": step_plots.label_strips(truth, answers, outcome.title)}


def accuracy_by_run_position(outcome: Outcome) -> dict[str, Figure]:
    """Accuracy by how long the label has been held, where the data records that."""
    from seqlab.evaluation import step_plots

    data = outcome.data
    if "run_position" not in data.extras:
        return {}
    positions = scored(data.extras["run_position"], data, "test", outcome.per_step)
    return {"accuracy_by_run_position": step_plots.accuracy_by_run_position(
        positions, outcome.truth == outcome.answers, outcome.title)}
