"""A sweep is one MLflow parent run, and each of its jobs a child run.

Hydra calls the callback in seqlab.sweeps.hydra_callback around a multirun: before the
jobs start, `start_parent` creates the parent run in the sweep's experiment and writes its
id into the sweep folder (`parent_run_id`), where every job, in any process or on any
machine that shares the folder, finds it: `sweep_tags` tags the job's run as its child
(`mlflow.parentRunId`) with the job's overrides. When the sweep ends, `finish_parent`
gives the parent the table of its children (overrides, headline, status) and names the
best one. A `dvc exp run` job is tagged with its DVC experiment's name as well.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from seqlab.tracking import tagnames

PARENT_FILE = "parent_run_id"
TABLE_FILE = "sweep.csv"
VERDICTS_FILE = "verdicts.md"
# The parent run this process opened and has not yet ended: (tracking, run id).
_open: dict[str, Any] = {}


def _hydra() -> Any | None:
    """Hydra's config of the running job, or None outside a Hydra multirun."""
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        config = HydraConfig.get()
    except (ImportError, ValueError):  # not under Hydra (a DVC stage, a test)
        return None
    return config if config.mode == RunMode.MULTIRUN else None


def parent_id(sweep_dir: str | Path) -> str | None:
    """The parent run's id written into a sweep folder, if any."""
    path = Path(sweep_dir) / PARENT_FILE
    return path.read_text().strip() if path.is_file() else None


def sweep_tags(tracking: Any = None, experiment_id: str | None = None) -> dict[str, str]:
    """The tags that make a job's run a child of its sweep's parent run.

    A Hydra multirun's parent is in the sweep folder. The experiments `dvc exp run`
    runs from one baseline commit (`--queue` batches included) share a parent too,
    found or created in the store by that commit (`dvc.baseline_rev`).
    """
    tags = {}
    baseline = os.environ.get("DVC_EXP_BASELINE_REV")
    if os.environ.get("DVC_EXP_NAME"):
        tags[tagnames.DVC_EXPERIMENT] = os.environ["DVC_EXP_NAME"]
    hydra = _hydra()
    if hydra is not None:
        tags[tagnames.SWEEP_JOB] = str(hydra.job.num)
        tags[tagnames.SWEEP_OVERRIDES] = " ".join(hydra.overrides.task)
        parent = parent_id(hydra.sweep.dir)
        if parent:
            tags[tagnames.PARENT] = parent
    elif baseline and tracking is not None and experiment_id is not None:
        tags[tagnames.DVC_BASELINE] = baseline
        tags[tagnames.PARENT] = dvc_parent(tracking, experiment_id, baseline)
    return tags


def dvc_parent(tracking: Any, experiment_id: str, baseline: str) -> str:
    """The parent run of the DVC experiments run from commit `baseline` in this MLflow
    experiment, created by the first of them (under the store's lock: queue workers
    start together)."""
    from seqlab.tracking.store import store_lock

    client = tracking.client()
    query = f"tags.`dvc.baseline_rev` = '{baseline}' and tags.sweep = 'parent'"
    with store_lock(tracking):
        found = client.search_runs([experiment_id], query, max_results=1)
        if found:
            return found[0].info.run_id
        run = client.create_run(experiment_id, run_name=f"dvc exp: {baseline[:7]}", tags={
            tagnames.SWEEP: "parent", tagnames.DVC_BASELINE: baseline})
        # It holds no work of its own: its children are the experiments.
        client.set_terminated(run.info.run_id, "FINISHED")
        return run.info.run_id


def start_parent(config: Any) -> str | None:
    """Create the sweep's parent run (before its jobs) and write its id into the sweep
    folder; None when tracking is off."""
    from seqlab.config import instantiate
    from seqlab.tracking.run import process_tags
    from seqlab.tracking.store import init_store

    tracking = instantiate(config.tracking, "tracking")
    if not tracking.enabled:
        return None
    experiment = instantiate(config.dataset, "dataset").archetype
    experiment_id = init_store(tracking, [experiment])[experiment]
    overrides = list(config.hydra.overrides.task)
    run = tracking.client().create_run(
        experiment_id, run_name="sweep: " + " ".join(overrides),
        tags={tagnames.SWEEP: "parent", tagnames.SWEEP_OVERRIDES: " ".join(overrides),
              tagnames.SWEEP_DIR: str(Path(config.hydra.sweep.dir).resolve()),
              **process_tags()})
    folder = Path(config.hydra.sweep.dir)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / PARENT_FILE).write_text(run.info.run_id + "\n")
    _open["parent"] = (tracking, run.info.run_id)
    return run.info.run_id


