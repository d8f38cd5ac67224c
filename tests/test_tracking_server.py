"""A tracking server on PostgreSQL: started and stopped once for the module, eight jobs at
once against it and against the SQLite store with nothing lost, a job killed mid-run, and
a server that is down reported in one line within seconds.

Jobs are `python -m seqlab.train` processes on course_ex1 for two epochs, in a project
folder of their own ($SEQLAB_ROOT: the data cache, checkpoints); PostgreSQL runs as
`nobody` when the tests run as root, so the server's folder is one that user can enter.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import mlflow
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS
from mlflow.tracking import MlflowClient
from omegaconf import OmegaConf

from seqlab.tracking import server as tracking_server
from seqlab.tracking.store import Tracking, fluent_uri, init_store
from tests.conftest import REPO

# The slow tier (`make test-fast` leaves it out): a server, eight jobs at once.
pytestmark = pytest.mark.slow

JOBS = 8
EPOCHS = 2
JOB = ["experiment=course_ex1", f"optim.max_epochs={EPOCHS}", "trainer=cpu",
       "trainer.progress_bar=false"]
EXPERIMENT = "many_to_one"  # course_ex1's archetype
DOWN_LIMIT_S = 10  # a job against a dead server must give up this fast (MLflow: minutes)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_command(action: str, folder: Path, port: int) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "seqlab.tracking.server", action,
                           "--dir", str(folder), "--port", str(port)],
                          cwd=REPO, capture_output=True, text=True, timeout=180)


def job_env(root: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "SEQLAB_ROOT": str(root), "OMP_NUM_THREADS": "1", **extra}
    if "MLFLOW_TRACKING_URI" not in extra:
        env.pop("MLFLOW_TRACKING_URI", None)  # the developer's own must not leak in
    return env


def start_job(root: Path, name: str, *overrides: str, env: dict | None = None
              ) -> subprocess.Popen:
    command = [sys.executable, "-m", "seqlab.train", *JOB, *overrides,
               f"hydra.run.dir={root / 'outputs' / name}"]
    return subprocess.Popen(command, cwd=REPO, env=env or job_env(root), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.fixture(scope="module", autouse=True)
def quiet_downloads():
    """No progress bars from the artifact downloads of sixteen runs."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        yield


@dataclass
class Served:
    url: str
    folder: Path
    port: int
    start_s: float


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """The jobs' project folder: their data cache is prepared once, by the first job."""
    return tmp_path_factory.mktemp("project")


@pytest.fixture(scope="module")
def served():
    """PostgreSQL and MLflow, started by the module's own command, stopped at the end."""
    if not (tracking_server.PG_BIN / "postgres").is_file():
        # CI machines have Debian's PostgreSQL: there a missing server fails, not skips.
        missing = f"no PostgreSQL server in {tracking_server.PG_BIN} (Debian's postgresql-15)"
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(f"{missing}: install it to test the tracking server")
    # pytest's tmp folders are private (0700): PostgreSQL's user `nobody` could not enter.
    top = Path(tempfile.mkdtemp(prefix="seqlab-server-"))
    top.chmod(0o755)
    folder, port = top / "server", free_port()
    began = time.monotonic()
    done = server_command("start", folder, port)
    start_s = time.monotonic() - began
    try:
        assert done.returncode == 0, done.stderr + done.stdout
        assert f"up at http://127.0.0.1:{port}" in done.stdout
        yield Served(f"http://127.0.0.1:{port}", folder, port, start_s)
    finally:
        server_command("stop", folder, port)
        shutil.rmtree(top, ignore_errors=True)


def finished_runs(client: MlflowClient, root: Path, names: list[str]) -> list:
    """The runs of the named jobs (their metrics files name them), each FINISHED."""
    runs = []
    for name in names:
        metrics = json.loads((root / "outputs" / name / "metrics.json").read_text())
        run = client.get_run(metrics["mlflow_run_id"])
        assert run.info.status == "FINISHED", (name, run.info.status)
        runs.append(run)
    return runs


