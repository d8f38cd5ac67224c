"""hydra/launcher=slurm sends a sweep's jobs to SLURM through submitit; slurm_local runs
the same launcher's jobs as processes of this machine, which is how a sweep is tested
here: one MLflow parent run in the launching process, its children from the jobs'."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from omegaconf import OmegaConf

from seqlab.sweeps import jobs
from tests.conftest import REPO, run_module

# The slow tier: a launcher of several training processes.
pytestmark = pytest.mark.slow

TINY = ["experiment=course_ex1", "optim.max_epochs=1", "trainer=cpu",
        "trainer.progress_bar=false", "tracking.log_model=false"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


# Two sweeps, run at once: the launching processes' serial parts (the store, the parent
# run, its table) overlap, so together they take about as long as one.
SWEEPS = {"good": ["model.cell=rnn,lstm"], "failing": ["model.hidden_size=-3"]}


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory) -> dict[str, tuple]:
    """Each of SWEEPS as `python -m seqlab.train -m hydra/launcher=slurm_local ...` into one
    MLflow store, its sweep folder named by the launching process's id as conf/train.yaml's
    default is: name -> (the finished process, the client, the parent run, its children)."""
    root = tmp_path_factory.mktemp("cluster")
    uri = f"sqlite:///{root}/mlflow.db"
    started = {name: subprocess.Popen(
        [sys.executable, "-m", "seqlab.train", "-m", "hydra/launcher=slurm_local", *TINY,
         *overrides, f"tracking.uri={uri}", f"tracking.artifact_root={root}/artifacts",
         f"hydra.sweep.dir={root}/{name}/${{seqlab_pid:}}"],
        cwd=REPO, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name, overrides in SWEEPS.items()}
    outputs = {name: process.communicate(timeout=600) for name, process in started.items()}
    done = {name: subprocess.CompletedProcess(process.args, process.returncode, *outputs[name])
            for name, process in started.items()}
    return {name: (done[name], *runs(root / name, uri)) for name in SWEEPS}


def runs(folder: Path, uri: str) -> tuple:
    """The client, the sweep's parent run (its id in the one sweep folder) and children."""
    from mlflow import MlflowClient

    sweep_dirs = list(folder.iterdir())
    assert len(sweep_dirs) == 1, f"the jobs wrote outside the sweep folder: {sweep_dirs}"
    client = MlflowClient(uri)
    parent = client.get_run((sweep_dirs[0] / "parent_run_id").read_text().strip())
    children = client.search_runs([parent.info.experiment_id],
                                  f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'")
    return client, parent, children


def test_a_local_submitit_sweep_is_one_parent_run_with_a_child_per_job(sweeps, tmp_path):
    done, client, parent, children = sweeps["good"]
    assert done.returncode == 0, done.stderr[-2000:]
    assert parent.data.tags["sweep"] == "parent" and parent.info.status == "FINISHED"
    assert len(children) == 2 and parent.data.tags["sweep.children"] == "2"
    assert {c.info.status for c in children} == {"FINISHED"}
    # Each job ran in a process of its own, both at once: half the cores each.
    pids = {c.data.tags["seqlab.pid"] for c in children}
    assert len(pids) == 2 and parent.data.tags["seqlab.pid"] not in pids
    assert {c.data.tags["sweep.parallel_jobs"] for c in children} == {"2"}
    assert {c.data.tags["torch.threads"] for c in children} == {str(jobs.threads_per_job(2))}
    table = client.download_artifacts(parent.info.run_id, "sweep.csv", str(tmp_path))
    assert len(Path(table).read_text().strip().splitlines()) == 3  # a header, two jobs


def test_a_failing_job_ends_the_parent_failed_with_its_reason(sweeps):
    done, _, parent, _ = sweeps["failing"]
    assert done.returncode == 2
    assert "seqlab: error: model.hidden_size: must be at least 1, got -3" in done.stderr
    assert "Traceback" not in done.stderr
    assert parent.info.status == "FAILED"
    assert parent.data.tags["seqlab.error"] == (
        "a job failed: model.hidden_size: must be at least 1, got -3")


def test_the_slurm_settings_print_without_slurm():
    done = run_module("seqlab.train", "hydra/launcher=slurm", "hydra.launcher.partition=gpu",
                      "hydra.launcher.timeout_min=30", "--cfg", "hydra", "-p",
                      "hydra.launcher", env=ENV)
    assert done.returncode == 0, done.stderr
    launcher = OmegaConf.create(done.stdout)
    assert launcher.partition == "gpu" and launcher.timeout_min == 30
    assert launcher.gpus_per_node == 1 and launcher.cpus_per_task and launcher.mem_gb
    assert launcher._target_.endswith("seqlab_submitit_launcher.launcher.SlurmLauncher")


def test_submitting_without_sbatch_is_one_line(tmp_path):
    path = [d for d in ENV["PATH"].split(os.pathsep)
            if not any((Path(d) / tool).exists() for tool in ("sbatch", "srun"))]
    done = run_module("seqlab.train", "-m", "hydra/launcher=slurm", "model.cell=rnn,lstm",
                      "tracking.enabled=false", f"hydra.sweep.dir={tmp_path}/sweep",
                      env={**ENV, "PATH": os.pathsep.join(path)})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "seqlab: error: hydra/launcher=slurm: sbatch and srun not found: send the sweep "
        "from a SLURM login node, or run its jobs on this machine with "
        "hydra/launcher=slurm_local (--cfg hydra shows the settings without submitting)"]


def test_a_refused_submission_is_one_line_after_sbatch_s_own(tmp_path):
    for tool in ("sbatch", "srun"):  # a cluster that has no partition `nope`
        (tmp_path / tool).write_text("#!/bin/sh\necho 'sbatch: error: invalid partition "
                                     "specified: nope' >&2\nexit 1\n")
        (tmp_path / tool).chmod(0o755)
    done = run_module("seqlab.train", "-m", "hydra/launcher=slurm", "model.cell=rnn,lstm",
                      "hydra.launcher.partition=nope", "tracking.enabled=false",
                      f"hydra.sweep.dir={tmp_path}/sweep",
                      env={**ENV, "PATH": f"{tmp_path}{os.pathsep}{ENV['PATH']}"})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "seqlab: error: hydra/launcher: submitting failed: sbatch: error: invalid partition "
        "specified: nope")


def test_a_slurm_job_trains_on_the_cores_slurm_gave_it(monkeypatch):
    threads = []  # what the job sets torch to (a stand-in: importing torch costs seconds)
    fake_torch = SimpleNamespace(set_num_threads=threads.append,
                                 get_num_threads=lambda: threads[-1])
    monkeypatch.setitem(sys.modules, "torch", fake_torch)
    hydra = OmegaConf.create({"launcher": {"cpus_per_task": 4}, "sweep": {"dir": "unused"},
                              "job": {"num": 0}})
    monkeypatch.setattr(jobs, "_hydra", lambda: hydra)
    monkeypatch.setenv("SUBMITIT_EXECUTOR", "slurm")
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "1")
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    cfg = OmegaConf.create({"trainer": {"accelerator": "auto"}})
    with jobs.job_resources(cfg) as got:  # no GPU lock: SLURM allocated the GPUs
        assert got == {"slurm.job_id": "42", "torch.threads": "1"}
    # A local submitit job: its launcher says how many jobs it started together.
    monkeypatch.setenv("SUBMITIT_EXECUTOR", "local")
    monkeypatch.setenv(jobs.LOCAL_JOBS_VARIABLE, "3")
    assert jobs.parallel_jobs(hydra) == 3
