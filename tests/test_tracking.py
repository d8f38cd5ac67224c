"""What a run puts in the MLflow store: a model with no pickle in it, and tags and params
with no machine path or password."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from mlflow.tracking import MlflowClient
from omegaconf import OmegaConf

from seqlab.config import compose
from seqlab.data.meta import Meta
from seqlab.layout import CONFIG_FILE, META_FILE, MODEL_FILE
from seqlab.models import net_for_data
from seqlab.tracking.run import TrackedRun, redact_uri
from seqlab.tracking.store import Tracking, fluent_uri

SERVE_START_S = 60


def store(tmp: Path) -> Tracking:
    return Tracking(uri=f"sqlite:///{tmp}/mlflow.db", artifact_root=str(tmp / "mlartifacts"))


def data_folder(folder: Path, meta: Meta) -> Path:
    folder.mkdir(parents=True)
    (folder / META_FILE).write_text(json.dumps(meta.to_json()))
    return folder


def course_ex1_meta(variable_length: bool = False) -> Meta:
    return Meta(name="elec_equip", task="regression", archetype="many_to_one", input_size=1,
                output_size=1, steps=12, variable_length=variable_length)


@pytest.mark.parametrize(("uri", "redacted"), [
    ("postgresql://user:secret@host/db", "postgresql://user:***@host/db"),
    ("http://user:secret@host:5000/path?x=1", "http://user:***@host:5000/path?x=1"),
    ("http://user@host", "http://user@host"),
    ("sqlite:///mlflow.db", "sqlite:///mlflow.db"),
    ("databricks", "databricks"),
    ("lstm", "lstm"),
])
def test_redact_uri(uri, redacted):
    assert redact_uri(uri) == redacted


@pytest.mark.parametrize("inside_project", [False, True])
def test_run_tags_and_params_name_no_machine_path_or_password(tmp_path, monkeypatch,
                                                              inside_project):
    root = tmp_path / "project"
    if inside_project:
        monkeypatch.setenv("SEQLAB_ROOT", str(root))
    cfg = compose(["experiment=course_ex1", "tracking.uri=postgresql://user:secret@host/db"])
    data_dir = data_folder(root / "data" / "processed" / "elec_equip", course_ex1_meta())

    run = TrackedRun.start(cfg, store(tmp_path), data_dir, "many_to_one")

    data = MlflowClient(run.uri).get_run(run.run_id).data
    values = {**data.tags, **data.params}
    assert not [k for k, v in values.items() if str(tmp_path) in v or "secret" in v]
    assert data.params["tracking.uri"] == "postgresql://user:***@host/db"
    assert data.tags["data.path"] == ("data/processed/elec_equip" if inside_project
                                      else "elec_equip")


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """A briefly trained course_ex1 net, saved as train() saves it and logged to a
    temporary store: (run, net, example inputs, tmp folder)."""
    tmp = tmp_path_factory.mktemp("logged")
    cfg = compose(["experiment=course_ex1"])
    meta = course_ex1_meta()
    torch.manual_seed(0)
    net = net_for_data(cfg.model, meta)
    inputs, targets = torch.rand(8, 12, 1), torch.rand(8, 1)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    for _ in range(5):
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(net(inputs), targets).backward()
        optimizer.step()
    net.eval()
    model_dir = tmp / "model"
    model_dir.mkdir()
    torch.save(net.state_dict(), model_dir / MODEL_FILE)
    (model_dir / CONFIG_FILE).write_text(OmegaConf.to_yaml(cfg))
    data_dir = data_folder(tmp / "elec_equip", meta)

    run = TrackedRun.start(cfg, store(tmp), data_dir, "many_to_one")
    run.log_model(model_dir, data_dir / META_FILE, inputs[:4])
    return run, net, inputs, tmp


def test_logged_model_loads_back_and_predicts_as_the_net(logged):
    import mlflow

    run, net, inputs, _ = logged
    assert MlflowClient(run.uri).get_run(run.run_id).info.status == "RUNNING"  # not ended
    with fluent_uri(run.uri):
        model = mlflow.pyfunc.load_model(f"runs:/{run.run_id}/model")
    with torch.no_grad():
        expected = net(inputs).numpy()
    np.testing.assert_allclose(model.predict(inputs.numpy()), expected, rtol=1e-6)
    # A DataFrame with one flattened input per row, as `mlflow models serve` may pass.
    frame = pd.DataFrame({"inputs": list(inputs.numpy().reshape(len(inputs), -1))})
    np.testing.assert_allclose(model.predict(frame), expected, rtol=1e-6)


def test_logged_model_holds_code_and_plain_files_not_a_pickle(logged):
    import mlflow

    run, _, _, tmp = logged
    # MLflow 3 finds a run's logged model through the process-wide URI, whatever the call says
    with fluent_uri(run.uri):
        folder = Path(mlflow.artifacts.download_artifacts(
            f"runs:/{run.run_id}/model", dst_path=str(tmp / "download"), tracking_uri=run.uri))
    flavor = mlflow.models.Model.load(folder).flavors["python_function"]
    assert flavor["model_code_path"].endswith("served_model.py")
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert {"model.pt", "config.yaml", "meta.json"} <= {p.name for p in files}
    assert not [p for p in files if p.suffix in (".pkl", ".pickle")]
    # A pickle starts with its PROTO opcode; model.pt is torch's zip of tensors.
    assert not [p for p in files if p.read_bytes()[:1] == b"\x80"]


def test_padded_inputs_take_their_lengths_as_a_param(tmp_path):
    import mlflow

    cfg = compose(["experiment=course_ex1"])
    meta = course_ex1_meta(variable_length=True)
    net = net_for_data(cfg.model, meta).eval()
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    torch.save(net.state_dict(), model_dir / MODEL_FILE)
    (model_dir / CONFIG_FILE).write_text(OmegaConf.to_yaml(cfg))
    data_dir = data_folder(tmp_path / "elec_equip", meta)
    inputs, lengths = torch.rand(3, 12, 1), torch.tensor([12, 5, 2])

    run = TrackedRun.start(cfg, store(tmp_path), data_dir, "many_to_one")
    run.log_model(model_dir, data_dir / META_FILE, inputs)

    with fluent_uri(run.uri):
        model = mlflow.pyfunc.load_model(f"runs:/{run.run_id}/model")
    with torch.no_grad():
        expected = net(inputs, lengths).numpy()
    predicted = model.predict(inputs.numpy(), params={"lengths": lengths.tolist()})
    np.testing.assert_allclose(predicted, expected, rtol=1e-6)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def stop(server: subprocess.Popen) -> None:
    """End the server and its uvicorn worker: they share the session started for them."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, sig)
        try:
            server.wait(timeout=20)
            return
        except subprocess.TimeoutExpired:
            continue