def assert_every_epoch_logged(client: MlflowClient, run, history_csv: Path) -> None:
    """Each per-epoch metric has one point per epoch, with the value the history holds."""
    history = pd.read_csv(history_csv)
    assert len(history) == EPOCHS
    for column in history.columns.drop("epoch"):
        points = client.get_metric_history(run.info.run_id, column)
        assert sorted(p.step for p in points) == list(history["epoch"]), column
        logged = {p.step: p.value for p in points}
        assert all(logged[e] == pytest.approx(v) for e, v in zip(history["epoch"],
                                                                 history[column], strict=True))


def assert_artifacts_readable(client: MlflowClient, run, out_dir: Path, dst: Path) -> None:
    """Download every artifact of a run through the client: each has its listed size, and
    the config and figures are the job's own files."""
    listed, folders = {}, [None]
    while folders:
        for item in client.list_artifacts(run.info.run_id, folders.pop()):
            if item.is_dir:
                folders.append(item.path)
            else:
                listed[item.path] = item.file_size
    local = Path(client.download_artifacts(run.info.run_id, "", str(dst)))
    for path, size in listed.items():
        assert (local / path).stat().st_size == size, path
    cfg = OmegaConf.load(local / "config.yaml")
    assert cfg.optim.max_epochs == EPOCHS
    for figure in (out_dir / "figures").iterdir():
        assert (local / "figures" / figure.name).read_bytes() == figure.read_bytes()
    from seqlab.tracking.columns import DETAIL_TABLE

    assert json.loads((local / DETAIL_TABLE).read_text())["columns"][:3] == [
        "part", "metric", "model"]  # every test figure, as a table
    assert {"config.yaml", DETAIL_TABLE} <= set(listed)
    assert len(listed) == 2 + len(list(out_dir.glob("figures/*")))



def wait_all(processes: dict[str, subprocess.Popen], timeout: float = 240) -> None:
    for name, process in processes.items():
        _, err = process.communicate(timeout=timeout)
        assert process.returncode == 0, f"{name}: {err[-3000:]}"


