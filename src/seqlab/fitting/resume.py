"""Resume points: a checkpoint to continue an interrupted training from.

Saved every `every_n_epochs` epochs (or once `every_minutes` have passed) at the end of
an epoch, after the epoch's row joined the history, in a folder outside the model's
temporary folder, so a crash cannot delete it. The file is written under a temporary
name and renamed: a kill during the save leaves the previous resume point intact.
Under DDP every rank has this callback (rank zero alone writes the file).
"""

from __future__ import annotations

import os
import pickle
import time
import zipfile
from pathlib import Path
from typing import Any

from seqlab.checks import require_int, require_number
from seqlab.errors import SeqlabError
from seqlab.io import naming

RESUME_FILE = "last.ckpt"


class ResumePoint:
    """A loop callback (seqlab.fitting.loop) saving the loop's state when due."""

    def __init__(self, folder: Path, every_n_epochs: int = 1,
                 every_minutes: float | None = None) -> None:
        require_int("every_n_epochs", every_n_epochs, minimum=0)
        if every_minutes is not None:
            require_number("every_minutes", every_minutes, 0, None, low_open=True)
        self.path = Path(folder) / RESUME_FILE
        self.every_n_epochs, self.every_minutes = every_n_epochs, every_minutes
        self._last_save = time.monotonic()

    def _due(self, epoch: int) -> bool:
        if self.every_minutes is not None:
            return time.monotonic() - self._last_save >= self.every_minutes * 60
        return self.every_n_epochs > 0 and epoch % self.every_n_epochs == 0

    def on_epoch_end(self, loop: Any, row: dict[str, float]) -> None:
        # Saving is a collective under DDP: every rank must agree to save, and clocks
        # differ, so rank zero's decision is the one taken (a rank saving alone hangs).
        if not loop.fabric.broadcast(self._due(loop.epoch), src=0):
            return
        partial = self.path.with_name(f".{RESUME_FILE}.partial")
        with naming(partial):  # a full disk: one line naming the file
            loop.fabric.save(partial, loop.state())  # every rank takes part; rank zero writes
        if loop.fabric.is_global_zero:
            os.replace(partial, self.path)
        self._last_save = time.monotonic()


def load(loop: Any, path: Path) -> None:
    """Continue `loop` from the resume point at `path`; one that is not this loop's
    (another net, a file from an older seqlab) is a one-line SeqlabError."""
    state = {"module": loop.module, "optimizer": loop.optimizer}
    try:
        # weights_only: a checkpoint is a pickle; only tensors and plain values are read.
        rest = loop.fabric.load(path, state, weights_only=True)
        loop.load(rest)
    except (pickle.UnpicklingError, EOFError, OSError, zipfile.BadZipFile):
        # Truncated, empty or random bytes. torch's own advice for a file it refuses is to
        # load it with weights_only=False, which would run whatever a bad file holds.
        raise SeqlabError(f"{path}: cannot resume from it (the file is damaged or not a "
                          f"resume point); delete {path.parent} to train from the start"
                          ) from None
    except (KeyError, RuntimeError, ValueError) as error:  # another net's, an older seqlab's
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        if "weights_only" in reason:
            reason = "not a resume point this seqlab wrote"
        raise SeqlabError(f"{path}: cannot resume from it ({reason[:200]}); delete "
                          f"{path.parent} to train from the start") from None

