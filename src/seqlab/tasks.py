"""The task registry: everything seqlab does differently for one kind of target.

A dataset's meta.json names its task; training and evaluation look the task up here
and nowhere else branches on it. Adding a task is one entry below plus its own parts
(a LightningModule if none fits, a loss, answers, metrics, baselines, figures).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from seqlab import losses
from seqlab.errors import DataError
from seqlab.evaluation import (
    baselines,
    by_series,
    figures,
    generation,
    intervals,
    metrics,
    predict,
)
from seqlab.predict import answers


@dataclass(frozen=True)
class Task:
    """How one kind of target is trained and scored."""

    module: str  # its LightningModule, as a dotted path: Lightning is slow to import
    loss: Callable[[Any, Any], Any]  # (outputs, targets) -> mean loss
    per_step: bool  # a target at every real step (masked by length), else one per row
    predict: Callable[..., Any]  # (net, data, split) -> the net's answers
    metrics: Callable[..., dict[str, float]]  # (truth, answers, meta) -> test metrics
    baselines: Callable[..., dict[str, Any]]  # (data, per_step) -> name -> answers
    headline: str  # the metric training watches on validation (val/<headline>) ...
    higher_is_better: bool  # ... and its direction, shared by `judged_by`
    # (outputs, encoded raw inputs, meta) -> answers in the user's terms (seqlab.predict)
    answer: Callable[..., Any]
    figures: tuple[Callable[..., dict[str, Any]], ...] = ()  # Outcome -> stem -> figure
    # The test metric a run is judged by: the first of these the data has (the user's
    # units: MASE for a series, RMSE in the target's units), else `headline`.
    judged_by: tuple[str, ...] = ()
    more_metrics: tuple[Callable[..., dict[str, float]], ...] = ()  # Outcome -> metrics

    def lightning_module(self) -> type:
        path, name = self.module.rsplit(".", 1)
        return getattr(importlib.import_module(path), name)


SUPERVISED = "seqlab.fitting.supervised.SupervisedModule"
PER_STEP = "seqlab.fitting.per_step.PerStepModule"
GENERATOR = "seqlab.fitting.generation.GenerationModule"

FORECAST_UNITS = ("mase", "rmse_original")  # scale-free first, then the series' units

TASKS: dict[str, Task] = {
    # One class per sequence (or per image): digits, sentiment.
    "classification": Task(
        module=SUPERVISED, loss=losses.cross_entropy, per_step=False,
        predict=predict.classes, metrics=metrics.classification,
        baselines=baselines.classes, headline="acc", higher_is_better=True,
        figures=(figures.confusion_matrix,), answer=answers.labels,
    ),
    # The next value of a series from a window of past values.
    "regression": Task(
        module=SUPERVISED, loss=losses.mse, per_step=False,
        predict=predict.values, metrics=metrics.regression,
        baselines=baselines.naive_forecasts, headline="mse", higher_is_better=False,
        figures=(figures.forecast,),
        more_metrics=(intervals.interval_metrics, by_series.series_metrics),
        answer=answers.forecasts, judged_by=FORECAST_UNITS,
    ),
    # One value per sequence (a numeric label of a whole recording).
    "sequence_regression": Task(
        module=SUPERVISED, loss=losses.mse, per_step=False,
        predict=predict.values, metrics=metrics.regression,
        baselines=baselines.sequence_values, headline="mse", higher_is_better=False,
        answer=answers.values, judged_by=("rmse_original",),
    ),
    # A class at every step (frame labels, part-of-speech tags).
    "tagging": Task(
        module=PER_STEP, loss=losses.cross_entropy, per_step=True,
        predict=predict.step_classes, metrics=metrics.classification,
        baselines=baselines.tags, headline="acc", higher_is_better=True,
        figures=(figures.label_strips, figures.accuracy_by_run_position,
                 figures.confusion_matrix), answer=answers.tags,
    ),
    # The next value at every step of a series.
    "step_regression": Task(
        module=PER_STEP, loss=losses.mse, per_step=True,
        predict=predict.step_values, metrics=metrics.regression,
        baselines=baselines.naive_forecasts, headline="mse", higher_is_better=False,
        figures=(figures.forecast,), answer=answers.step_forecasts,
        judged_by=FORECAST_UNITS,
    ),
    # A token sequence out (captions, translations), decoded greedily or by beam search.
    "generation": Task(
        module=GENERATOR, loss=losses.token_cross_entropy, per_step=False,
        predict=predict.tokens, metrics=generation.sequence_metrics,
        baselines=baselines.most_frequent_sequence, headline="exact",
        higher_is_better=True, figures=(generation.captions, generation.attention),
        more_metrics=(generation.other_decoding,), answer=answers.texts,
    ),
}


def task_of(name: str) -> Task:
    """The registered task `name`; DataError names the known ones."""
    if name not in TASKS:
        raise DataError(f"unknown task {name!r} in the dataset's meta.json; known tasks: "
                        + ", ".join(TASKS))
    return TASKS[name]
