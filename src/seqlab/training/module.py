"""The LightningModule for one supervised output per sequence (many-to-one, one-to-one)."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch
from torch import nn
from torch.nn import functional as F

from seqlab.errors import TrainingDiverged
from seqlab.training.settings import Optimization

TASKS = ("classification", "regression")


def loss_fn(task: str, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    if task == "classification":
        return F.cross_entropy(outputs, targets)
    return F.mse_loss(outputs, targets)


class SupervisedModule(pl.LightningModule):
    """Trains `net` with cross-entropy (classification) or MSE (regression).

    Per-step losses are summed on the device and logged once per epoch: logging every
    step costs more than a small model's step itself. A loss that stops being finite
    ends the run with TrainingDiverged.
    """

    def __init__(self, net: nn.Module, optim: Optimization, meta: dict[str, Any]) -> None:
        super().__init__()
        self.net, self.optim, self.task = net, optim, meta["task"]
        self.pass_lengths = meta.get("variable_length", False)  # only then pack sequences
        self.history: list[dict[str, float]] = []
        self._sums: dict[str, torch.Tensor] = {}
        self._last_val: dict[str, float] = {}

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(inputs, lengths if self.pass_lengths else None)

    def _step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        outputs = self(batch["inputs"], batch["lengths"])
        targets = batch["targets"]
        loss = loss_fn(self.task, outputs, targets)
        n = targets.new_tensor(len(targets), dtype=torch.float32)
        sums = [loss.detach() * n, n]
        if self.task == "classification":
            sums.append((outputs.argmax(dim=1) == targets).sum().float())
        self._accumulate(stage, sums)
        return loss

    def _accumulate(self, stage: str, sums: list[torch.Tensor]) -> None:
        """Add a step's sums ([loss x count, count, ...]) to its epoch's, on the device."""
        step = torch.stack(sums)
        self._sums[stage] = self._sums[stage] + step if stage in self._sums else step

    def epoch_metrics(self, stage: str, sums: torch.Tensor) -> dict[str, float]:
        """The metrics to log from an epoch's summed [loss x count, count, correct]."""
        metrics = {f"{stage}/loss": float(sums[0] / sums[1])}
        if self.task == "classification":
            metrics[f"{stage}/acc"] = float(sums[2] / sums[1])
        return metrics

    def _finish_epoch(self, stage: str) -> dict[str, float]:
        sums = self._sums.pop(stage, None)
        if sums is None:
            return {}
        sums = self.trainer.strategy.reduce(sums, reduce_op="sum")  # across DDP ranks
        if not torch.isfinite(sums[0]):
            raise TrainingDiverged(
                f"{stage} loss is {sums[0].item()} in epoch {self.current_epoch}; lower "
                "optim.lr or set optim.gradient_clip_val (for example 1.0)"
            )
        return self.epoch_metrics(stage, sums)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "val")

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking:
            self._sums.pop("val", None)
            return
        self._last_val = self._finish_epoch("val")
        self.log_dict(self._last_val)

    def on_train_epoch_end(self) -> None:
        metrics = self._finish_epoch("train")
        self.log_dict(metrics)
        self.history.append({"epoch": self.current_epoch + 1, **metrics, **self._last_val})
        self._last_val = {}

    def configure_optimizers(self) -> Any:
        return self.optim.make_optimizer(self.parameters())
