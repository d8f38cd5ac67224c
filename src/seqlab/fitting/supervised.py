"""The LightningModule for one target per sequence (many-to-one, one-to-one).

The loss comes from the task registry. Each step's loss and counts are kept on the
device and turned into metrics once per epoch (by the loop, seqlab.fitting.loop):
reading a value back every step costs more than a small model's step itself. A loss
that stops being finite ends the run with TrainingDiverged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytorch_lightning as pl
import torch
from torch import nn

from seqlab import losses
from seqlab.data.meta import Meta
from seqlab.errors import TrainingDiverged
from seqlab.fitting.settings import Optimization
from seqlab.models.quantiles import Quantiles

Batch = dict[str, torch.Tensor]


class SupervisedModule(pl.LightningModule):
    """Trains `net` on (outputs, targets) pairs with the task's loss.

    Integer targets are classes: their accuracy is counted beside the loss.
    """

    def __init__(self, net: nn.Module, loss: Callable[[Any, Any], torch.Tensor],
                 optim: Optimization, meta: Meta) -> None:
        super().__init__()
        self.net, self.loss, self.optim = net, loss, optim
        # Values trained on the MSE: the loss is the headline's {stage}/mse, under its name.
        self.loss_is_mse = loss is losses.mse
        # Quantile forecasts: the loss is the pinball loss, and {stage}/mse the median's.
        self.median = net.median if isinstance(net, Quantiles) else None
        self.pass_lengths = meta.variable_length  # only then pack sequences
        # Per stage, each step's (count, mean loss, other counts) of the epoch so far.
        self._steps: dict[str, list[tuple]] = {}

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(inputs, lengths if self.pass_lengths else None)

    def outputs_and_targets(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """What the loss compares; PerStepModule keeps each sequence's real steps only."""
        return self(batch["inputs"], batch["lengths"]), batch["targets"]

    def measure(self, batch: Batch, stage: str) -> torch.Tensor:
        """The batch's loss; its counts join the epoch's for `stage`."""
        outputs, targets = self.outputs_and_targets(batch)
        loss = self.loss(outputs, targets)
        if self.median is not None:  # the squared errors of the median, summed per row
            point = outputs[..., self.median]
            self.accumulate(stage, len(targets), loss,
                            torch.nn.functional.mse_loss(point, targets).detach() * len(targets))
        elif targets.is_floating_point():
            self.accumulate(stage, len(targets), loss)
        else:  # classes: count the right ones
            self.accumulate(stage, len(targets), loss, (outputs.argmax(dim=-1) == targets).sum())
        return loss

    def metric_names(self, stage: str, classes: bool) -> list[str]:
        """The epoch metrics this module reports for `stage`."""
        if classes:
            return [f"{stage}/loss", f"{stage}/acc"]
        mse = self.loss_is_mse or self.median is not None
        return [f"{stage}/loss", *([f"{stage}/mse"] if mse else [])]

    def epoch_metrics(self, stage: str, sums: torch.Tensor) -> dict[str, float]:
        """The metrics of an epoch's summed [loss x count, count, right]."""
        metrics = {f"{stage}/loss": float(sums[0] / sums[1])}
        if self.median is not None:
            metrics[f"{stage}/mse"] = float(sums[2] / sums[1])
        elif len(sums) > 2:
            metrics[f"{stage}/acc"] = float(sums[2] / sums[1])
        elif self.loss_is_mse:
            metrics[f"{stage}/mse"] = metrics[f"{stage}/loss"]
        return metrics

    def accumulate(self, stage: str, count: int | torch.Tensor, loss: torch.Tensor,
                   *counted: torch.Tensor) -> None:
        """Keep a step's mean loss over `count` items and its other counts as they are:
        they are summed once, at the epoch's end. Summing them every step took four small
        tensor operations, 5 % of a course_ex2 step."""
        self._steps.setdefault(stage, []).append((count, loss.detach(), *counted))

    def epoch_sums(self, stage: str) -> torch.Tensor | None:
        """The epoch's [loss x count, count, *counted] for `stage`, summed; then a fresh
        start for the next epoch's."""
        steps = self._steps.pop(stage, None)
        if not steps:
            return None
        device = steps[0][1].device
        counts, losses, *counted = (
            torch.stack([torch.as_tensor(value, device=device) for value in column]).float()
            for column in zip(*steps, strict=True))
        return torch.stack([(losses * counts).sum(), counts.sum(),
                            *(column.sum() for column in counted)])

    def finish_epoch(self, stage: str, epoch: int,
                     reduce: Callable[[torch.Tensor], torch.Tensor]) -> dict[str, float]:
        """The epoch's metrics for `stage` (its sums summed across DDP ranks by `reduce`)."""
        sums = self.epoch_sums(stage)
        if sums is None:
            return {}
        sums = reduce(sums)
        if not torch.isfinite(sums[0]):
            raise TrainingDiverged(
                f"{stage} loss is {sums[0].item()} in epoch {epoch}; lower optim.lr or set "
                "optim.gradient_clip_val (for example 1.0)"
            )
        return self.epoch_metrics(stage, sums)

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        return self.measure(batch, "train")

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        self.measure(batch, "val")

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return self.optim.make_optimizer(self.parameters())
