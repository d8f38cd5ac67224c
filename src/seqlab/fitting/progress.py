"""One progress bar for a whole training, redrawn a few times a second.

A bar redrawn every epoch (as Lightning's TQDMProgressBar does) cost 10 % of a training
of hundreds of epochs of a few steps each (course_ex1: 600 x 6). This bar counts every
optimiser step of the run and lets tqdm redraw at most every `REDRAW_S`; the epoch and
its losses are shown at the next redraw.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from tqdm import tqdm

REDRAW_S = 0.25


class RunBar:
    """A loop callback (seqlab.fitting.loop): steps done of max_epochs x batches, with
    the epoch and its losses as postfix."""

    def __init__(self) -> None:
        self.bar: tqdm | None = None

    def on_train_start(self, loop: Any) -> None:
        steps = len(loop.train)
        self.bar = tqdm(total=loop.max_epochs * steps, initial=loop.global_step, unit="step",
                        mininterval=REDRAW_S, dynamic_ncols=True, file=sys.stderr,
                        desc="training")

    def on_step(self) -> None:
        self.bar.update()  # tqdm redraws only once REDRAW_S has passed

    def on_epoch_end(self, loop: Any, row: dict[str, float]) -> None:
        shown = {name: f"{value:.4g}" for name, value in row.items()
                 if name.endswith(("loss", "acc"))}
        self.bar.set_description(f"epoch {loop.epoch}/{loop.max_epochs}", refresh=False)
        self.bar.set_postfix(shown, refresh=False)

    def on_train_end(self, loop: Any) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class EpochLines:
    """A loop callback for output that is not a terminal (a DVC log, a CI job): a line
    per epoch with its losses and metrics and the time since the start, at most one every
    LINE_EVERY_S (hundreds of short epochs would flood a log), the last epoch always."""

    LINE_EVERY_S = 2.0

    def __init__(self) -> None:
        self.started = self.shown = 0.0

    def on_train_start(self, loop: Any) -> None:
        self.started = time.monotonic()
        self.shown = -self.LINE_EVERY_S  # the first epoch is shown

    def on_epoch_end(self, loop: Any, row: dict[str, float]) -> None:
        now = time.monotonic()
        last = loop.epoch >= loop.max_epochs or loop.should_stop
        if now - self.shown < self.LINE_EVERY_S and not last:
            return
        self.shown = now
        values = ", ".join(f"{name} {value:.4g}" for name, value in row.items()
                           if name != "epoch")
        print(f"epoch {loop.epoch}/{loop.max_epochs}: {values} ({now - self.started:.1f} s)",
              file=sys.stderr, flush=True)
