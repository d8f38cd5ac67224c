"""Ctrl-C and SIGTERM (a cluster's time limit) end a run cleanly.

Inside `interruptible()`, either signal raises `Interrupted`, a BaseException that no
`except Exception` swallows: the MLflow run is marked KILLED, temporary folders are
removed on the way out, resume points stay, and the process exits with 128 + the
signal's number (130, 143), as a shell reports a process killed by it.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

STOPPING = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):  # noqa: N818 (a signal, not an error)
    """A signal asked the process to stop."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_status(self) -> int:
        return 128 + self.signum


def _raise(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


@contextmanager
def interruptible() -> Iterator[None]:
    """Turn SIGINT and SIGTERM into Interrupted; report it in one line and exit."""
    previous = {s: signal.signal(s, _raise) for s in STOPPING}
    try:
        yield
    except Interrupted as stop:
        # A second signal during the report must not interrupt it.
        for s in STOPPING:
            signal.signal(s, signal.SIG_IGN)
        print(f"seqlab: interrupted by {stop}; the run is marked KILLED", file=sys.stderr)
        sys.exit(stop.exit_status)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
