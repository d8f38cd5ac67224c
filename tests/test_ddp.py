"""Data-parallel training (`trainer=ddp trainer.devices=2`): two CPU processes with gloo,
through both entry points, the Hydra app and `dvc repro`.

Lightning starts rank 1 by running the command line again; rank zero alone writes the
model folder, the metrics and the MLflow run. Two ranks of batch B see, each step, the
rows a single process with batch 2B sees (the ranks split one shuffled order), so DDP
must match that run up to rounding; against the single run of batch B (twice the
steps) it is held to TOLERANCE of that run's gain over the naive forecast.

The app, `dvc repro` and the single-process runs overlap: each DDP rank is a whole
process importing torch and Lightning, and one core would idle while rank 1 starts.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from seqlab.params import generate, write
from tests.conftest import copy_project, tiny

pytestmark = pytest.mark.slow
ENTRY = "course_ex1_ddp"
EPOCHS = 20
# Tiny, yet past the first steep epochs: lr 0.01 takes course_ex1 (180 training rows,
# batch 32) well below the naive forecast in 20 epochs, about a second of training.
SMALL = ["experiment=course_ex1", f"optim.max_epochs={EPOCHS}", "optim.lr=0.01",
         "trainer.progress_bar=false"]
NO_MODEL = "tracking.log_model=false"  # the pipeline's tracking, given to all its entries
DDP = ["trainer=ddp", "trainer.devices=2"]
# |DDP - single (batch B)| as a share of the single run's gain over the trivial baseline.
# Measured: course_ex1 at lr 0.01, 2% at 20 epochs, 19% at 40, 18% at 60 (DDP takes half
# the steps an epoch, and this short trajectory is bumpy); the full presets course_ex1
# 4% and course_ex2 1%. 25% allows the worst of those; a run that does not learn is
# 100% or more off.
TOLERANCE = 0.25


@dataclass
class Runs:
    app: Path  # the app's project folder (SEQLAB_ROOT)
    app_output: str
    project: Path  # the copy `dvc repro` ran in
    dvc_output: str
    single: dict[int, dict]  # batch size -> the single-process run's metrics


def start(args: list[str], cwd: Path, env: dict, log: Path) -> subprocess.Popen:
    with log.open("w") as out:  # the process keeps its own copy of the file
        return subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)


def finish(process: subprocess.Popen, log: Path, timeout: int = 300) -> str:
    process.wait(timeout)
    output = log.read_text()
    assert process.returncode == 0, output[-4000:]
    return output


@pytest.fixture(scope="module")
def temp_dir(tmp_path_factory) -> Path:
    """$TMPDIR of the commands: rank 1 works in a temporary folder that must go."""
    return tmp_path_factory.mktemp("tmpdir")


@pytest.fixture(scope="module")
def runs(tmp_path_factory, temp_dir, run) -> Runs:
    import torch

    app, logs = tmp_path_factory.mktemp("app"), tmp_path_factory.mktemp("logs")
    bin_dir = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if k != "SEQLAB_ROOT"}
    # No GPU even where there is one: trainer=ddp falls back to CPU processes with gloo.
    env.update(PATH=f"{bin_dir}{os.pathsep}{env['PATH']}", TMPDIR=str(temp_dir),
               CUDA_VISIBLE_DEVICES="")
    project = copy_project(tmp_path_factory.mktemp("project"))
    (project / "conf" / "pipeline.yaml").write_text(
        yaml.safe_dump({"entries": {ENTRY: [*SMALL, *DDP]}}))
    with pytest.MonkeyPatch.context() as patch:  # `python -m seqlab.params`, in-process
        patch.setenv("SEQLAB_ROOT", str(project))
        write(generate([NO_MODEL]), project)
    # train@ only: evaluation is one process, the same with or without DDP.
    started = [start([str(bin_dir / "dvc"), "repro", f"train@{ENTRY}"], project, env,
                     logs / "dvc.log")]
    try:
        started.append(start([sys.executable, "-m", "seqlab.train", *SMALL, *DDP, NO_MODEL,
                              f"tracking.uri=sqlite:///{app}/mlflow.db"], app,
                             {**env, "SEQLAB_ROOT": str(app)}, logs / "app.log"))
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            single = {batch: run(tiny(*SMALL, f"optim.batch_size={batch}"),
                                 tmp_path_factory.mktemp(f"single{batch}"))
                      for batch in (32, 64)}
        finally:
            torch.set_num_threads(threads)
        dvc_output = finish(started[0], logs / "dvc.log")
        app_output = finish(started[1], logs / "app.log")
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
    return Runs(app, app_output, project, dvc_output, single)


def expected_threads() -> int:
    """cores / ranks, as Lightning sets it, unless OMP_NUM_THREADS fixes it."""
    if os.environ.get("OMP_NUM_THREADS"):
        return int(os.environ["OMP_NUM_THREADS"])
    return max(1, len(os.sched_getaffinity(0)) // 2)


def only_run(store: Path, status: str):
    """The store's one run (in any experiment, deleted or not), checked as a DDP run."""
    from mlflow.entities import ViewType
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{store}")
    ids = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
    runs = client.search_runs(ids, run_view_type=ViewType.ALL)
    assert len(runs) == 1, [r.info.run_name for r in runs]
    found = runs[0]
    assert found.info.status == status
    assert found.data.tags["trainer.world_size"] == "2"
    assert found.data.tags["torch.threads"] == str(expected_threads())
    assert len(client.get_metric_history(found.info.run_id, "train/loss")) == EPOCHS
    return found


