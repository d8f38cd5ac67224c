"""One progress bar for a whole training, redrawn a few times a second.

Lightning's TQDMProgressBar resets and redraws a bar every epoch: with hundreds of
epochs of a few steps each (course_ex1: 600 x 6) that cost 10 % of the training. This
bar counts every optimiser step of the run and lets tqdm redraw at most every
`REDRAW_S`; the epoch and its metrics are shown at the next redraw.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import ProgressBar
from tqdm import tqdm

REDRAW_S = 0.25


class RunBar(ProgressBar):
    """Steps done of max_epochs x batches, with the epoch and its losses as postfix."""

    def __init__(self) -> None:
        super().__init__()
        self._enabled = True
        self.bar: tqdm | None = None

    @property
    def is_enabled(self) -> bool:
        return self._enabled

    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self._enabled:
            return
        per_epoch = trainer.num_training_batches
        total = (trainer.max_epochs * per_epoch
                 if math.isfinite(per_epoch) and trainer.max_epochs > 0 else None)
        self.bar = tqdm(total=total, initial=trainer.global_step, unit="step",
                        mininterval=REDRAW_S, dynamic_ncols=True, file=sys.stderr,
                        desc="training")

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                           outputs: Any, batch: Any, batch_idx: int) -> None:
        if self.bar is not None:
            self.bar.update(1)  # tqdm redraws only once REDRAW_S has passed

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.bar is None:
            return
        shown = {name: f"{float(value):.4g}" for name, value in trainer.callback_metrics.items()
                 if name.endswith(("loss", "acc"))}
        self.bar.set_description(f"epoch {trainer.current_epoch + 1}/{trainer.max_epochs}",
                                 refresh=False)
        self.bar.set_postfix(shown, refresh=False)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                     exception: BaseException) -> None:
        self.on_train_end(trainer, pl_module)
