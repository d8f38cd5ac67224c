"""`python -m seqlab.upload FOLDER`: send a run's record kept on disk to its store.

When the MLflow store stops answering, a run keeps going and its record stays complete
on disk (see tracking/run.py: survives_outage); the command ends with one line naming
this command. Once the store answers again, this sends what the run holds: the epochs
it lacks, the test metrics and baselines, the figures and the model, and ends the run
FINISHED (so it competes for the registry's best-model alias). A run the store no longer
has (a store reset, a copy of the project) is created again with the same config and
lineage tags; the folder's run.json then names the new one. A call that fails for
another reason than an outage would fail alike at every try: one line says why, and the
run ends FAILED with it (tracking/failures.py tells which is which).

FOLDER is a run's output folder (outputs/<date>/<time>/) or a pipeline model
(models/<entry>/, whose metrics and figures are the entry's under metrics/ and plots/).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from seqlab.errors import DataError
from seqlab.layout import (
    FIGURES_DIR,
    HISTORY_FILE,
    META_FILE,
    METRICS_FILE,
    MODEL_FILE,
    project,
)


def record_of(folder: Path) -> tuple[Path, Path | None, Path]:
    """(model folder, metrics file or None, figures folder) of a run or a pipeline model."""
    from seqlab.model_folder import find

    folder = Path(folder)
    model_dir = find(folder)
    if model_dir is not None and model_dir != folder:  # a run's output folder
        metrics = folder / METRICS_FILE
        return model_dir, metrics if metrics.is_file() else None, folder / FIGURES_DIR
    if model_dir is not None:  # models/<entry>/
        layout, entry = project(), folder.name
        details = layout.details(entry)
        return folder, details if details.is_file() else None, \
            layout.plots(entry) / FIGURES_DIR
    raise DataError(f"{folder} holds no trained model ({MODEL_FILE}); give a run's output "
                    "folder (outputs/<date>/<time>/) or models/<entry>/")


def existing(run: Any) -> bool:
    """Whether the store still has the run."""
    from mlflow.exceptions import MlflowException

    try:
        run.client.get_run(run.run_id)
    except MlflowException as error:
        if error.error_code != "RESOURCE_DOES_NOT_EXIST":  # not reached, or a bug
            raise
        return False
    return True


def has_model(run: Any) -> bool:
    """Whether the run already has its logged model."""
    import mlflow

    from seqlab.tracking.store import fluent_uri

    with fluent_uri(run.uri):
        experiment = run.client.get_experiment_by_name(run.experiment)
        found = mlflow.search_logged_models(
            experiment_ids=[experiment.experiment_id],
            filter_string=f"source_run_id = '{run.run_id}'", output_format="list")
    return bool(found)


def upload(folder: Path) -> tuple[str, str]:
    """Send the record in `folder` to the store; returns (run id, what was done).

    One line if it cannot: the store still down (DataError: try again later), or a call
    that failed for another reason, which would fail alike however often it is sent
    (TrackingBug: the run FAILED, with the reason).
    """
    from seqlab.errors import SeqlabError, TrackingBug
    from seqlab.tracking.failures import bug_reason, outage_reason

    try:
        return _upload(folder)
    except (SeqlabError, OSError) as error:
        if isinstance(error, SeqlabError) or getattr(error, "filename", None):
            raise  # one line already, or a file of this machine's (run_cli says which)
        failed: Exception = error
    except Exception as error:  # a call outside the run's guarded ones (opening it, say)
        failed = error
    said = outage_reason(failed)
    if said:
        raise DataError(f"the MLflow store failed again ({said}); nothing is lost: run "
                        "this command again later") from None
    raise TrackingBug(f"sending {folder} failed ({bug_reason(failed)}): an error in seqlab "
                      "or MLflow, not an outage of its MLflow store (sending it again "
                      "fails alike)") from None


def _upload(folder: Path) -> tuple[str, str]:
    import pandas as pd

    from seqlab import model_folder
    from seqlab.config import instantiate
    from seqlab.pipeline import log_evaluation, log_selection, run_tags
    from seqlab.predict.packaging import package
    from seqlab.preparation import prepare_data
    from seqlab.sweeps.parent import sweep_tags
    from seqlab.tracking.failures import tracking_bug
    from seqlab.tracking.run import TrackedRun
    from seqlab.tracking.store import require_server

    model_dir, metrics, figures = record_of(folder)
    cfg = model_folder.read_config(model_dir)
    tracking = instantiate(cfg.tracking, "tracking")
    if not tracking.enabled:
        raise DataError(f"{folder}: its run was not tracked (tracking.enabled=false)")
    require_server(tracking)  # one line, in seconds, if it still does not answer
    run = TrackedRun.load(model_dir, tracking)
    what = "the same run"
    if run is None or not existing(run):
        data_dir = prepare_data(cfg.dataset, project().cache)  # the lineage tags' data
        meta = model_folder.read_meta(model_dir / META_FILE)
        run = TrackedRun.start(cfg, tracking, data_dir, meta.archetype, run_tags(cfg),
                               sweep_tags)
        run.save(model_dir)
        what = "a new run (the store had lost the old one)"
    history = model_dir / HISTORY_FILE
    report = run.epoch_reporter()
    if history.is_file() and report is not None:
        report(pd.read_csv(history).to_dict("records"))  # only the epochs it lacks
    if metrics is not None:
        record = json.loads(metrics.read_text())
        if "headline" in record:
            log_evaluation(run, record, figures)
        else:  # a search trial's: its validation alone (seqlab.pipeline.record_trial)
            run.log_metrics(log_selection(run, record.get("selection")))
    if run.down() is None and not has_model(run):
        run.log_model(model_dir, package)
    run.finish("FINISHED" if metrics is not None else "SCHEDULED")  # FAILED after a bug
    if run.down() is not None:
        raise DataError(f"the MLflow store failed again ({run.down()}); nothing is "
                        f"lost: run this command again later")
    refused = run.refusal()
    if refused is not None:  # it would fail alike however often it is sent
        raise tracking_bug(tracking, refused, Path(folder))
    return run.run_id, what


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m seqlab.upload",
                                     description="Send a run's record kept on disk (after a "
                                                 "tracking outage) to its MLflow store.")
    parser.add_argument("folder", type=Path, metavar="FOLDER",
                        help="a run's output folder (outputs/<date>/<time>/) or models/<entry>/")
    args = parser.parse_args()
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    run_id, what = upload(args.folder)
    print(f"uploaded {args.folder} to {what}: {run_id}")


if __name__ == "__main__":
    from seqlab.errors import run_cli

    run_cli(main)
