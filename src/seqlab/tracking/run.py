"""One MLflow run per training: opened by training, reopened by evaluation."""

from __future__ import annotations

import functools
import json
import logging
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from omegaconf import DictConfig, OmegaConf

from seqlab import timing
from seqlab.layout import (
    CONFIG_FILE,
    DIFF_FILE,
    RUN_FILE,
    Layout,
    project_root,
)
from seqlab.tracking import lineage, tagnames
from seqlab.tracking.failures import bug_reason, outage_reason, tracking_bug
from seqlab.tracking.naming import model_class, run_name
from seqlab.tracking.store import Tracking, fluent_uri, init_store, portable_path, redact_uri

MAX_PARAMS_PER_CALL = 100  # MLflow's limit for one log_batch
MAX_DIGEST_CHARS = 36  # MLflow's limit for a dataset's digest


def process_tags() -> dict[str, str]:
    """Which process runs it: the next start on this host marks it KILLED if it died."""
    return {tagnames.HOST: socket.gethostname(), tagnames.PID: str(os.getpid())}


def flat_params(cfg: DictConfig) -> dict[str, str]:
    import pandas as pd  # not at the top: a stage that tracks nothing need not import it

    plain = OmegaConf.to_container(cfg, resolve=True)
    row = pd.json_normalize(plain, sep=".").iloc[0].to_dict()
    return {key: redact_uri(str(value)) for key, value in row.items()}


def data_input(tags: dict[str, str]) -> Any:
    """The run's data as an MLflow dataset input (the UI's Dataset column), from its tags.

    Its digest is DVC's hash of the folder when DVC made it, so the UI and `dvc.lock` name
    the data alike; else the folder's sha256, cut to the 36 characters MLflow keeps. The
    source is the folder relative to the project, as the tag `data.path` gives it.
    """
    from mlflow.entities import Dataset, DatasetInput, InputTag
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

    digest = tags.get(tagnames.DATA_DVC_MD5) or tags[tagnames.DATA_SHA256][:MAX_DIGEST_CHARS]
    dataset = Dataset(name=tags[tagnames.DATASET], digest=digest, source_type="local",
                      source=json.dumps({"uri": tags[tagnames.DATA_PATH]}))
    return DatasetInput(dataset, [InputTag(MLFLOW_DATASET_CONTEXT, "training")])


def log_inputs(client: Any, run_id: str, inputs: list[Any], attempts: int = 3) -> None:
    """Log a run's datasets. The first runs of a dataset that start at once race to create
    it in the store (MLflow reads, then inserts: a unique-key violation on a server's
    PostgreSQL); the loser tries again and finds the dataset there."""
    from mlflow.exceptions import MlflowException

    for attempt in range(attempts):
        try:
            client.log_inputs(run_id, inputs)
            return
        except MlflowException as error:
            if "unique" not in str(error).lower() or attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


F = TypeVar("F", bound=Callable[..., Any])
# (store, experiment id) -> the tags that make a new run a child of its parent run
ChildOf = Callable[[Tracking, str], dict[str, str]]
# What MLflow's logging thread and urllib3 print of each retry and each failed batch
# (several lines apiece, with the URI's password): survives_outage says it in one line.
QUIET = ("urllib3.connectionpool", "mlflow.utils.async_logging.async_logging_queue")
# What each guarded call does, as a bug's line says it ("logging the model ... failed").
DOING = {"set_tags": "logging tags", "log_artifact": "logging an artifact",
         "log_artifacts": "logging artifacts", "epoch_reporter": "reading the logged epochs",
         "report": "logging the epochs", "flush": "logging the epochs",
         "log_metrics": "logging metrics", "log_table": "logging a table",
         "log_model": "logging the model", "_end": "ending the run"}


def survives_outage(method: F) -> F:
    """A call to the store that must never cost the run its result.

    If the store cannot be reached (tracking/failures.py: a server that stopped
    answering, a database that stays locked), the run notes why, says so in one line,
    and skips every later call; its caller ends with `StoreOutage` once the record is
    safe on disk (check_landed). Any other error is a bug, and sending again would fail
    alike: the run notes the first one (`refusal`), goes on logging the rest, and its
    caller ends with `TrackingBug` once the record is on disk, the run then FAILED.
    """

    @functools.wraps(method)
    def guarded(self: TrackedRun, *args: Any, **kwargs: Any) -> Any:
        if self.outage is not None:
            return None
        try:
            return method(self, *args, **kwargs)
        except Exception as error:  # MLflow, requests and SQLAlchemy raise many types
            outage = outage_reason(error)
            if outage is None:
                if self.refused is None:
                    doing = DOING.get(method.__name__, method.__name__)
                    reason = bug_reason(error).replace(self.uri, redact_uri(self.uri))
                    self.refused = (doing, reason)
                return None
            self.outage = outage
            print(f"seqlab: the MLflow store {redact_uri(self.uri)} failed "
                  f"({self.outage}); training goes on, nothing more is sent to it",
                  file=sys.stderr)
            return None

    return guarded  # type: ignore[return-value]


