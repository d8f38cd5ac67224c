"""Resume points: a checkpoint to continue an interrupted training from.

Saved every `every_n_epochs` epochs (or once `every_minutes` have passed) at the end of
an epoch, after the epoch's metrics are recorded, in a folder outside the model's
temporary folder, so a crash cannot delete it. The file is written under a temporary
name and renamed: a kill during the save leaves the previous resume point intact.
Under DDP every rank has this callback (rank zero alone writes the file).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Checkpoint

from seqlab.config import require_int, require_number

RESUME_FILE = "last.ckpt"


class ResumePoint(Checkpoint):
    """Lightning runs Checkpoint callbacks after the module's epoch-end hook: the
    saved state includes the epoch's history row."""

    def __init__(self, folder: Path, every_n_epochs: int = 1, every_minutes: float | None = None,
                 on_saved: Callable[[list[dict[str, float]]], None] | None = None) -> None:
        require_int("every_n_epochs", every_n_epochs, minimum=0)
        if every_minutes is not None:
            require_number("every_minutes", every_minutes, 0, None, low_open=True)
        self.path = Path(folder) / RESUME_FILE
        self.every_n_epochs, self.every_minutes = every_n_epochs, every_minutes
        self.on_saved = on_saved
        self._last_save = time.monotonic()

    def _due(self, epoch: int) -> bool:
        if self.every_minutes is not None:
            return time.monotonic() - self._last_save >= self.every_minutes * 60
        return self.every_n_epochs > 0 and epoch % self.every_n_epochs == 0

    def on_train_epoch_end(self, trainer: pl.Trainer, module: Any) -> None:
        if trainer.sanity_checking:
            return
        # Saving is a collective under DDP: every rank must agree to save, and clocks
        # differ, so rank zero's decision is the one taken (a rank saving alone hangs).
        if not trainer.strategy.broadcast(self._due(trainer.current_epoch + 1)):
            return
        partial = self.path.with_name(f".{RESUME_FILE}.partial")
        trainer.save_checkpoint(partial)  # every rank takes part; rank zero writes
        if trainer.is_global_zero:
            os.replace(partial, self.path)
        self._last_save = time.monotonic()
        if self.on_saved is not None and trainer.is_global_zero:
            self.on_saved(module.history)
