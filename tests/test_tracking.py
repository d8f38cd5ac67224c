"""What a run puts in the MLflow store: a model with no pickle in it, and tags and params
with no machine path or password."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from seqlab.config import compose
from seqlab.data.meta import Meta
from seqlab.layout import META_FILE
from seqlab.model_folder import files as folder_files
from seqlab.predict.inputs import example
from seqlab.predict.trained import TrainedModel
from seqlab.tracking.run import TrackedRun
from seqlab.tracking.store import Tracking, fluent_uri, redact_uri
from tests.conftest import FAST, REPO

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
def logged(tmp_path_factory, run):
    """A tiny course_ex2 run (digits as 64 pixel steps), its model logged to a temporary
    store: (run id, store URI, output folder, tmp folder)."""
    tmp = tmp_path_factory.mktemp("logged")
    uri = f"sqlite:///{tmp}/mlflow.db"
    cfg = compose(["experiment=course_ex2", "optim.max_epochs=1", "model.hidden_size=8",
                   *FAST, "tracking.enabled=true", f"tracking.uri={uri}",
                   f"tracking.artifact_root={tmp}/mlartifacts"])
    result = run(cfg, tmp / "run")
    return result["mlflow_run_id"], uri, tmp / "run", tmp


@pytest.mark.slow  # a logged model (shared by the serving tests)
def test_logged_model_answers_raw_inputs_as_the_command_does(logged):
    import mlflow

    run_id, uri, out, _ = logged
    model = TrainedModel(folder_files(out))
    pixels = example(model.meta)
    with fluent_uri(uri):
        served = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
    answers = served.predict(pixels)
    pd.testing.assert_frame_equal(answers, model.predict(pixels))
    assert list(answers.columns) == ["label", "probability"]
    assert list(pixels.columns) == [f"pixel{i}" for i in range(64)]  # grey levels 0-16
    assert pixels.to_numpy().max() > 1
    schema = served.metadata.get_input_schema()
    # Named, optional and untyped: seqlab checks presence and types itself, in one line.
    assert schema.input_names() == [*pixels.columns, "id"]
    assert not [c.name for c in schema.inputs if c.required]


@pytest.mark.slow  # a logged model
def test_logged_model_holds_code_and_plain_files_not_a_pickle(logged):
    import mlflow

    run_id, uri, _, tmp = logged
    # MLflow 3 finds a run's logged model through the process-wide URI, whatever the call says
    with fluent_uri(uri):
        folder = Path(mlflow.artifacts.download_artifacts(
            f"runs:/{run_id}/model", dst_path=str(tmp / "download"), tracking_uri=uri))
    flavor = mlflow.models.Model.load(folder).flavors["python_function"]
    assert flavor["model_code_path"].endswith("served_model.py")
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert {"model.pt", "config.yaml", "meta.json"} <= {p.name for p in files}
    assert not [p for p in files if p.suffix in (".pkl", ".pickle")]
    # A pickle starts with its PROTO opcode; model.pt is torch's zip of tensors.
    assert not [p for p in files if p.read_bytes()[:1] == b"\x80"]
    raw = json.loads((folder / "serving_input_example.json").read_text())
    assert raw["dataframe_split"]["columns"][:2] == ["pixel0", "pixel1"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def post(url: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


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


@pytest.mark.slow  # a model server
def test_make_serve_answers_the_raw_example_with_labels(logged):
    """`make serve MODEL=<run id>` from a shell with no environment on PATH: the raw
    example in, label and probability out; a NaN is a 400 naming its column."""
    import mlflow

    run_id, uri, out, tmp = logged
    port = free_port()
    env = {"HOME": os.environ.get("HOME", str(tmp)), "PATH": "/usr/bin:/bin",
           "MLFLOW_TRACKING_URI": uri, "OMP_NUM_THREADS": "1"}
    log = (tmp / "serve.log").open("w")
    server = subprocess.Popen(["make", "-s", "-C", str(REPO), "serve", f"MODEL={run_id}",
                               f"PORT={port}"], env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    with fluent_uri(uri):
        folder = Path(mlflow.artifacts.download_artifacts(
            f"runs:/{run_id}/model", dst_path=str(tmp / "served"), tracking_uri=uri))
    body = (folder / "serving_input_example.json").read_bytes()
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
        status, answer = post(f"http://127.0.0.1:{port}/invocations", body)
        request = json.loads(body)
        request["dataframe_split"]["data"][0][5] = float("nan")
        bad_status, refused = post(f"http://127.0.0.1:{port}/invocations",
                                   json.dumps(request).encode())
    finally:
        stop(server)
        log.close()
    assert status == 200
    expected = TrainedModel(folder_files(out)).predict(example(TrainedModel(
        folder_files(out)).meta))
    assert [row["label"] for row in answer["predictions"]] == expected["label"].tolist()
    assert (bad_status, refused["message"]) == (
        400, "request: row 1, column 'pixel5': nan is not a finite number")


@pytest.fixture(scope="module")
def scoring(logged):
    """MLflow's scoring server (the app `mlflow models serve` runs) for the logged model,
    on a real port in this process: post(body) -> (status, answer)."""
    import threading

    import mlflow
    import uvicorn
    from mlflow.pyfunc import scoring_server

    run_id, uri, _, _ = logged
    with fluent_uri(uri):
        model = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(scoring_server.init(model), host="127.0.0.1",
                                           port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + SERVE_START_S
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield lambda body: post(f"http://127.0.0.1:{port}/invocations", json.dumps(body).encode())
    server.should_exit = True
    thread.join(timeout=20)


PIXELS = [f"pixel{i}" for i in range(64)]


def pixel_rows(*cell: object, row: int = 1, column: int = 5) -> list[list]:
    """Three rows of grey levels; `cell`, if given, at `row`, `column`."""
    rows = [[i % 17 for i in range(64)], [3] * 64, [16] * 64]
    if cell:
        rows[row][column] = cell[0]
    return rows


@pytest.mark.slow  # a scoring server of a logged model
@pytest.mark.parametrize(("columns", "rows", "line"), [
    (PIXELS, pixel_rows(float("nan")), "request: row 2, column 'pixel5': nan is not a finite "
                                       "number"),
    (PIXELS, pixel_rows("five", row=2), "request: row 3, column 'pixel5': 'five' is not a "
                                        "finite number"),
    (PIXELS, pixel_rows(None, row=0, column=0), "request: row 1, column 'pixel0': nan is not "
                                                "a finite number"),  # JSON's null
    (PIXELS[:-1], [r[:-1] for r in pixel_rows()], "request: no column 'pixel63'"),
    (PIXELS[2:], [r[2:] for r in pixel_rows()], "request: no columns 'pixel0', 'pixel1'"),
])
def test_a_bad_request_is_a_400_of_seqlab_s_one_line(scoring, columns, rows, line):
    """NaN, a string where a number is needed and a missing column alike: the row and
    column named, never MLflow's schema message or a dump of the request's table."""
    status, answer = scoring({"dataframe_split": {"columns": columns, "data": rows}})
    assert (status, answer["message"]) == (400, line)
    assert answer["error_code"] == "INVALID_PARAMETER_VALUE"
    good, answered = scoring({"dataframe_split": {"columns": PIXELS, "data": pixel_rows()}})
    assert good == 200 and len(answered["predictions"]) == 3


@pytest.mark.slow  # serve processes
@pytest.mark.parametrize("model", ["0123456789abcdef0123456789abcdef",
                                   "models:/seqlab-many_to_one@best-nope"])
def test_serving_a_model_not_in_the_store_is_one_line_before_the_server(logged, model):
    from tests.conftest import run_module

    _, uri, _, tmp = logged
    done = run_module("seqlab.predict.serve", model, "--port", str(free_port()),
                      env={**os.environ, "MLFLOW_TRACKING_URI": uri}, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    shown = model if model.startswith("models:/") else f"runs:/{model}/model"
    assert done.stderr.splitlines() == [
        f"seqlab: error: MODEL: no model {shown} in the MLflow store {uri} ("
        + ("Run with id=0123456789abcdef0123456789abcdef not found" if shown.startswith("runs")
           else "Registered model alias best-nope not found.")
        + "); give a run id, runs:/<id>/model or models:/<name>@<alias>"]


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


@pytest.mark.slow  # training and upload processes
def test_upload_to_a_store_that_lost_the_run_makes_a_new_one_with_its_tags(logged, tmp_path):
    """A store reset (here: another, empty store): the kept record becomes a new FINISHED
    run with the same config and lineage tags, its metrics, epochs and model."""
    import shutil
    import sys

    _, uri, out, _ = logged
    copy = tmp_path / "run"
    shutil.copytree(out, copy)
    new_store = f"sqlite:///{tmp_path}/new.db"
    env = {**os.environ, "MLFLOW_TRACKING_URI": new_store, "SEQLAB_ROOT": str(tmp_path),
           "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "seqlab.upload", str(copy)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith(f"uploaded {copy} to a new run (the store had lost the old one): ")
    run_id = last.rsplit(" ", 1)[1]
    client = MlflowClient(new_store)
    run, old = client.get_run(run_id), MlflowClient(uri).get_run(logged[0])
    assert run.info.status == "FINISHED"
    for tag in ("dataset", "archetype", "model", "seed", "data.sha256", "entry"):
        assert run.data.tags[tag] == old.data.tags[tag], tag
    assert run.data.metrics["test/acc"] == old.data.metrics["test/acc"]
    assert json.loads((copy / "model" / "run.json").read_text())["run_id"] == run_id

    # A search trial's record holds its validation alone (no test score): sent as it is.
    record = json.loads((out / "metrics.json").read_text())
    trial = {key: record[key] for key in ("archetype", "task", "dataset", "model", "cell",
                                          "entry", "selection")}
    (copy / "metrics.json").write_text(json.dumps(trial))
    (copy / "model" / "run.json").unlink()  # as the store lost it: a new run again
    done = subprocess.run([sys.executable, "-m", "seqlab.upload", str(copy)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    sent = client.get_run(done.stdout.strip().splitlines()[-1].rsplit(" ", 1)[1])
    assert sent.info.status == "FINISHED" and "test/acc" not in sent.data.metrics
    selected = f"selected/{record['selection']['metric']}"
    assert sent.data.metrics[selected] == pytest.approx(record["selection"]["value"])


def test_a_background_run_answers_each_call_with_its_own_answer(tmp_path, monkeypatch):
    """The DVC stages' tracker (a forked child): a call's answer is never dropped, however
    fast the child answers. It was: a non-blocking read after sending could take the
    answer and the call then returned None, so a store outage went unsaid (down() None)."""
    from seqlab.tracking.background import BackgroundRun, training_run

    monkeypatch.chdir(tmp_path)
    # The child is forked with this class: its run reports an outage from the start.
    monkeypatch.setattr(TrackedRun, "down", lambda self: "the store went away")
    cfg = compose(["experiment=course_ex1"])
    data_dir = data_folder(tmp_path / "elec_equip", course_ex1_meta())
    tracker = BackgroundRun(store(tmp_path))
    with training_run(tracker, cfg, tracker.tracking, data_dir, "many_to_one") as run:
        run.flush()  # opened, and the child idle: every answer from here on comes at once
        answers = []
        for _ in range(200):
            answers.append(run.down())
            run.set_tags({"x": "1"})  # an answer nobody waits for, in between
        assert answers == ["the store went away"] * 200


@pytest.mark.slow  # predict processes
def test_predict_by_run_id_finds_the_project_s_store_from_any_folder(logged, tmp_path,
                                                                     monkeypatch, capsys):
    """From a folder inside the project, or (the project this seqlab runs from) outside
    it; with no store to read, one line, and never a new empty mlflow.db in the folder."""
    import shutil

    from seqlab.errors import run_cli
    from seqlab.predict import trained
    from seqlab.predict.__main__ import main
    from tests.conftest import run_module

    run_id, uri, out, _ = logged
    project = tmp_path / "project"
    (project / "a" / "b").mkdir(parents=True)
    (project / "dvc.yaml").write_text("stages: {}\n")
    shutil.copy(uri[len("sqlite:///"):], project / "mlflow.db")  # artifacts: absolute URIs
    inputs = tmp_path / "pixels.csv"
    example(TrainedModel(folder_files(out)).meta).to_csv(inputs, index=False)
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    done = run_module("seqlab.predict", run_id, "--input", str(inputs), cwd=project / "a" / "b",
                      env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert pd.read_csv(io.StringIO(done.stdout)).columns[:2].tolist() == ["label", "probability"]
    assert list((project / "a").rglob("*")) == [project / "a" / "b"]

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setattr(trained, "installed_project", lambda: project)
    run_cli(lambda: main([run_id, "--input", str(inputs)]))
    assert capsys.readouterr().out.startswith("label,probability")
    monkeypatch.setattr(trained, "installed_project", lambda: tmp_path / "no-project")
    with pytest.raises(SystemExit) as exited:
        run_cli(lambda: main([run_id, "--input", str(inputs)]))
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        f"seqlab: error: MODEL: no MLflow store at {elsewhere / 'mlflow.db'} ({elsewhere} is "
        "not in a seqlab project: no dvc.yaml there or above); run from the project whose "
        "runs hold the model, or set MLFLOW_TRACKING_URI to its store, e.g. "
        "sqlite:////path/to/project/mlflow.db"]
    assert list(elsewhere.iterdir()) == []


@pytest.mark.slow  # a logged model
def test_a_run_logs_the_verdict_as_metrics_and_every_test_figure_as_a_table(logged):
    """The UI's columns are the few a person compares; the rest is one table artifact the
    UI shows as a table (its logged-artifacts tag), equal to metrics.json's figures."""
    from seqlab.tracking.columns import DETAIL_TABLE

    run_id, uri, out, _ = logged
    client = MlflowClient(uri)
    run = client.get_run(run_id)
    result = json.loads(next(out.rglob("metrics.json")).read_text())
    headline = result["headline"]
    assert headline["metric"] in run.data.metrics
    assert not [k for k in run.data.metrics if k.startswith("test/")
                and k != headline["metric"]]
    assert [k for k in run.data.metrics if k.startswith("baseline/")] == [
        f"baseline/{headline['baseline_name']}/{headline['metric'].split('/')[-1]}"]
    path = client.download_artifacts(run_id, DETAIL_TABLE, str(out.parent))
    table = json.loads(Path(path).read_text())
    rows = [dict(zip(table["columns"], row, strict=True)) for row in table["data"]]
    figures = {f"test/{r['metric']}": r["model"] for r in rows if r["part"] == "all"}
    assert figures == {k: v for k, v in result["test"].items() if k.count("/") == 1}
    assert {"path": DETAIL_TABLE, "type": "table"} in json.loads(
        run.data.tags["mlflow.loggedArtifacts"])