def app_folder(runs: Runs) -> Path:
    folders = list((runs.app / "outputs").glob("*/*"))
    assert len(folders) == 1, folders  # rank 1 has no folder of its own
    return folders[0]


def no_leftovers(root: Path, temp_dir: Path) -> None:
    """Nothing of rank 1's remains: no `.rank` folder, no temporary folder; and the
    resume points went once the model was saved."""
    assert not list(root.rglob("*.rank"))
    assert not list(temp_dir.glob("seqlab-rank-*"))
    assert not [p for p in (root / "checkpoints").glob("*") if p.is_dir() and any(p.iterdir())]


def test_app_trains_on_two_processes_into_one_run_and_one_folder(runs, temp_dir):
    found = only_run(runs.app / "mlflow.db", "FINISHED")
    out = app_folder(runs)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["mlflow_run_id"] == found.info.run_id
    assert (out / "model" / "model.pt").is_file() and (out / ".hydra").is_dir()
    # Rank 1 runs in rank zero's folder (hydra.run.dir) and leaves only its log there.
    assert {p.name for p in out.glob("*.log")} <= {"train.log", "train_ddp_process_1.log"}
    no_leftovers(runs.app, temp_dir)
    assert runs.app_output.count("test/mase = ") == 1  # evaluated once, by rank zero


def test_ddp_matches_one_process_with_twice_the_batch(runs):
    ddp = json.loads((app_folder(runs) / "metrics.json").read_text())["test"]["test/mse"]
    assert ddp == pytest.approx(runs.single[64]["test"]["test/mse"], rel=1e-4)


def test_ddp_metric_is_within_tolerance_of_one_process_with_the_same_batch(runs):
    # The loss both minimise, in the scaled units training sees.
    ddp = json.loads((app_folder(runs) / "metrics.json").read_text())["test"]["test/mse"]
    alone = runs.single[32]["test"]["test/mse"]
    naive = runs.single[32]["baselines"]["naive"]["mse"]
    assert alone < naive  # the config learns: there is a gain to compare against
    assert abs(ddp - alone) <= TOLERANCE * (naive - alone), (ddp, alone, naive)


def test_dvc_stage_trains_on_two_processes_and_only_rank_zero_writes(runs, temp_dir):
    import torch

    root = runs.project
    assert set(re.findall(r"Running stage '([^']+)'", runs.dvc_output)) >= {f"train@{ENTRY}"}
    assert runs.dvc_output.count(f"trained {ENTRY}:") == 1  # rank 1 ends quietly
    only_run(root / "mlflow.db", "SCHEDULED")  # the evaluate stage would finish it
    assert [p.name for p in (root / "models").iterdir() if not p.name.startswith(".")] \
        == [ENTRY]
    assert (root / "plots" / ENTRY / "history.csv").is_file()
    no_leftovers(root, temp_dir)
    # The same training as the app's: the same data, seed and two ranks.
    weights = [torch.load(folder / "model.pt", weights_only=True)
               for folder in (root / "models" / ENTRY, app_folder(runs) / "model")]
    torch.testing.assert_close(*weights)


@pytest.mark.parametrize(("devices", "nodes", "refused"), [(2, 1, True), (1, 2, True),
                                                           ([0, 1], 1, True), (1, 1, False)])
def test_a_sweep_job_refuses_more_than_one_process(devices, nodes, refused):
    """Lightning would start rank 1 by re-running `-m ...`: the whole sweep again."""
    import torch

    from seqlab.config import compose, instantiate
    from seqlab.errors import ConfigError

    cfg = compose([*DDP, f"trainer.devices={devices}", f"trainer.num_nodes={nodes}"])
    settings = instantiate(cfg.trainer, "trainer")
    assert settings.strategy == "ddp"
    if not torch.cuda.is_available():  # mixed precision only where a GPU is used
        assert settings.precision() == "32-true"
    if refused:
        with pytest.raises(ConfigError, match="cannot run inside a sweep"):
            settings.require_one_process()
    else:
        settings.require_one_process()
