"""Score a trained net on the test split beside its task's trivial baselines.

`evaluate` returns scores and figures and writes nothing: its caller (seqlab.pipeline)
saves the metrics file and figures and logs them to the run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from torch import nn

from seqlab.data.processed import ProcessedData
from seqlab.evaluation.baselines import about
from seqlab.evaluation.by_series import series_scores
from seqlab.evaluation.metrics import headline
from seqlab.evaluation.outcome import Outcome
from seqlab.evaluation.predict import scored
from seqlab.evaluation.stored_baselines import answered

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class Scoring(Protocol):
    """What evaluation needs of a task (seqlab.tasks.Task has it): evaluation stays
    below the task registry, which is built from its parts."""

    @property
    def per_step(self) -> bool: ...
    @property
    def predict(self) -> Callable[..., Any]: ...  # (net, data, split) -> answers
    @property
    def metrics(self) -> Callable[..., dict[str, float]]: ...  # (truth, answers, meta)
    @property
    def more_metrics(self) -> tuple[Callable[..., dict[str, float]], ...]: ...  # Outcome ->
    @property
    def baselines(self) -> Callable[..., dict[str, Any]]: ...  # (data, per_step)
    @property
    def figures(self) -> tuple[Callable[..., dict[str, Any]], ...]: ...  # Outcome ->
    @property
    def judged_by(self) -> tuple[str, ...]: ...
    @property
    def headline(self) -> str: ...
    @property
    def higher_is_better(self) -> bool: ...


@dataclass
class Evaluation:
    test: dict[str, float]  # metric -> value
    baselines: dict[str, dict[str, float]]  # baseline -> metric -> value
    headline: dict[str, Any]  # the metric a run is judged by, beside the strongest baseline
    figures: dict[str, Figure] = field(default_factory=dict)  # file stem -> figure
    # baseline -> what it is ("description") and, for one that learns, its "seconds"
    about: dict[str, dict[str, Any]] = field(default_factory=dict)


def evaluate(net: nn.Module, data: ProcessedData, task: Scoring, title: str,
             stored_in: Path | None = None) -> Evaluation:
    """Answer the test split with `net` and with each baseline; score and draw both.

    With `stored_in`, the baselines' answers are read from there when a run before
    fitted them on the same data (seqlab.evaluation.stored_baselines), else kept there.
    """
    truth = scored(data.targets, data, "test", task.per_step)
    outcome = Outcome(net=net, data=data, per_step=task.per_step, truth=truth,
                      answers=task.predict(net, data, "test"),
                      baselines=answered(task.baselines, data, task.per_step, stored_in),
                      title=title)
    test = task.metrics(truth, outcome.answers, data.meta)
    for more in task.more_metrics:
        test |= more(outcome)
    # Of several series (a global model), each baseline is scored per series too.
    base = {name: task.metrics(truth, answers, data.meta)
            | series_scores(data, truth, answers, task.per_step)
            for name, answers in outcome.baselines.items()}
    figures: dict[str, Figure] = {}
    for draw in task.figures:
        figures |= draw(outcome)
    return Evaluation(test=test, baselines=base,
                      headline=headline(test, base, (*task.judged_by, task.headline),
                                        task.higher_is_better),
                      figures=figures, about=about(outcome.baselines))
