"""Crash safety: resume after kill -9, Ctrl-C and SIGTERM, concurrent runs, run lifecycle.

Each test drives `python -m seqlab.train` as a user would, in a project folder of its
own ($SEQLAB_ROOT: checkpoints and the data cache live there) with its own MLflow store.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, sharing_data_cache

# The slow tier: real processes killed and resumed.
pytestmark = pytest.mark.slow

# course_ex2 on the CPU: about 0.3 s an epoch on one thread, long enough to interrupt.
# No logged model (2-3 s a run): these tests read runs, metrics and resume points.
RUN = ["experiment=course_ex2", "trainer=cpu", "trainer.progress_bar=false",
       "trainer.checkpoint_every_n_epochs=1", "trainer.checkpoint_every_minutes=null",
       "optim.max_epochs=10", "tracking.log_model=false"]


@pytest.fixture
def shared_data(tmp_path, data_cache):
    """The test's project folder prepares no dataset the session already has."""
    sharing_data_cache(tmp_path, data_cache)


def command(root: Path, name: str, *overrides: str) -> list[str]:
    return [sys.executable, "-m", "seqlab.train", *RUN,
            f"tracking.uri=sqlite:///{root / 'mlflow.db'}",
            f"tracking.artifact_root={root / 'mlartifacts'}",
            f"hydra.run.dir={root / 'outputs' / name}", *overrides]


def environment(root: Path) -> dict[str, str]:
    return {**os.environ, "SEQLAB_ROOT": str(root), "OMP_NUM_THREADS": "1"}