def test_a_server_that_is_down_fails_the_job_in_one_line_within_seconds(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    began = time.monotonic()
    process = start_job(tmp_path, "down", "tracking=server", f"tracking.uri={url}")
    _, err = process.communicate(timeout=120)
    elapsed = time.monotonic() - began

    assert process.returncode == 2
    assert err.strip().splitlines() == [
        f"seqlab: error: tracking.uri: no MLflow server answers at {url} (connection "
        "refused); start it with `make server`, or set tracking=mlflow for the local store"]
    assert elapsed < DOWN_LIMIT_S, elapsed
    # No folder left: no model, metrics or data cache was started.
    assert not (tmp_path / "outputs" / "down").exists()
    assert not (tmp_path / "data").exists()
    print(f"\nserver down: failed in {elapsed:.1f} s")


def test_eight_jobs_at_once_on_sqlite_lose_nothing(project, tmp_path):
    store = tmp_path / "store"
    tracking = Tracking(uri=f"sqlite:///{store / 'mlflow.db'}",
                        artifact_root=str(store / "mlartifacts"), log_model=False)
    init_store(tracking, [EXPERIMENT])  # the schema and experiment before parallel jobs
    names = [f"sqlite-{i}" for i in range(JOBS)]
    began = time.monotonic()
    wait_all({name: start_job(project, name, f"tracking.uri={tracking.uri}",
                              f"tracking.artifact_root={tracking.artifact_root}",
                              "tracking.log_model=false") for name in names})
    elapsed = time.monotonic() - began

    client = tracking.client()
    runs = finished_runs(client, project, names)
    assert len({run.info.run_id for run in runs}) == JOBS
    for name, run in zip(names, runs, strict=True):
        out_dir = project / "outputs" / name
        assert_every_epoch_logged(client, run, out_dir / "model" / "history.csv")
        assert_artifacts_readable(client, run, out_dir, tmp_path / "download" / name)
    print(f"\n{JOBS} jobs at once on SQLite: {elapsed:.1f} s")


class Racing:
    """A client whose first create_experiment, or log_inputs, loses a race to another job:
    what a server answers when eight first runs start at once."""

    def __init__(self) -> None:
        self.experiments: dict[str, SimpleNamespace] = {}
        self.inputs: list[str] = []

    def get_experiment_by_name(self, name: str) -> SimpleNamespace | None:
        return self.experiments.get(name)

    def create_experiment(self, name: str, **kwargs: object) -> str:
        self.experiments[name] = SimpleNamespace(experiment_id="7", tags=kwargs["tags"])
        raise MlflowException(f"Experiment(name={name}) already exists.",
                              error_code=RESOURCE_ALREADY_EXISTS)

    def log_inputs(self, run_id: str, inputs: list) -> None:
        if not self.inputs:
            self.inputs.append("lost")
            raise MlflowException('duplicate key value violates unique constraint "dataset_pk"')
        self.inputs.append(run_id)


def test_jobs_that_race_to_create_an_experiment_or_dataset_all_go_on(monkeypatch, tmp_path):
    from seqlab.tracking import run as tracked

    racing = Racing()
    monkeypatch.setattr("mlflow.tracking.MlflowClient", lambda **kwargs: racing)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    tracking = Tracking(uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert init_store(tracking, [EXPERIMENT]) == {EXPERIMENT: "7"}
    tracked.log_inputs(racing, "run-1", [])
    assert racing.inputs == ["lost", "run-1"]


def test_start_again_says_it_runs(served):
    done = server_command("start", served.folder, served.port)
    assert done.returncode == 0
    assert done.stdout.strip() == f"the tracking server is already running at {served.url}"
    assert server_command("status", served.folder, served.port).returncode == 0
    print(f"\nserver start: {served.start_s:.1f} s")


def test_eight_jobs_at_once_on_the_server_lose_nothing(served, project, tmp_path):
    """Half the jobs pick tracking=server, half only set MLFLOW_TRACKING_URI: all land
    on the server, and each run records the URI it went to."""
    names = [f"server-{i}" for i in range(JOBS)]
    began = time.monotonic()
    processes = {}
    for i, name in enumerate(names):
        if i % 2:
            processes[name] = start_job(project, name, env=job_env(
                project, MLFLOW_TRACKING_URI=served.url))
        else:
            processes[name] = start_job(project, name, "tracking=server",
                                        f"tracking.uri={served.url}")
    wait_all(processes)
    elapsed = time.monotonic() - began

    client = MlflowClient(served.url)
    runs = finished_runs(client, project, names)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    assert experiment.artifact_location.startswith("mlflow-artifacts:")  # the server's
    assert {run.info.experiment_id for run in runs} == {experiment.experiment_id}
    assert not (project / "mlflow.db").exists()  # the config's SQLite store stayed unused
    for name, run in zip(names, runs, strict=True):
        assert run.data.tags["seqlab.tracking_uri"] == served.url
        out_dir = project / "outputs" / name
        assert_every_epoch_logged(client, run, out_dir / "model" / "history.csv")
        assert_artifacts_readable(client, run, out_dir, tmp_path / "download" / name)
        # MLflow 3 keeps a logged model's files with the model, beside the run's artifacts.
        with fluent_uri(served.url):
            model = Path(mlflow.artifacts.download_artifacts(
                f"runs:/{run.info.run_id}/model", dst_path=str(tmp_path / "model" / name)))
        assert (model / "MLmodel").is_file()
        weights = [p.read_bytes() for p in model.rglob("model.pt")]
        assert weights == [(out_dir / "model" / "model.pt").read_bytes()]
    print(f"\n{JOBS} jobs at once on the server: {elapsed:.1f} s")


def first_epoch_logged(client: MlflowClient, experiment_id: str,
                       process: subprocess.Popen, tag: str = "seqlab.pid",
                       value: str | None = None) -> str:
    """The id of a job's run (its tag `tag` is `value`, by default the job's pid), once
    the run holds its first epoch."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        found = client.search_runs([experiment_id], f"tags.`{tag}` = '{value or process.pid}'")
        if found and client.get_metric_history(found[0].info.run_id, "train/loss"):
            return found[0].info.run_id
        time.sleep(0.2)
    raise AssertionError(f"the job logged no epoch: {process.poll()}")


def test_the_server_keeps_answering_while_a_job_is_killed_mid_run(served, project):
    client = MlflowClient(served.url)
    experiment_id = init_store(Tracking(uri=served.url), [EXPERIMENT])[EXPERIMENT]
    process = start_job(project, "killed", "tracking=server", f"tracking.uri={served.url}",
                        "optim.max_epochs=100000", "tracking.log_model=false")
    try:
        run_id = first_epoch_logged(client, experiment_id, process)
        process.send_signal(signal.SIGKILL)  # mid-run: no handler, no goodbye
        process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    with urllib.request.urlopen(f"{served.url}/health", timeout=5) as response:
        assert response.status == 200
    assert client.get_run(run_id).info.status == "RUNNING"  # it died; the next start marks it
    fresh = client.create_run(experiment_id, run_name="after a kill")
    client.log_metric(fresh.info.run_id, "x", 1.0)
    client.set_terminated(fresh.info.run_id)
    assert client.get_run(fresh.info.run_id).data.metrics == {"x": 1.0}


OUTAGE_LIMIT_S = 60  # from the server's stop to the job's one line
# `dvc repro` around the same training: DVC's own exit on top (seconds on a loaded box).
DVC_SLACK_S = 30


def kept_line(store: str, kept: Path, then: str = "") -> str:
    """The one line a run ends with when its store stops answering (reason left as {})."""
    return (f"seqlab: error: the MLflow store {store} stopped answering ({{}}); the run's "
            f"record is kept in {kept}: send it with `python -m seqlab.upload "
            f"{kept}` once the store answers again{then}")


def ends_with_kept_line(err: str, line: str) -> None:
    last = err.strip().splitlines()[-1] if err.strip() else ""
    reason = last.split("stopped answering (", 1)[-1].split("); the run's record", 1)[0]
    assert last == line.format(reason), err[-3000:]


def stage_project(folder: Path, tracking: list[str]) -> Path:
    """A copy of the project whose pipeline is one course_ex1 entry, `outage`, tracked
    with `tracking` (params.yaml generated as `python -m seqlab.params` does)."""
    from seqlab.params import generate, write
    from tests.conftest import copy_project

    root = copy_project(folder)
    (root / "conf" / "pipeline.yaml").write_text(
        "entries:\n  outage: [experiment=course_ex1, optim.max_epochs=2000, "
        "trainer.progress_bar=false]\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SEQLAB_ROOT", str(root))
        write(generate(tracking), root)
    return root


def test_an_outage_mid_run_keeps_the_record_and_the_upload_lands_it(served, project,
                                                                    tmp_path):
    """The server stops while a job trains, and while `dvc repro` trains an entry: each
    ends within a minute with one line naming the store and the folder that keeps the
    model, metrics and figures; once the server is back, `python -m seqlab.upload`
    lands them (the job's run FINISHED, the stage's SCHEDULED for the evaluate stage) and
    `dvc commit` keeps the stage's outputs without training again."""
    client = MlflowClient(served.url)
    experiment_id = init_store(Tracking(uri=served.url), [EXPERIMENT])[EXPERIMENT]
    # A password in the URI (ignored by this server) never reaches the console.
    secret = served.url.replace("http://", "http://seqlab:s3cret@")
    shown = secret.replace("s3cret", "***")
    stages = stage_project(tmp_path / "stages", ["tracking=server", f"tracking.uri={secret}"])
    bin_dir = Path(sys.executable).parent
    stage_env = {**job_env(stages), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    del stage_env["SEQLAB_ROOT"]  # the copy is the project
    dvc = subprocess.Popen([str(bin_dir / "dvc"), "repro", "train@outage"], cwd=stages,
                           env=stage_env, text=True, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
    process = start_job(project, "outage", "tracking=server", f"tracking.uri={secret}",
                        "optim.max_epochs=1500")
    try:
        run_id = first_epoch_logged(client, experiment_id, process)
        stage_run_id = first_epoch_logged(client, experiment_id, dvc, "entry", "outage")
        logged = len(client.get_metric_history(run_id, "train/loss"))
        assert server_command("stop", served.folder, served.port).returncode == 0
        stopped = time.monotonic()
        out_text, err = process.communicate(timeout=180)
        elapsed = time.monotonic() - stopped
        dvc_log, _ = dvc.communicate(timeout=180)
        dvc_elapsed = time.monotonic() - stopped
    finally:
        for started in (process, dvc):
            if started.poll() is None:
                started.kill()
                started.communicate()
        server_command("start", served.folder, served.port)  # for the tests after this one

    out = project / "outputs" / "outage"
    assert process.returncode == 2, f"{logged} epochs logged at the stop: {err[-3000:]}"
    assert elapsed < OUTAGE_LIMIT_S, f"{elapsed:.0f} s after the outage"
    assert "Traceback" not in err, err[-3000:]
    assert "s3cret" not in out_text + err, out_text + err
    ends_with_kept_line(err, kept_line(shown, out))
    for kept in ("model/model.pt", "model/meta.json", "model/history.csv", "metrics.json"):
        assert (out / kept).is_file(), kept
    assert list((out / "figures").glob("*.png"))
    assert client.get_run(run_id).info.status == "RUNNING"  # the store never heard the end

    # The DVC stage: the same, with DVC's own line after seqlab's.
    model_dir = stages / "models" / "outage"
    assert dvc.returncode != 0 and dvc_elapsed < OUTAGE_LIMIT_S + DVC_SLACK_S, dvc_log[-3000:]
    assert "Traceback" not in dvc_log and "s3cret" not in dvc_log, dvc_log[-3000:]
    ours = [line for line in dvc_log.splitlines() if line.startswith("seqlab: error:")]
    ends_with_kept_line("\n".join(ours), kept_line(
        shown, model_dir, ", then `dvc commit -f train@outage` keeps it without running again"))
    assert (model_dir / "model.pt").is_file()
    assert (stages / "plots" / "outage" / "history.csv").is_file()

    def upload(folder: Path, cwd: Path, env: dict) -> str:
        done = subprocess.run([sys.executable, "-m", "seqlab.upload", str(folder)],
                              cwd=cwd, env=env, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout.strip().splitlines()[-1]

    assert upload(out, REPO, job_env(project)) == f"uploaded {out} to the same run: {run_id}"
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    metrics = json.loads((out / "metrics.json").read_text())
    assert run.data.metrics["test/mase"] == pytest.approx(metrics["test"]["test/mase"])
    history = pd.read_csv(out / "model" / "history.csv")
    points = client.get_metric_history(run_id, "train/loss")
    assert sorted(p.step for p in points) == list(history["epoch"])  # each epoch once
    with fluent_uri(served.url):
        assert mlflow.search_logged_models(experiment_ids=[experiment_id],
                                           filter_string=f"source_run_id = '{run_id}'",
                                           output_format="list")

    assert upload(model_dir, stages, stage_env) == (
        f"uploaded {model_dir} to the same run: {stage_run_id}")
    assert client.get_run(stage_run_id).info.status == "SCHEDULED"  # evaluate@ finishes it
    history = pd.read_csv(model_dir / "history.csv")
    points = client.get_metric_history(stage_run_id, "train/loss")
    assert sorted(p.step for p in points) == list(history["epoch"])
    dvc_cmd = [str(bin_dir / "dvc")]
    subprocess.run([*dvc_cmd, "commit", "-f", "train@outage"], cwd=stages, env=stage_env,
                   check=True, capture_output=True)
    status = subprocess.run([*dvc_cmd, "status", "train@outage"], cwd=stages, env=stage_env,
                            capture_output=True, text=True, check=True)
    assert "up to date" in status.stdout, status.stdout


def test_stop_stops_everything_and_says_so_when_nothing_runs(served):
    """The last test of the module: the fixture's own stop then finds nothing to stop."""
    mlflow_group = int((served.folder / "mlflow.pid").read_text())
    postmaster = int((served.folder / "postgres" / "data" / "postmaster.pid").read_text()
                     .split()[0])
    done = server_command("stop", served.folder, served.port)
    assert done.returncode == 0
    assert done.stdout.strip() == (f"stopped the tracking server: MLflow (pid {mlflow_group}) "
                                   "and PostgreSQL")
    again = server_command("stop", served.folder, served.port)
    assert again.stdout.strip() == "the tracking server is not running"
    assert server_command("status", served.folder, served.port).returncode == 3
    with pytest.raises(ProcessLookupError):  # no MLflow process, workers included
        os.killpg(mlflow_group, 0)
    assert not alive(postmaster)


def alive(pid: int) -> bool:
    """Whether a process runs (a zombie, ended but not yet reaped by its parent, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
