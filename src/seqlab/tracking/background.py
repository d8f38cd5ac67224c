"""MLflow in a forked process: its imports and writes overlap the stage's own work.

Importing MLflow and its SQL store takes about 2 s, more than torch. A stage forks a
child first thing, before torch: the child imports MLflow while the stage imports torch
and Lightning on the other core, opens the run when told to, then runs each call sent to
it. Calls whose answer the stage does not need (metrics, tags, epochs) are posted: the
stage goes on, and an error comes back at its next call. The others wait.
"""

from __future__ import annotations

import importlib
import multiprocessing
import pickle
import signal
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from seqlab import timing
from seqlab.tracking.run import ChildOf, TrackedRun, mark_dead_runs_killed
from seqlab.tracking.store import SQLITE, Tracking

# What a client of a SQLite store needs, imported by the child while it waits.
WARM_UP = ("mlflow.tracking", "mlflow.store.tracking.sqlalchemy_store")
# What log_model needs, imported once the stage has trained an epoch: while it trains,
# not after it, and not while it starts, on a core it may need.
WARM_UP_MODEL = ("mlflow.pyfunc", "seqlab.predict.served_model")


class TrackingError(RuntimeError):
    """An error in the tracking process that cannot travel as itself."""


def _open_training(cfg: DictConfig, tracking: Tracking, data_dir: Path, archetype: str,
                   resume_id: str | None, tags: dict[str, str] | None = None,
                   child_of: ChildOf | None = None) -> TrackedRun:
    """What tracked_run opens: the dead processes' runs marked KILLED, then the run."""
    mark_dead_runs_killed(tracking)
    if resume_id:
        return TrackedRun.reopen(tracking, resume_id)
    return TrackedRun.start(cfg, tracking, data_dir, archetype, tags, child_of)


OPENERS: dict[str, Callable[..., TrackedRun | None]] = {
    "load": TrackedRun.load, "training": _open_training}


def _portable(error: Exception) -> Exception:
    """The error itself when it survives pickling (seqlab's own do), else its text."""
    try:
        return pickle.loads(pickle.dumps(error))
    except Exception:
        return TrackingError(f"{type(error).__name__}: {error}")


def _serve(conn: Connection, stage_end: Connection, tracking: Tracking) -> None:
    """The child: import MLflow, then answer each (name, args) until told to stop."""
    stage_end.close()  # the stage's end, copied by the fork: once it dies, recv ends
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the stage logs KILLED through us
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the stage's handler
    if tracking.resolved_uri().startswith(SQLITE):
        _import(WARM_UP)
    run, report, warm = None, None, not tracking.log_model
    while True:
        try:
            message = conn.recv()
        except EOFError:  # the stage died (kill -9): what it sent still lands
            if run is not None:
                with suppress(Exception):
                    run.flush()
            return
        if message is None:
            return
        name, args = message
        try:
            if name == "open":
                run = OPENERS[args[0]](*args[1:])
                answer: tuple[bool, Any] = (True, (run.run_id, run.experiment))
            elif name == "report_epochs":
                report = report or run.epoch_reporter()
                answer = (True, report(*args) if report else None)
            else:
                answer = (True, getattr(run, name)(*args))
        except Exception as error:
            answer = (False, _portable(error))
        with suppress(OSError):  # the stage died: the next recv says so
            conn.send(answer)
        if name == "report_epochs" and not warm:
            warm = True
            _import(WARM_UP_MODEL)


def _import(modules: tuple[str, ...]) -> None:
    """Import ahead of need; an import that fails fails again, reported, when needed."""
    for module in modules:
        with suppress(Exception):
            importlib.import_module(module)


