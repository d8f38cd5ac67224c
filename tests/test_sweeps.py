"""A sweep is one MLflow parent run with a child per job, sequential or parallel; parallel
jobs share the cores and take one GPU each."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from seqlab.sweeps import jobs
from tests.conftest import run_module

# The slow tier: sweeps of several training processes.
pytestmark = pytest.mark.slow

# No logged models (2-3 s a job): these tests read runs, metrics and the sweep's table.
TINY = ["experiment=course_ex1", "optim.max_epochs=2", "trainer.progress_bar=false",
        "tracking.log_model=false"]


def sweep(tmp_path, *overrides: str):
    """Run `python -m seqlab.train -m ...` into a store of its own; return the client and
    the runs, parent first."""
    from mlflow import MlflowClient

    done = run_module(
        "seqlab.train", "-m", *TINY, *overrides,
        f"tracking.uri=sqlite:///{tmp_path}/mlflow.db",
        f"tracking.artifact_root={tmp_path}/artifacts", f"hydra.sweep.dir={tmp_path}/sweep",
        env={**os.environ, "OMP_NUM_THREADS": "1"})
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    runs.sort(key=lambda run: run.data.tags.get("sweep") != "parent")
    return done, client, runs


# Two jobs at once: one round of two jobs (three would take two rounds on two cores).
@pytest.mark.parametrize(("launcher", "cells"), [
    ([], ["gru", "lstm", "rnn"]),
    (["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"], ["gru", "rnn"])],
    ids=["sequential", "parallel"])
def test_a_sweep_is_one_parent_run_with_a_child_per_job(tmp_path, launcher, cells):
    done, client, runs = sweep(tmp_path, f"model.cell={','.join(cells)}", *launcher)
    assert done.returncode == 0, done.stderr[-2000:]
    parent, children = runs[0], runs[1:]
    assert parent.data.tags["sweep"] == "parent" and parent.info.status == "FINISHED"
    assert len(children) == len(cells)
    assert len({c.info.run_name for c in children}) == len(cells)  # side by side in the UI
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parent.info.run_id}
    by_cell = {c.data.tags["sweep.overrides"].split("model.cell=")[1].split()[0]: c
               for c in children}
    assert sorted(by_cell) == cells
    for child in children:
        assert child.info.status == "FINISHED" and "test/mase" in child.data.metrics
        assert len(client.get_metric_history(child.info.run_id, "train/loss")) == 2
    # course_ex1 has no validation split: each child chose its weights, and the parent
    # its best child, by the training loss; the test score is reported, never compared.
    selected = "selected/train/loss"
    assert {c.data.tags["selection.metric"] for c in children} == {selected}
    best = min(children, key=lambda c: c.data.metrics[selected])
    assert parent.data.tags["sweep.best_child"] == best.info.run_id
    assert parent.data.metrics[f"best/{selected}"] == best.data.metrics[selected]
    assert parent.data.metrics["best/test/mase"] == pytest.approx(best.data.metrics["test/mase"])
    table = client.download_artifacts(parent.info.run_id, "sweep.csv", str(tmp_path))
    # a header and a line per job
    assert len(Path(table).read_text().strip().splitlines()) == 1 + len(cells)
    if launcher:  # two jobs at once: each has half the cores
        threads = {c.data.tags["torch.threads"] for c in children}
        assert threads == {str(jobs.threads_per_job(2))}


def test_a_failing_job_ends_the_parent_failed_with_its_reason(tmp_path):
    done, _, runs = sweep(tmp_path, "model.hidden_size=-3")
    assert done.returncode == 2
    assert "seqlab: error: model.hidden_size: must be at least 1, got -3" in done.stderr
    parent = runs[0]
    assert parent.info.status == "FAILED"
    assert parent.data.tags["seqlab.error"] == (
        "a job failed: model.hidden_size: must be at least 1, got -3")


def test_parallel_jobs_follow_the_launcher():
    def hydra(n_jobs):
        return OmegaConf.create({"launcher": {"n_jobs": n_jobs}})

    assert jobs.parallel_jobs(hydra(None)) == 1
    assert jobs.parallel_jobs(hydra(3)) == 3
    assert jobs.parallel_jobs(hydra(-1)) == jobs.cores()  # joblib: -1 is every core
    assert jobs.threads_per_job(jobs.cores() * 2) == 1  # never below one thread


def test_jobs_take_their_own_gpu_first_and_wait_when_all_are_taken(tmp_path):
    held: list[tuple[str, int]] = []

    def job(name: str, number: int, seconds: float) -> None:
        with jobs.claim_gpu(tmp_path, number, gpus=2, poll_s=0.05) as gpu:
            held.append((name, gpu))
            time.sleep(seconds)

    first = [threading.Thread(target=job, args=(f"job{n}", n, 0.5)) for n in (0, 1)]
    for thread in first:
        thread.start()
    time.sleep(0.2)
    late = threading.Thread(target=job, args=("job2", 2, 0))
    late.start()
    time.sleep(0.1)
    assert sorted(held) == [("job0", 0), ("job1", 1)]  # job2 waits: both GPUs are taken
    for thread in (*first, late):
        thread.join()
    assert held[-1][0] == "job2" and held[-1][1] in (0, 1)


def test_dvc_experiments_from_one_commit_share_a_parent_run(tmp_path, run, monkeypatch):
    """`dvc exp run` (queued or not) sets DVC_EXP_BASELINE_REV and DVC_EXP_NAME: runs from
    one baseline are children of one parent, each tagged with its experiment's name."""
    from mlflow import MlflowClient

    from seqlab.config import compose

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.setenv("DVC_EXP_BASELINE_REV", "a" * 40)
    for name in ("exp-one", "exp-two"):
        monkeypatch.setenv("DVC_EXP_NAME", name)
        cfg = compose([*TINY, "optim.max_epochs=1", "trainer=cpu", f"tracking.uri={uri}",
                       f"tracking.artifact_root={tmp_path}/artifacts",
                       "tracking.log_model=false"])
        run(cfg, tmp_path / name)
    client = MlflowClient(uri)
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    parents = [r for r in runs if r.data.tags.get("sweep") == "parent"]
    children = [r for r in runs if r not in parents]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parents[0].info.run_id}
    assert sorted(c.data.tags["dvc.experiment"] for c in children) == ["exp-one", "exp-two"]


def test_the_best_child_is_chosen_by_validation_when_test_disagrees():
    """Three finished children whose validation and test rankings disagree (and a failed
    one with the best test score): validation picks, whatever test says."""
    import pandas as pd

    from seqlab.sweeps.parent import best_child

    def child(job, selected, test, status="FINISHED"):
        return {"job": job, "run_id": f"r{job}", "overrides": f"seed={job}", "status": status,
                "metric": "test/acc", "value": test, "higher_is_better": True,
                "baseline": 0.5, "selection": "selected/val/acc", "selected": selected,
                "selection_higher_is_better": True}

    table = pd.DataFrame([child(0, 0.80, 0.95), child(1, 0.90, 0.70), child(2, 0.85, 0.99),
                          child(3, 0.99, 1.00, status="FAILED")])
    assert best_child(table)["run_id"] == "r1"
    lower = table.assign(selection="selected/val/mse", selection_higher_is_better=False)
    assert best_child(lower)["run_id"] == "r0"