def test_logged_model_serves_over_http(logged):
    """`mlflow models serve` on loopback answers /invocations as the net does."""
    run, net, inputs, tmp = logged
    port = free_port()
    env = {**os.environ, "MLFLOW_TRACKING_URI": run.uri, "OMP_NUM_THREADS": "1",
           # the server runs uvicorn from this environment's bin folder
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    log = (tmp / "serve.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "models", "serve", "-m", f"runs:/{run.run_id}/model",
         "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + SERVE_START_S
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("the server did not start:\n"
                                + (tmp / "serve.log").read_text()[-3000:])
                time.sleep(0.5)
        answer = post(f"http://127.0.0.1:{port}/invocations",
                      {"inputs": inputs[:2].numpy().tolist()})
    finally:
        stop(server)
        log.close()
    with torch.no_grad():
        expected = net(inputs[:2]).numpy()
    np.testing.assert_allclose(np.array(answer["predictions"]), expected, rtol=1e-5)


def test_dirty_means_a_change_to_code_or_config_untracked_files_included(tmp_path):
    from seqlab.tracking import lineage
    from tests.conftest import copy_project

    root = copy_project(tmp_path / "project")
    assert lineage.git_state(root)["git.dirty"] == "false"
    (root / "dvc.lock").write_text("rewritten by dvc\n")  # a pipeline output: not dirty
    (root / "metrics" / "new.json").write_text("{}\n")
    assert lineage.git_state(root)["git.dirty"] == "false"
    preset = root / "conf" / "experiment" / "mine.yaml"
    preset.write_text("# @package _global_\nseed: 3\n")  # untracked, and what runs
    assert lineage.git_state(root)["git.dirty"] == "true"
    assert "+seed: 3" in lineage.git_diff(root) and "b/conf/experiment/mine.yaml" in \
        lineage.git_diff(root)
    preset.unlink()
    (root / "src" / "seqlab" / "tasks.py").write_text("# changed\n")
    assert lineage.git_state(root)["git.dirty"] == "true"
    assert "+# changed" in lineage.git_diff(root)


def test_flushing_a_run_lands_its_epochs_and_touches_no_other_store(tmp_path, monkeypatch):
    """MLflow's flush_async_logging flushes the process-wide URI's store: MLflow 3's
    default is ./mlflow.db, which eight parallel jobs then created and migrated at once."""
    elsewhere = tmp_path / "working-folder"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = compose(["experiment=course_ex1"])
    data_dir = data_folder(tmp_path / "elec_equip", course_ex1_meta())
    run = TrackedRun.start(cfg, store(tmp_path), data_dir, "many_to_one")
    run.epoch_reporter()([{"epoch": 1, "train/loss": 0.5}, {"epoch": 2, "train/loss": 0.25}])
    run.flush()
    points = MlflowClient(run.uri).get_metric_history(run.run_id, "train/loss")
    assert sorted((p.step, p.value) for p in points) == [(1, 0.5), (2, 0.25)]
    assert list(elsewhere.iterdir()) == []
