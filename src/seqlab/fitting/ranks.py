"""DDP's ranks as processes: stopping them together, and waiting for them at the end.

Lightning's DDP launcher starts the other local ranks by running the command line again
(rank zero is the process the user started). Two of its habits need help here:

- Its SIGTERM handler broadcasts from inside the signal handler, so that all ranks stop
  at the same step (Lightning PR 20825). A rank already waiting in a gradient all-reduce
  never joins that broadcast: a `kill` or a cluster's time limit then hangs both ranks
  until gloo's 30-minute timeout (seen on 2 CPU ranks). StopTogether keeps seqlab's own
  handler instead (seqlab.signals: the run is marked KILLED and the process exits) and
  passes the signal on to the ranks this process started.
- Nothing waits for the ranks it started: wait_at_exit makes rank zero do so, so a
  command (a DVC stage, a test) returns only once every rank has ended.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import threading
from types import FrameType
from typing import Any

import pytorch_lightning as pl


def started_ranks(trainer: pl.Trainer) -> list[subprocess.Popen]:
    """The rank processes this process started (rank zero's launcher); else none."""
    return list(getattr(trainer.strategy.launcher, "procs", None) or [])


class StopTogether(pl.Callback):
    """On SIGTERM during training: pass it on to the ranks this process started, then
    run the handler that was there before the Trainer's (by default: exit)."""

    def __init__(self) -> None:
        self._before: Any = signal.SIG_DFL
        self._ranks: list[subprocess.Popen] = []

    def setup(self, trainer: pl.Trainer, pl_module: Any, stage: str) -> None:
        self._before = signal.getsignal(signal.SIGTERM)  # before the Trainer sets its own

    def on_train_start(self, trainer: pl.Trainer, pl_module: Any) -> None:
        # The Trainer set its handler just before this hook and restores the one from
        # before when training ends.
        if trainer.world_size > 1 and threading.current_thread() is threading.main_thread():
            self._ranks = started_ranks(trainer)
            signal.signal(signal.SIGTERM, self._stop)

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        for rank in self._ranks:
            if rank.poll() is None:
                rank.send_signal(signum)
        if callable(self._before):
            self._before(signum, frame)
        elif self._before != signal.SIG_IGN:  # the default: end as SIGTERM does
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)


def wait_at_exit(trainer: pl.Trainer, timeout_s: float = 60) -> None:
    """Have this process, at exit, wait for the ranks it started (killing one stuck
    after training)."""
    ranks = started_ranks(trainer)

    def wait() -> None:
        for rank in ranks:
            try:
                rank.wait(timeout_s)
            except subprocess.TimeoutExpired:
                rank.kill()

    if ranks:
        atexit.register(wait)
