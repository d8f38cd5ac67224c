"""The training loop: epochs of optimiser steps on a LightningModule, through Fabric.

Lightning Fabric puts the module on its device, wraps the optimiser for the precision
and the DDP strategy chosen, and starts DDP's ranks; the loop itself is these few lines.
Lightning's Trainer ran the same module at 1.4-1.6 x a plain PyTorch loop on course_ex1
(3,600 steps of ~1 ms): ~45 hook calls and their bookkeeping per step. This loop calls
nothing per step but the step itself (and the bar), and per epoch the callbacks:
`python -m seqlab.profile steps` shows where each step's time goes.

Callbacks (seqlab.fitting.callbacks, the resume point, the bar, the tracker's epoch
report) may have `on_epoch_end(loop, row)`, called after each epoch's row joins the
history (they may set `loop.should_stop`), `on_train_start(loop)`,
`on_train_end(loop)` and `on_step()`, after each optimiser step.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import torch

from seqlab.fitting.batches import TensorBatches
from seqlab.fitting.settings import LrSchedule


class Loop:
    """Trains `module` (set up by `fabric` with `optimizer`) for `max_epochs` epochs."""

    def __init__(self, fabric: Any, module: Any, optimizer: Any, train: TensorBatches,
                 val: TensorBatches | None, max_epochs: int, callbacks: list[Any],
                 clip: float | None = None, val_every: int = 1,
                 schedule: LrSchedule | None = None, profiler: Any = None) -> None:
        self.fabric, self.module, self.optimizer = fabric, module, optimizer
        self.train, self.val = train, val
        self.max_epochs, self.clip, self.val_every = max_epochs, clip, val_every
        self.callbacks, self.schedule = callbacks, schedule
        self.net = module.net  # the network inside the module: its weights are kept
        self.epoch = 0  # epochs done (more than 0 once a resume point is loaded)
        self.history: list[dict[str, float]] = []
        self.should_stop = False
        # Lightning's profiler (debug=profile, seqlab.profile steps), else nothing.
        self.profiler = profiler
        self.profile: Callable[[str], AbstractContextManager] = (
            profiler.profile if profiler is not None else _nothing)

    @property
    def global_step(self) -> int:
        return self.epoch * len(self.train)

    def run(self) -> list[dict[str, float]]:
        """Train until max_epochs or a callback stops it; the history, a row per epoch."""
        self._call("on_train_start")
        try:
            while self.epoch < self.max_epochs and not self.should_stop:
                with self.profile("run_training_epoch"):
                    row = self.train_epoch()
                self.history.append(row)
                self.epoch += 1
                with self.profile("on_epoch_end"):
                    for callback in self.callbacks:
                        if hasattr(callback, "on_epoch_end"):
                            callback.on_epoch_end(self, row)
        finally:
            self._call("on_train_end")
        return self.history

    def train_epoch(self) -> dict[str, float]:
        """One pass over the training batches (and validation when due): the epoch's row."""
        module, optimizer, fabric, profile = self.module, self.optimizer, self.fabric, self.profile
        lr = float(optimizer.param_groups[0]["lr"])  # the rate the epoch starts with
        step = module.training_step  # under DDP: through DDP's forward (Fabric redirects)
        on_step = [c.on_step for c in self.callbacks if hasattr(c, "on_step")]
        module.train()
        for index, batch in enumerate(self.train):  # sliced on the device already
            with profile("training_step"), fabric.autocast():
                loss = step(batch, index)
            with profile("backward"):
                optimizer.zero_grad(set_to_none=True)
                fabric.backward(loss)
            with profile("optimizer_step"):
                if self.clip:
                    fabric.clip_gradients(module, optimizer, max_norm=self.clip)
                optimizer.step()
                if self.schedule is not None:
                    self.schedule.after_step()
            with profile("on_step"):
                for callback in on_step:
                    callback()
        number = self.epoch + 1
        row = {"epoch": number, **module.finish_epoch("train", number, self._sum), "lr": lr}
        if self.val is not None and number % self.val_every == 0:
            with profile("validation"):
                row.update(self.validate(number))
        if self.schedule is not None:
            self.schedule.after_epoch(row)
        return row

    @torch.no_grad()
    def validate(self, number: int) -> dict[str, float]:
        self.module.eval()
        step = self.module.validation_step
        for index, batch in enumerate(self.val):
            with self.fabric.autocast():
                step(batch, index)
        self.module.train()
        return self.module.finish_epoch("val", number, self._sum)

    def _sum(self, sums: torch.Tensor) -> torch.Tensor:
        """Epoch sums added up across DDP's ranks (one process: as they are)."""
        return self.fabric.all_reduce(sums, reduce_op="sum") if self.fabric.world_size > 1 \
            else sums

    def _call(self, hook: str) -> None:
        for callback in self.callbacks:
            if hasattr(callback, hook):
                getattr(callback, hook)(self)

    # -- resume points ------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """What a resumed run needs to continue exactly: weights, optimiser, schedule,
        history, the random streams (dropout, shuffling) and the callbacks' state."""
        return {"module": self.module, "optimizer": self.optimizer, "epoch": self.epoch,
                "history": self.history, "rng": torch.get_rng_state(),
                "shuffle": self.train.generator.get_state(),
                "schedule": self.schedule.state_dict() if self.schedule else {},
                "callbacks": {type(c).__name__: c.state_dict() for c in self.callbacks
                              if hasattr(c, "state_dict")}}

    def load(self, saved: dict[str, Any]) -> None:
        """Continue from `state()` as loaded (module and optimizer already restored)."""
        self.epoch, self.history = int(saved["epoch"]), list(saved["history"])
        torch.set_rng_state(saved["rng"])
        self.train.generator.set_state(saved["shuffle"])
        if self.schedule:
            self.schedule.load_state_dict(saved["schedule"])
        for callback in self.callbacks:
            if type(callback).__name__ in saved["callbacks"]:
                callback.load_state_dict(saved["callbacks"][type(callback).__name__])


def _nothing(name: str) -> AbstractContextManager:
    return nullcontext()