class BackgroundRun:
    """A TrackedRun's methods, run by a forked child: `open` it, then use it as one."""

    def __init__(self, tracking: Tracking) -> None:
        context = multiprocessing.get_context("fork")
        self._conn, child = context.Pipe()
        self._child = context.Process(target=_serve, args=(child, self._conn, tracking),
                                      daemon=True)
        self._child.start()
        child.close()
        self.tracking = tracking
        self.run_id: str | None = None
        self.experiment: str | None = None
        self._pending: deque[str] = deque()  # the calls sent, not answered yet
        self._error: Exception | None = None
        self._closed = False  # the run never opened, or finished: calls do nothing
        self._saves: list[Path] = []  # folders for run.json, once the run exists
        self._rows = 0  # history rows sent
        self._refused: tuple[str, str] | None = None  # the run's refusal, at its end

    def _read(self, block: bool) -> Any:
        """Read the answers come back (all, if `block`); raise the first error, once."""
        value = None
        while self._pending and (block or self._conn.poll()):
            name = self._pending.popleft()
            try:
                ok, value = self._conn.recv()
            except EOFError:  # the child was killed (out of memory, say)
                self._pending.clear()
                ok, value = False, TrackingError("the tracking process ended unexpectedly")
                name = "open"  # as good as never opened
            if not ok and not self._closed and self._error is None:
                self._error = value
                # No run to log to: what follows does nothing (the error said why).
                self._closed = name == "open"
            elif ok and name == "open":
                self.run_id, self.experiment = value
                for folder in self._saves:
                    self.save(folder)
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        return value

    def _send(self, name: str, *args: Any) -> bool:
        if self._closed:
            return False
        self._conn.send((name, args))
        self._pending.append(name)
        return True

    def _post(self, name: str, *args: Any) -> None:
        if self._send(name, *args):
            self._read(block=False)  # errors of earlier calls surface here

    def _call(self, name: str, *args: Any) -> Any:
        """The answer to this call: read once every answer before it is in (a non-blocking
        read in between could take this call's answer too and drop it)."""
        with timing.phase("tracking"):  # here: the wait for the child
            return self._read(block=True) if self._send(name, *args) else None

    def open(self, how: str, *args: Any) -> BackgroundRun:
        """Open the run in the child: "load" (model_dir, tracking) or "training" (cfg,
        tracking, data_dir, archetype, resume_id)."""
        self._post("open", how, *args)
        return self

    def save(self, folder: Path) -> None:
        if self.run_id is None:  # written once the child says which run it is
            self._saves.append(Path(folder))
        else:
            TrackedRun.save(self, folder)  # type: ignore[arg-type]  # needs only the ids

    def epoch_reporter(self) -> Callable[[list[dict[str, float]]], None]:
        def report(history: list[dict[str, float]]) -> None:
            rows, self._rows = history[self._rows:], len(history)
            self._post("report_epochs", rows)
            if self._saves:  # the epoch's resume point comes next: its run.json first
                with timing.phase("tracking"):
                    self._read(block=True)

        return report

    def set_tags(self, tags: dict[str, str]) -> None:
        self._post("set_tags", tags)

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self._post("log_metrics", metrics, step)

    def log_table(self, table: dict[str, list[Any]], artifact_file: str) -> None:
        self._post("log_table", table, artifact_file)

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        self._call("log_artifact", path, artifact_path)  # a temporary folder's, maybe

    def log_artifacts(self, folder: Path, artifact_path: str | None = None) -> None:
        self._call("log_artifacts", folder, artifact_path)

    def log_model(self, model_dir: Path, package: Callable[[Path], dict[str, Any]]) -> None:
        self._call("log_model", model_dir, package)  # a module's function: pickled by name

    def flush(self) -> None:
        self._call("flush")

    def down(self) -> str | None:
        return self._call("down") if not self._closed else None

    def refusal(self) -> tuple[str, str] | None:
        return self._call("refusal") if not self._closed else self._refused

    def finish(self, status: str = "FINISHED") -> None:
        try:
            self._call("finish", status)
            self._refused = self._call("refusal")  # lifetime asks once the child is gone
        finally:
            self._closed = True
            with timing.phase("tracking"), suppress(OSError):  # OSError: the child is gone
                self._conn.send(None)
                self._child.join()

    def lifetime(self, done: str = "FINISHED") -> Any:
        run: Any = self  # TrackedRun's, through this object's set_tags and finish
        return TrackedRun.lifetime(run, done)


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def open_run(model_dir: Path, tracking: Tracking) -> TrackedRun | BackgroundRun | None:
    """The run a model folder belongs to (TrackedRun.load), opened in the background."""
    from seqlab.layout import RUN_FILE

    if not tracking.enabled or not (Path(model_dir) / RUN_FILE).is_file():
        return None
    if not can_fork():
        return TrackedRun.load(model_dir, tracking)
    return BackgroundRun(tracking).open("load", Path(model_dir), tracking)


def fork_tracker(tracking: Tracking) -> BackgroundRun | None:
    """A child importing MLflow for a training's run, before the stage imports torch;
    None when nothing is tracked here (tracking off, DDP's other ranks, no fork)."""
    from seqlab.ranks import is_global_zero

    if not tracking.enabled or not is_global_zero() or not can_fork():
        return None
    return BackgroundRun(tracking)


@contextmanager
def training_run(tracker: BackgroundRun | None, cfg: DictConfig, tracking: Tracking,
                 data_dir: Path, archetype: str, resume_id: str | None = None,
                 done: str = "FINISHED", tags: dict[str, str] | None = None,
                 child_of: ChildOf | None = None
                 ) -> Iterator[TrackedRun | BackgroundRun | None]:
    """seqlab.tracking.run.tracked_run, opened by `tracker` (fork_tracker's); without
    one, tracked_run itself. `child_of` is a module's function: it is pickled by name."""
    from seqlab.tracking.run import tracked_run

    if tracker is None:
        with tracked_run(cfg, tracking, data_dir, archetype, resume_id, done, tags,
                         child_of) as run:
            yield run
        return
    tracker.open("training", cfg, tracking, Path(data_dir), archetype, resume_id, tags,
                 child_of)
    with tracker.lifetime(done):
        yield tracker