def start(root: Path, name: str, *overrides: str) -> subprocess.Popen:
    return subprocess.Popen(command(root, name, *overrides), cwd=REPO, env=environment(root),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run(root: Path, name: str, *overrides: str) -> subprocess.CompletedProcess:
    done = subprocess.run(command(root, name, *overrides), cwd=REPO, env=environment(root),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def wait_for_checkpoint(root: Path, process: subprocess.Popen, timeout: float = 120) -> Path:
    """The first resume point the training writes (it is then past its first epoch)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = list((root / "checkpoints").glob("run-*/last.ckpt"))
        if found:
            return found[0]
        if process.poll() is not None:
            raise AssertionError(f"the run ended before a checkpoint: {process.stderr.read()}")
        time.sleep(0.02)
    raise AssertionError("no checkpoint appeared")


def client(root: Path):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")


def the_run(root: Path, run_id: str):
    return client(root).get_run(run_id)


def epochs_logged(root: Path, run_id: str) -> list[int]:
    return sorted(p.step for p in client(root).get_metric_history(run_id, "train/loss"))


@pytest.fixture(scope="module")
def reference(tmp_path_factory, data_cache):
    """An uninterrupted run: its test metrics and per-epoch losses."""
    root = sharing_data_cache(tmp_path_factory.mktemp("reference"), data_cache)
    run(root, "whole")
    (found,) = client(root).search_runs([client(root).get_experiment_by_name(
        "many_to_one").experiment_id])
    losses = {p.step: p.value for p in client(root).get_metric_history(found.info.run_id,
                                                                       "train/loss")}
    test = {k: v for k, v in found.data.metrics.items() if k.startswith("test/")}
    return test, losses


def test_kill_9_then_resume_continues_the_same_run_to_the_same_result(tmp_path, reference,
                                                                    shared_data):
    process = start(tmp_path, "first")
    checkpoint = wait_for_checkpoint(tmp_path, process)
    process.kill()  # SIGKILL: no handler runs
    process.wait(timeout=60)
    run_id = checkpoint.parent.name.removeprefix("run-")
    assert the_run(tmp_path, run_id).info.status == "RUNNING"  # as the kill left it

    # The next start finds the dead process's run and marks it KILLED ...
    run(tmp_path, "other", "debug=one_batch", "experiment=course_ex1")
    assert the_run(tmp_path, run_id).info.status == "KILLED"
    # ... and resuming it continues that run from its checkpoint.
    run(tmp_path, "resumed", f"resume={run_id}")
    finished = the_run(tmp_path, run_id)
    assert finished.info.status == "FINISHED"
    assert epochs_logged(tmp_path, run_id) == list(range(1, 11))  # each epoch once
    test, losses = reference
    assert {k: v for k, v in finished.data.metrics.items() if k.startswith("test/")} == test
    history = {p.step: p.value for p in client(tmp_path).get_metric_history(run_id,
                                                                            "train/loss")}
    assert history == losses
    assert not list((tmp_path / "checkpoints").glob("run-*"))  # a finished run cleans up


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_ends_the_run_killed_with_its_exit_status(tmp_path, signum, status,
                                                           shared_data):
    process = start(tmp_path, "signalled")
    checkpoint = wait_for_checkpoint(tmp_path, process)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == status, stderr[-2000:]
    assert stderr.strip().splitlines()[-1].startswith(
        f"seqlab: interrupted by {signal.Signals(signum).name}")
    run_id = checkpoint.parent.name.removeprefix("run-")
    assert the_run(tmp_path, run_id).info.status == "KILLED"
    output = tmp_path / "outputs" / "signalled"
    assert not list(output.glob(".model.*.tmp"))  # no temporary folder left
    assert checkpoint.is_file()  # kept: the run can be resumed


def test_concurrent_runs_never_share_a_folder(tmp_path):
    """Four runs started at once in a new project: they also prepare its data together."""
    seeds = range(4)
    processes = [subprocess.Popen(
        [sys.executable, "-m", "seqlab.train", "experiment=course_ex1", "debug=one_batch",
         "trainer=cpu", f"seed={seed}", "tracking.enabled=false"],
        cwd=tmp_path, env=environment(tmp_path), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True) for seed in seeds]
    for process in processes:
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr[-2000:]
    folders = list((tmp_path / "outputs").glob("*/*"))
    assert len(folders) == 4
    from omegaconf import OmegaConf

    seen = sorted(OmegaConf.load(f / "model" / "config.yaml").seed for f in folders)
    assert seen == list(seeds)  # each folder holds its own run's model


def test_reproduce_by_id_trains_the_run_again_and_compares_its_metrics(tmp_path, shared_data):
    run(tmp_path, "original", "experiment=course_ex1", "optim.max_epochs=3")
    (original,) = client(tmp_path).search_runs(
        [client(tmp_path).get_experiment_by_name("many_to_one").experiment_id])
    done = subprocess.run(
        [sys.executable, "-m", "seqlab.reproduce", original.info.run_id,
         f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}",
         f"tracking.artifact_root={tmp_path / 'mlartifacts'}"],
        cwd=REPO, env=environment(tmp_path), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"metrics match run {original.info.run_id}" in done.stdout
    again = client(tmp_path).search_runs(
        [original.info.experiment_id],
        f"tags.`seqlab.reproduces` = '{original.info.run_id}'")
    assert len(again) == 1 and again[0].info.status == "FINISHED"
    assert again[0].data.metrics["test/mase"] == original.data.metrics["test/mase"]


def test_an_evaluation_error_leaves_the_run_failed_with_its_reason(tmp_path, monkeypatch):
    from seqlab import pipeline
    from seqlab.config import compose
    from seqlab.errors import DataError
    from seqlab.layout import DataFolders

    def broken(*args, **kwargs):
        raise DataError("the test split is unreadable")

    monkeypatch.setattr(pipeline, "evaluate", broken)
    monkeypatch.setenv("SEQLAB_ROOT", str(tmp_path))
    cfg = compose(["experiment=course_ex1", "debug=one_batch", "trainer=cpu",
                   f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}",
                   f"tracking.artifact_root={tmp_path / 'mlartifacts'}",
                   "tracking.log_model=false"])
    with pytest.raises(DataError):
        pipeline.train_and_evaluate(cfg, tmp_path / "out",
                                DataFolders(tmp_path / "raw", tmp_path / "processed"))
    (found,) = client(tmp_path).search_runs(
        [client(tmp_path).get_experiment_by_name("many_to_one").experiment_id])
    assert found.info.status == "FAILED"
    assert found.data.tags["seqlab.error"] == "DataError: the test split is unreadable"


@pytest.mark.parametrize("damage", ["truncated", "empty", "random bytes"])
def test_a_damaged_resume_point_is_one_line_that_never_advises_unsafe_loading(tmp_path,
                                                                              damage):
    from types import SimpleNamespace

    import torch
    from lightning_fabric import Fabric

    from seqlab.errors import SeqlabError
    from seqlab.fitting import resume

    fabric = Fabric(accelerator="cpu", devices=1)
    net = torch.nn.Linear(2, 1)
    loop = SimpleNamespace(fabric=fabric, module=net,
                           optimizer=torch.optim.SGD(net.parameters(), lr=0.1),
                           load=lambda rest: None)
    path = tmp_path / "run-x" / resume.RESUME_FILE
    path.parent.mkdir()
    fabric.save(path, {"module": net, "optimizer": loop.optimizer, "epoch": 3})
    whole = path.read_bytes()
    resume.load(loop, path)  # the whole file resumes
    path.write_bytes({"truncated": whole[: len(whole) // 2], "empty": b"",
                      "random bytes": bytes(range(256)) * 8}[damage])
    with pytest.raises(SeqlabError) as caught:
        resume.load(loop, path)
    message = str(caught.value)
    assert "\n" not in message and "weights_only" not in message
    assert message.startswith(f"{path}: cannot resume from it (")
    assert message.endswith(f"delete {path.parent} to train from the start")
