"""DDP's ranks as processes: stopping them together, and waiting for them at the end.

Fabric's DDP launcher starts the other local ranks by running the command line again
(rank zero is the process the user started). Two things need doing on top:

- A SIGTERM (a `kill`, a cluster's time limit) reaches rank zero only: StopTogether
  passes it on to the ranks this process started, then runs seqlab's own handler
  (seqlab.signals: the run is marked KILLED and the process exits). A rank left
  waiting in a gradient all-reduce would otherwise hang until gloo's 30-minute timeout.
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


def started_ranks(fabric: Any) -> list[subprocess.Popen]:
    """The rank processes this process started (rank zero's launcher); else none."""
    return list(getattr(fabric.strategy.launcher, "procs", None) or [])


class StopTogether:
    """A loop callback: while training, a SIGTERM is passed on to the ranks this process
    started before the handler that was there runs (by default: exit)."""

    def __init__(self) -> None:
        self._before: Any = signal.SIG_DFL
        self._ranks: list[subprocess.Popen] = []

    def on_train_start(self, loop: Any) -> None:
        self._ranks = started_ranks(loop.fabric)
        if self._ranks and threading.current_thread() is threading.main_thread():
            self._before = signal.signal(signal.SIGTERM, self._stop)

    def on_train_end(self, loop: Any) -> None:
        if self._ranks and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._before)

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        for rank in self._ranks:
            if rank.poll() is None:
                rank.send_signal(signum)
        if callable(self._before):
            self._before(signum, frame)
        elif self._before != signal.SIG_IGN:  # the default: end as SIGTERM does
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)


def wait_at_exit(fabric: Any, timeout_s: float = 60) -> None:
    """Have this process, at exit, wait for the ranks it started (killing one stuck
    after training)."""
    ranks = started_ranks(fabric)

    def wait() -> None:
        for rank in ranks:
            try:
                rank.wait(timeout_s)
            except subprocess.TimeoutExpired:
                rank.kill()

    if ranks:
        atexit.register(wait)
