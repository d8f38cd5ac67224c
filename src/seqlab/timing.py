"""Where a command's time goes: phase timers, on only when $SEQLAB_PROFILE names a file.

The stages and the pipeline wrap their phases in `phase(name)`: data (reading and
writing datasets), train, evaluate, tracking (MLflow). With the variable set, imports
are timed as a phase of their own wherever they happen, each phase counts only its own
time (not that of the phases or imports inside it), the optimiser's first and last
steps are stamped, and at exit the totals are written to the file as JSON, which
`python -m seqlab.profile` reads back (with the packages the command imported, for the
tests). Unset, `phase` does nothing.
"""

from __future__ import annotations

import atexit
import builtins
import importlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ENV = "SEQLAB_PROFILE"
PHASES = ("import", "data", "train", "evaluate", "tracking")


class Collector:
    """Exclusive time per phase of the main thread, and wall-clock stamps."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.armed = time.time()  # the timers start here; the interpreter started before
        self.totals: dict[str, float] = dict.fromkeys(PHASES, 0.0)
        self.marks: dict[str, float] = {}
        self._stack: list[list[Any]] = []  # [name, start, time spent in inner phases]

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield  # e.g. MLflow's async logging thread: its time overlaps the main one's
            return
        frame = [name, time.perf_counter(), 0.0]
        self._stack.append(frame)
        try:
            yield
        finally:
            self._stack.pop()
            elapsed = time.perf_counter() - frame[1]
            self.totals[name] = self.totals.get(name, 0.0) + elapsed - frame[2]
            if self._stack:
                self._stack[-1][2] += elapsed

    def in_import(self) -> bool:
        return bool(self._stack) and self._stack[-1][0] == "import"

    def step(self, *_: Any) -> None:
        """An optimiser step happened (a torch hook): stamp the first and the last."""
        now = time.time()
        if "first_step" not in self.marks:  # and this process's CPU time by then: a
            self.marks["first_step_cpu"] = time.process_time()  # busy machine's wall lies
        self.marks.setdefault("first_step", now)
        self.marks["last_step"] = now

    def write(self) -> None:
        record = {"argv": sys.argv, "armed": self.armed, "ended": time.time(),
                  "cpu": time.process_time(),  # this process's: a child's is not in it
                  "phases": self.totals, "marks": self.marks,
                  "modules": sorted({name.partition(".")[0] for name in sys.modules})}
        self.path.write_text(json.dumps(record, indent=1) + "\n")


_collector: Collector | None = None


@contextmanager
def phase(name: str) -> Iterator[None]:
    """Count the block's time (less its inner phases and imports) to phase `name`."""
    if _collector is None:
        yield
        return
    with _collector.phase(name):
        yield


def watch_steps() -> None:
    """Stamp every optimiser step (for the profile's first-step and after-last figures);
    a no-op unless profiling, so torch is imported only by a caller that trains."""
    if _collector is not None:
        from torch.optim.optimizer import register_optimizer_step_post_hook

        register_optimizer_step_post_hook(_collector.step)


def _timed(load: Callable[..., Any]) -> Callable[..., Any]:
    """`load` (__import__ or import_module) with its outermost calls timed as imports."""
    def timed(*args: Any, **kwargs: Any) -> Any:
        if _collector is None or _collector.in_import():
            return load(*args, **kwargs)
        with _collector.phase("import"):
            return load(*args, **kwargs)

    return timed


def _arm() -> None:
    global _collector
    _collector = Collector(Path(os.environ[ENV]))
    builtins.__import__ = _timed(builtins.__import__)
    importlib.import_module = _timed(importlib.import_module)
    atexit.register(_collector.write)


if os.environ.get(ENV) and _collector is None:
    _arm()