class TrackedRun:
    """A handle on one MLflow run, named in the model folder's run.json.

    run.json holds the run's id only: whoever reopens the run finds the store from its
    own tracking config, so a copy of the project logs to its own store.

    Every call after the run exists survives an outage of the store (`survives_outage`):
    the training and its record on disk go on, and `down()` tells why the store failed.
    """

    def __init__(self, tracking: Tracking, run_id: str, experiment: str) -> None:
        from mlflow.tracking import MlflowClient

        self.tracking, self.run_id, self.experiment = tracking, run_id, experiment
        self.uri = tracking.resolved_uri()
        self.client = MlflowClient(tracking_uri=self.uri)
        self.outage: str | None = None  # why the store failed, once it has
        self.refused: tuple[str, str] | None = None  # (what, why) of a call's bug
        for name in QUIET:
            logging.getLogger(name).setLevel(logging.CRITICAL + 1)

    def down(self) -> str | None:
        """Why the store stopped answering this run, or None while it answers."""
        return self.outage

    def refusal(self) -> tuple[str, str] | None:
        """(what, why) of the first call that failed with a bug, not an outage; or None."""
        return self.refused

    @classmethod
    def start(cls, cfg: DictConfig, tracking: Tracking, data_dir: Path, archetype: str,
              tags: dict[str, str] | None = None, child_of: ChildOf | None = None
              ) -> TrackedRun:
        """Create the run in the archetype's experiment, with the config as params and
        artifact, lineage tags and the caller's `tags`; `child_of` (the caller's, e.g.
        seqlab.sweeps.parent.sweep_tags) gives the tags that make it a child of a parent
        run, from the store and the experiment's id."""
        from mlflow.entities import Param

        experiment = archetype
        experiment_id = init_store(tracking, [experiment])[experiment]
        root = project_root()
        tags = {
            **(tags or {}),
            **lineage.lineage_tags(root),
            tagnames.SEED: str(cfg.seed),
            # The store it went to: $MLFLOW_TRACKING_URI may have overridden tracking.uri.
            tagnames.TRACKING_URI: tracking.recorded_uri(),
            tagnames.ARCHETYPE: archetype,
            tagnames.DATASET: cfg.dataset.name,
            tagnames.ENTRY: str(cfg.get("entry") or ""),
            # What the UI groups and filters runs by: `model.cell` stays off non-recurrent nets.
            tagnames.MODEL: model_class(cfg),
            **({tagnames.MODEL_CELL: str(cfg.model.cell)} if cfg.model.get("cell") else {}),
            tagnames.DATA_PATH: portable_path(data_dir, root),
            tagnames.DATA_SHA256: lineage.folder_sha256(data_dir),
        }
        dvc_md5 = lineage.dvc_out_hash(root, data_dir)
        if dvc_md5:  # a DVC stage's data: the raw source it came from is DVC's too
            tags[tagnames.DATA_DVC_MD5] = dvc_md5
            raw = lineage.dvc_out_hash(root, Layout(root).data.raw(cfg.dataset.source))
            if raw:
                tags[tagnames.DATA_RAW_DVC_MD5] = raw
        if cfg.dataset.get("path"):  # the user's own file (bring your own data)
            tags[tagnames.DATA_FILE] = str(cfg.dataset.path)
            tags[tagnames.DATA_FILE_SHA256] = lineage.file_sha256(cfg.dataset.path)
        from mlflow.tracking import MlflowClient

        created = MlflowClient(tracking_uri=tracking.resolved_uri()).create_run(
            experiment_id, run_name=run_name(cfg),
            tags={**tags, **process_tags(),
                  **(child_of(tracking, experiment_id) if child_of else {})},
        )
        run = cls(tracking, created.info.run_id, experiment)
        params = [Param(k, v) for k, v in flat_params(cfg).items()]
        for start in range(0, len(params), MAX_PARAMS_PER_CALL):
            run.client.log_batch(run.run_id, params=params[start : start + MAX_PARAMS_PER_CALL])
        log_inputs(run.client, run.run_id, [data_input(tags)])
        run.client.log_text(run.run_id, OmegaConf.to_yaml(cfg), CONFIG_FILE)
        if tags["git.dirty"] == "true":  # what the commit alone would not rebuild
            run.client.log_text(run.run_id, lineage.git_diff(root), DIFF_FILE)
        return run

    @classmethod
    def load(cls, model_dir: Path, tracking: Tracking) -> TrackedRun | None:
        """The run a model folder belongs to, in the store `tracking` names; None if none."""
        path = Path(model_dir) / RUN_FILE
        if not tracking.enabled or not path.is_file():
            return None
        info = json.loads(path.read_text())
        return cls(tracking, info["run_id"], info["experiment"])

    def save(self, model_dir: Path) -> None:
        info = {"run_id": self.run_id, "experiment": self.experiment}
        (Path(model_dir) / RUN_FILE).write_text(json.dumps(info, indent=2) + "\n")

    @survives_outage
    def set_tags(self, tags: dict[str, str]) -> None:
        from mlflow.entities import RunTag

        # One call: each is a transaction on the store.
        self.client.log_batch(self.run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    @survives_outage
    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        self.client.log_artifact(self.run_id, str(path), artifact_path)

    @survives_outage
    def epoch_reporter(self) -> Callable[[list[dict[str, float]]], None] | None:
        """A function that logs the history's epochs the run does not hold yet, each once,
        at step = its epoch.

        Logging is asynchronous: the store's writes stay off the training loop. After an
        interruption, the run holds what landed before it; a resumed training's history
        (restored from its checkpoint) fills in the rest, and epochs trained again after
        the checkpoint, with the same values, are not logged twice.
        """
        from mlflow.entities import Metric

        # MLflow's logging thread then writes what came in each second as one batch, and
        # a flush stops it at once: unset, it polls its queue with a 1 s timeout, which
        # each flush (and set_terminated) waits out after the last epoch.
        os.environ.setdefault("MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS", "1")
        points = self.client.get_metric_history(self.run_id, "train/loss")
        done = max((point.step for point in points), default=0)
        sent: list[Any] = []  # the batches not known to have landed (RunOperations)

        @survives_outage
        def report(self: TrackedRun, history: list[dict[str, float]]) -> None:
            nonlocal done
            # A batch the store refused fails in MLflow's logging thread, not here: its
            # future says so at the next epoch (wait() raises it), and the outage starts.
            for batch in [b for b in sent if all(f.done() for f in b._operation_futures)]:
                sent.remove(batch)
                batch.wait()
            now = int(time.time() * 1000)
            for row in history:
                epoch = int(row["epoch"])
                if epoch > done:
                    metrics = [Metric(k, float(v), now, epoch) for k, v in row.items()
                               if k != "epoch"]
                    sent.append(self.client.log_batch(self.run_id, metrics=metrics,
                                                      synchronous=False))
                    done = epoch

        return functools.partial(report, self)

    @survives_outage
    def flush(self) -> None:
        """Wait for this run's asynchronous logging to land.

        mlflow.flush_async_logging flushes the store of MLflow's process-wide URI, which
        MLflow 3 defaults to ./mlflow.db: unpointed, it flushed nothing of this run's and
        created (and migrated, racing parallel jobs) a stray store in the working folder.
        """
        import mlflow

        with fluent_uri(self.uri):  # the same cached store the client logs through
            mlflow.flush_async_logging()

    @survives_outage
    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        batch = [Metric(k, float(v), now, step or 0) for k, v in metrics.items()]
        self.client.log_batch(self.run_id, metrics=batch)

    @survives_outage
    def log_table(self, table: dict[str, list[Any]], artifact_file: str) -> None:
        """A table artifact the UI shows as one, replaced if logged again (see columns)."""
        from seqlab.tracking.columns import log_table

        log_table(self.client, self.run_id, table, artifact_file)

    @survives_outage
    def log_artifacts(self, folder: Path, artifact_path: str | None = None) -> None:
        self.client.log_artifacts(self.run_id, str(folder), artifact_path)

    @survives_outage
    def log_model(self, model_dir: Path, package: Callable[[Path], dict[str, Any]]) -> None:
        """Log the model in `model_dir` as an MLflow model named `model`: `package` (its
        caller's, e.g. seqlab.predict.packaging.package) says what to log, as the keyword
        arguments of mlflow.pyfunc.log_model. It runs here: in a background run's process,
        not the stage's, so the stage never imports MLflow."""
        import mlflow

        # MLflow loads the model back to check it; its download bars are noise in logs.
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        what = package(Path(model_dir))
        with fluent_uri(self.uri), mlflow.start_run(run_id=self.run_id):
            mlflow.pyfunc.log_model(name="model", **what)
        # Leaving start_run ended the run as FINISHED; it goes on until its lifetime ends.
        self.client.update_run(self.run_id, status="RUNNING")

    @classmethod
    def reopen(cls, tracking: Tracking, run_id: str) -> TrackedRun:
        """Continue run `run_id` (after an interruption): RUNNING again, in this process."""
        from mlflow.exceptions import MlflowException

        from seqlab.errors import ConfigError

        client = tracking.client()
        try:
            found = client.get_run(run_id)
        except MlflowException:
            raise ConfigError(f"resume: no run {run_id!r} in the MLflow store "
                              f"{tracking.resolved_uri()}") from None
        experiment = client.get_experiment(found.info.experiment_id).name
        run = cls(tracking, run_id, experiment)
        client.update_run(run_id, status="RUNNING")
        run.set_tags(process_tags())
        return run

    @contextmanager
    def lifetime(self, done: str = "FINISHED") -> Iterator[TrackedRun]:
        """End the run as `done` when the block succeeds (FINISHED; SCHEDULED when its
        evaluation is still to come), KILLED on Ctrl-C or SIGTERM, and FAILED on an error,
        with the error's one-line reason as the tag `seqlab.error` (a TrackingBug's own
        `tag`). A bug in a store call that no check_landed raised (in the run's end
        itself, say) ends it FAILED too (see finish), and is raised here."""
        from seqlab.signals import Interrupted

        try:
            yield self
        except Interrupted as stop:
            self.set_tags({tagnames.ERROR: f"interrupted by {stop}"})
            self.finish("KILLED")
            raise
        except BaseException as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
            tag = getattr(error, "tag", None) or f"{type(error).__name__}: {reason}"
            self.set_tags({tagnames.ERROR: tag[:500]})
            self.finish("FAILED")
            raise
        self.finish(done)
        refused = self.refusal()
        if refused is not None:
            raise tracking_bug(self.tracking, refused)

    def finish(self, status: str = "FINISHED") -> None:
        """End the run as `status`; a FINISHED run with its test metrics and a logged model
        then competes for its dataset's best model in the registry (tracking/registry.py).

        After a bug in a store call (`refusal`), before the end or in it, what happened
        is a failure: the run ends FAILED, its reason the tag `seqlab.error`, and never
        competes for the registry.
        """
        stopped = status in ("FAILED", "KILLED")  # the caller has tagged why
        if self.refused is None or stopped:
            self._end(status)
        if self.refused is not None and not stopped:
            doing, reason = self.refused
            self.set_tags({tagnames.ERROR: f"{doing} failed: {reason}"[:500]})
            self._end("FAILED")

    @survives_outage
    def _end(self, status: str) -> None:
        with timing.phase("tracking"):
            self.flush()  # the epochs logged asynchronously land before the status changes
            self.client.set_terminated(self.run_id, status)
            if status == "FINISHED":
                from seqlab.tracking.registry import promote_if_best

                promote_if_best(self.tracking, self.run_id)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def mark_dead_runs_killed(tracking: Tracking) -> list[str]:
    """Mark KILLED the RUNNING runs of this host whose process has died (kill -9, a
    crash of the machine's power aside); returns their ids."""
    client = tracking.client()
    ids = [e.experiment_id for e in client.search_experiments()]
    running = client.search_runs(
        ids, f"attributes.status = 'RUNNING' and tags.`seqlab.host` = '{socket.gethostname()}'")
    dead = [r for r in running if not _alive(int(r.data.tags.get(tagnames.PID, "0") or 0))]
    for found in dead:
        client.set_tag(found.info.run_id, tagnames.ERROR, "its process died")
        client.set_terminated(found.info.run_id, "KILLED")
    return [r.info.run_id for r in dead]


@contextmanager
def tracked_run(cfg: DictConfig, tracking: Tracking, data_dir: Path, archetype: str,
                resume_id: str | None = None, done: str = "FINISHED",
                tags: dict[str, str] | None = None, child_of: ChildOf | None = None
                ) -> Iterator[TrackedRun | None]:
    """The MLflow run of a training: run `resume_id` continued, else a new one (None when
    tracking is off, or in DDP's other ranks; `tags` and `child_of`: see start). Its
    status on the way out: see lifetime."""
    from seqlab.ranks import is_global_zero

    if not tracking.enabled or not is_global_zero():
        yield None
        return
    from seqlab.errors import ConfigError, SeqlabError

    with timing.phase("tracking"):
        try:
            mark_dead_runs_killed(tracking)
            if resume_id:
                run = TrackedRun.reopen(tracking, resume_id)
            else:
                run = TrackedRun.start(cfg, tracking, data_dir, archetype, tags, child_of)
        except SeqlabError:
            raise
        except Exception as error:  # the store failed before the run existed: no work lost
            store = redact_uri(tracking.resolved_uri())
            reason = " ".join(str(error).split())[:200].replace(tracking.resolved_uri(), store)
            # Not reached: start again once it answers; else (a bad URI, a bug) waiting
            # would not help.
            then = ("start it when the store answers, or set tracking.enabled=false"
                    if outage_reason(error) else "not an outage: waiting will not help; "
                    "set tracking.enabled=false to train without it")
            raise ConfigError(f"tracking.uri: the MLflow store {store} did not open the run "
                              f"({reason}); {then}") from None
    with run.lifetime(done):
        yield run
