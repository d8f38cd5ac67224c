"""One progress bar for a whole training, redrawn a few times a second.

A bar redrawn every epoch (as Lightning's TQDMProgressBar does) cost 10 % of a training
of hundreds of epochs of a few steps each (course_ex1: 600 x 6). This bar counts every
optimiser step of the run and lets tqdm redraw at most every `REDRAW_S`; the epoch and
its losses are shown at the next redraw.
"""

from __future__ import annotations

import sys
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
