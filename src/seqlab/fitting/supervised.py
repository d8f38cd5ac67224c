"""The LightningModule for one target per sequence (many-to-one, one-to-one).

The loss comes from the task registry. Per-step sums are kept on the device and logged
once per epoch: logging every step costs more than a small model's step itself. A loss
that stops being finite ends the run with TrainingDiverged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytorch_lightning as pl
import torch
from torch import nn

from seqlab.data.meta import Meta
from seqlab.errors import TrainingDiverged
from seqlab.fitting.settings import Optimization, Schedule

Batch = dict[str, torch.Tensor]


class SupervisedModule(pl.LightningModule):
    """Trains `net` on (outputs, targets) pairs with the task's loss.

    Integer targets are classes: their accuracy is logged beside the loss.
    """

    def __init__(self, net: nn.Module, loss: Callable[[Any, Any], torch.Tensor],
                 optim: Optimization, meta: Meta, schedule: Schedule | None = None) -> None:
        super().__init__()
        self.net, self.loss, self.optim, self.schedule = net, loss, optim, schedule
        self.pass_lengths = meta.variable_length  # only then pack sequences
        self.history: list[dict[str, float]] = []
        self._sums: dict[str, torch.Tensor] = {}
        self._last_val: dict[str, float] = {}
        self._epoch_lr = 0.0
        # Called with the history after each epoch, on rank zero (the tracker logs it).
        self.report_epoch: Callable[[list[dict[str, float]]], None] | None = None

    def __setattr__(self, name: str, value: Any) -> None:
        # Lightning records the running hook's name on the module around every hook call
        # (~45 a step). nn.Module.__setattr__ checks each value for a parameter, module or
        # buffer first: 9 % of a tiny model's training (course_ex1). A hook name is none
        # of those, so it is set directly.
        if name == "_current_fx_name":
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(inputs, lengths if self.pass_lengths else None)

    def outputs_and_targets(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """What the loss compares; PerStepModule keeps each sequence's real steps only."""
        return self(batch["inputs"], batch["lengths"]), batch["targets"]

    def measure(self, batch: Batch, stage: str) -> torch.Tensor:
        """The batch's loss; its sums join the epoch's for `stage`."""
        outputs, targets = self.outputs_and_targets(batch)
        loss = self.loss(outputs, targets)
        n = targets.new_tensor(len(targets), dtype=torch.float32)
        sums = [loss.detach() * n, n]
        if not targets.is_floating_point():  # classes: count the right ones
            sums.append((outputs.argmax(dim=-1) == targets).sum().float())
        self.accumulate(stage, sums)
        return loss

    def metric_names(self, stage: str, classes: bool) -> list[str]:
        """The epoch metrics this module logs for `stage`."""
        return [f"{stage}/loss", *([f"{stage}/acc"] if classes else [])]

    def epoch_metrics(self, stage: str, sums: torch.Tensor) -> dict[str, float]:
        """The metrics to log from an epoch's summed [loss x count, count, right]."""
        metrics = {f"{stage}/loss": float(sums[0] / sums[1])}
        if len(sums) > 2:
            metrics[f"{stage}/acc"] = float(sums[2] / sums[1])
        return metrics

    def accumulate(self, stage: str, sums: list[torch.Tensor]) -> None:
        """Add a step's sums ([loss x count, count, ...]) to its epoch's, on the device."""
        step = torch.stack(sums)
        self._sums[stage] = self._sums[stage] + step if stage in self._sums else step

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

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        return self.measure(batch, "train")

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        self.measure(batch, "val")

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking:
            self._sums.pop("val", None)
            return
        self._last_val = self._finish_epoch("val")
        self.publish(self._last_val)

    def publish(self, metrics: dict[str, float]) -> None:
        """Hand an epoch's metrics (already reduced across ranks) to the callbacks and
        schedulers that watch them: straight into trainer.callback_metrics, which is what
        they read. self.log_dict does the same through Lightning's result collection, at
        about 4 ms an epoch: more than an epoch of a tiny model's steps."""
        self.trainer.callback_metrics.update(
            {name: torch.tensor(value) for name, value in metrics.items()})

    def on_train_epoch_start(self) -> None:
        # The learning rate the epoch starts with: a schedule shows in the history.
        self._epoch_lr = float(self.trainer.optimizers[0].param_groups[0]["lr"])

    def on_train_epoch_end(self) -> None:
        metrics = {**self._finish_epoch("train"), "lr": self._epoch_lr}
        self.publish(metrics)
        row = {"epoch": self.current_epoch + 1, **metrics, **self._last_val}
        self.history.append(row)
        self._last_val = {}
        if self.report_epoch is not None and self.trainer.is_global_zero:
            self.report_epoch(self.history)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # What a resumed run needs beyond Lightning's own state: the history so far and
        # the random stream (dropout, sampled teacher forcing) where it stood.
        checkpoint["seqlab"] = {"history": self.history, "rng": torch.get_rng_state()}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        saved = checkpoint.get("seqlab", {})
        self.history = list(saved.get("history", []))
        if "rng" in saved:
            torch.set_rng_state(saved["rng"])

    def configure_optimizers(self) -> Any:
        optimizer = self.optim.make_optimizer(self.parameters())
        if self.schedule is None:
            return optimizer
        datamodule = self.trainer.datamodule
        config = self.schedule.lightning_config(
            optimizer, epochs=self.trainer.max_epochs,
            steps=int(self.trainer.estimated_stepping_batches),
            has_val=datamodule is not None and datamodule.size("val") > 0,
            val_every=self.trainer.check_val_every_n_epoch)
        return {"optimizer": optimizer, "lr_scheduler": config}