@contextmanager
def sweep_guard() -> Iterator[None]:
    """End an open parent run when its sweep stops early: FAILED when a job failed (its
    one-line error is the parent's `seqlab.error` tag), KILLED on Ctrl-C or SIGTERM."""
    from seqlab.signals import Interrupted

    try:
        yield
    except BaseException as error:
        if "parent" in _open:
            tracking, run_id = _open.pop("parent")
            # A job stopped by a signal exits with 128 + its number (seqlab.signals).
            stopped = isinstance(error, Interrupted | KeyboardInterrupt) or (
                isinstance(error, SystemExit) and isinstance(error.code, int)
                and error.code > 128)
            from seqlab.errors import reported

            told = reported[-1] if reported else f"{type(error).__name__} {error}".strip()
            reason = "interrupted" if stopped else f"a job failed: {told}"
            client = tracking.client()
            client.set_tag(run_id, tagnames.ERROR, reason.splitlines()[0][:500])
            client.set_terminated(run_id, "KILLED" if stopped else "FAILED")
        raise


def finish_parent(config: Any) -> None:
    """Give the parent run its children's table, name the best child, and end it."""
    import tempfile

    import pandas as pd

    from seqlab.config import instantiate

    _open.pop("parent", None)
    run_id = parent_id(config.hydra.sweep.dir)
    tracking = instantiate(config.tracking, "tracking")
    if run_id is None or not tracking.enabled:
        return
    client = tracking.client()
    parent = client.get_run(run_id)
    children = client.search_runs(
        [parent.info.experiment_id], f"tags.`mlflow.parentRunId` = '{run_id}'")
    table = pd.DataFrame([child_row(child) for child in children])
    if not table.empty:
        table = table.sort_values("job").reset_index(drop=True)
        with tempfile.TemporaryDirectory() as tmp:
            table.to_csv(Path(tmp) / TABLE_FILE, index=False)
            client.log_artifact(run_id, str(Path(tmp) / TABLE_FILE))
        client.log_text(run_id, table.to_markdown(index=False), "sweep.md")
        # Configurations that differ only by seed: mean ± std and paired verdicts.
        from seqlab.report.markdown import render_markdown
        from seqlab.report.runs import results_from_runs
        from seqlab.report.verdicts import summarise

        results = results_from_runs(children)
        if results:
            client.log_text(run_id, render_markdown(summarise(results)), VERDICTS_FILE)
        best = best_child(table)
        if best is not None:  # chosen by validation; its test score is reported beside
            client.set_tag(run_id, tagnames.SWEEP_BEST_CHILD, best["run_id"])
            client.set_tag(run_id, tagnames.SWEEP_BEST_OVERRIDES, best["overrides"])
            client.log_metric(run_id, f"best/{best['selection']}", float(best["selected"]))
            if best["value"] is not None and best["value"] == best["value"]:  # not NaN
                client.log_metric(run_id, f"best/{best['metric']}", float(best["value"]))
    client.set_tag(run_id, tagnames.SWEEP_CHILDREN, str(len(table)))
    failed = int((~table["status"].isin(["FINISHED", "PRUNED"])).sum()) if len(table) else 0
    client.set_terminated(run_id, "FINISHED" if not failed else "FAILED")


def child_row(run: Any) -> dict[str, Any]:
    """One line of a sweep's table: a child run's overrides, headline and status."""
    tags, metrics = run.data.tags, run.data.metrics
    metric = tags.get(tagnames.HEADLINE_METRIC, "")
    baseline = tags.get(tagnames.HEADLINE_BASELINE, "")
    selection = tags.get(tagnames.SELECTION_METRIC, "")
    # A search trial its study stopped ends with `Pruned` (seqlab.sweeps.pruning).
    pruned = tags.get(tagnames.ERROR, "").startswith("Pruned")
    return {
        "job": int(tags.get(tagnames.SWEEP_JOB, -1)), "run_id": run.info.run_id,
        "overrides": tags.get(tagnames.SWEEP_OVERRIDES, ""),
        "status": "PRUNED" if pruned else run.info.status,
        "metric": metric, "value": metrics.get(metric),
        "higher_is_better": tags.get(tagnames.HEADLINE_HIGHER) == "true",
        "baseline": metrics.get(f"baseline/{baseline}/{metric.split('/')[-1]}"),
        # What chose the child's weights (a validation metric) and its value then.
        "selection": selection, "selected": metrics.get(selection),
        "selection_higher_is_better": tags.get(tagnames.SELECTION_HIGHER) == "true",
    }


def best_child(table: Any) -> dict[str, Any] | None:
    """The finished child with the best selection value (its validation headline at the
    kept epoch), in that metric's direction; the test split decides nothing. Children
    chose by one metric (the same task and callbacks): the first one's is compared."""
    done = table[(table["status"] == "FINISHED") & table["selected"].notna()]
    done = done[done["selection"] == done["selection"].iloc[0]] if len(done) else done
    if done.empty:
        return None
    higher = bool(done["selection_higher_is_better"].iloc[0])
    index = done["selected"].idxmax() if higher else done["selected"].idxmin()
    return done.loc[index].to_dict()
