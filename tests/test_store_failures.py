"""An outage is an outage: only a store that cannot be reached takes the outage path (the
record kept, sent later). Any other error in a store call is a bug: one line that says
so, the run FAILED with its reason, the record on disk kept, and an upload that says
in one line why it would fail alike.
"""

from __future__ import annotations

import http.server
import os
import socket
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from seqlab.config import compose
from seqlab.errors import StoreOutage, TrackingBug
from seqlab.tracking.failures import check_landed, outage_reason
from seqlab.tracking.run import TrackedRun
from seqlab.tracking.store import Tracking
from tests.conftest import REPO
from tests.test_tracking import course_ex1_meta, data_folder, store

# The slow tier: training processes against stores that fail.
pytestmark = pytest.mark.slow

# The serving example seqlab writes for a model, made one its own input check refuses
# (as a half-hourly series' bare-date midnight was): a bug in a store call, log_model's.
BROKEN_EXAMPLE = """
import runpy, sys
from seqlab.predict import inputs

real = inputs.example

def example(meta):
    frame = real(meta).astype(object)
    frame.iloc[0, -1] = "seven"
    return frame

inputs.example = example
module = sys.argv[1]
sys.argv = [module, *sys.argv[2:]]
runpy.run_module(module, run_name="__main__", alter_sys=True)
"""


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def tracking(tmp_path_factory) -> Tracking:
    """One SQLite store for the module's in-process runs (a new one takes seconds)."""
    return store(tmp_path_factory.mktemp("store"))


@pytest.fixture
def answering(monkeypatch):
    """A real HTTP server that answers every request with `answering.code` (no retries:
    MLflow's client gives up at the first answer)."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(Handler.code)
            self.end_headers()
            self.wfile.write(b"not json")

        do_POST = do_GET

        def log_message(self, *args) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Handler.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield Handler
    server.shutdown()


def raised(call) -> BaseException:
    try:
        call()
    except Exception as error:
        return error
    raise AssertionError("no error")


# -- the classifier, on real errors ----------------------------------------------------

def test_a_store_not_reached_is_an_outage(monkeypatch, tmp_path):
    import requests
    import sqlalchemy

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    port = closed_port()
    mlflow_refused = raised(lambda: MlflowClient(f"http://127.0.0.1:{port}").get_run("x"))
    assert isinstance(mlflow_refused, MlflowException)
    assert outage_reason(mlflow_refused) == "connection refused"
    assert outage_reason(raised(lambda: requests.get(f"http://127.0.0.1:{port}/"))) == \
        "connection refused"
    assert outage_reason(requests.ConnectionError("reset")) == "connection failed"
    assert outage_reason(requests.Timeout()) == "no answer in time"
    assert outage_reason(TimeoutError("timed out")) == "no answer in time"

    # A SQLite store whose lock outlasts its wait, as sqlite3 and SQLAlchemy say it.
    db = tmp_path / "store.db"
    holder = sqlite3.connect(db, timeout=0.05)
    holder.execute("create table t (x)")
    holder.commit()
    holder.execute("begin exclusive")
    locked = raised(lambda: sqlite3.connect(db, timeout=0.05).execute(
        "insert into t values (1)"))
    assert outage_reason(locked) == "its database stayed locked"
    engine = sqlalchemy.create_engine(f"sqlite:///{db}", connect_args={"timeout": 0.05})

    def insert() -> None:
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text("insert into t values (1)"))

    wrapped = raised(insert)
    assert isinstance(wrapped, sqlalchemy.exc.OperationalError)
    assert outage_reason(wrapped) == "its database stayed locked"
    # MLflow's own wrapper of it (the SQL store's), and its text alone, with nothing behind.
    try:
        raise MlflowException(str(wrapped)) from wrapped
    except MlflowException as error:
        assert outage_reason(error) == "its database stayed locked"
    assert outage_reason(MlflowException("API request to http://h/api failed with "
                                         "exception Max retries exceeded")) == "no answer"
    holder.rollback()


def test_a_server_answering_5xx_is_an_outage_4xx_a_bug(answering):
    answering.code = 503
    unavailable = raised(lambda: MlflowClient(answering.url).get_run("x"))
    assert outage_reason(unavailable) == "it answered 503"
    answering.code = 400
    refused = raised(lambda: MlflowClient(answering.url).get_run("x"))
    assert isinstance(refused, MlflowException) and "400" in str(refused)
    assert outage_reason(refused) is None


def test_any_other_error_is_a_bug(tmp_path):
    import sqlalchemy

    assert outage_reason(ValueError("input: line 13: '2021-05-07' is not a date")) is None
    assert outage_reason(MlflowException("Invalid value for parameter 'key'")) is None
    assert outage_reason(FileNotFoundError(2, "No such file", "model.pt")) is None
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'other.db'}")

    def select() -> None:
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text("select * from nowhere"))

    assert outage_reason(raised(select)) is None  # no such table: an OperationalError too


# -- what a run does with each ---------------------------------------------------------

def test_a_store_that_refuses_a_call_ends_the_run_failed_with_one_line(tmp_path, monkeypatch,
                                                                     tracking):
    """The DVC stages' run (a forked child) and the in-process one alike: a call the real
    store refuses (an invalid tag name) is no outage: the rest is logged, the run ends
    FAILED with the reason, and the line names the folder that keeps the record."""
    from seqlab.tracking.background import BackgroundRun, training_run
    from seqlab.tracking.run import tracked_run

    monkeypatch.chdir(tmp_path)
    cfg = compose(["experiment=course_ex1"])
    data_dir = data_folder(tmp_path / "elec_equip", course_ex1_meta())
    kept = tmp_path / "kept"
    opened = {"background": lambda: training_run(BackgroundRun(tracking), cfg, tracking,
                                                 data_dir, "many_to_one"),
              "in process": lambda: tracked_run(cfg, tracking, data_dir, "many_to_one")}
    for how, open_run in opened.items():
        with pytest.raises(TrackingBug) as caught, open_run() as run:
            run.set_tags({"bad!key": "1"})
            run.log_metrics({"test/mse": 0.5})  # still sent: the store answers
            check_landed(run, kept)
        line = str(caught.value)
        assert line == (
            "logging tags failed (MlflowException: Invalid value \"bad!key\" for parameter "
            "'tags[0].key' supplied: Names may only contain alphanumerics, underscores (_), "
            "dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).): an error in "
            "seqlab or MLflow, not an outage of the MLflow store "
            f"{tracking.resolved_uri()} (sending it again fails alike); the run is marked "
            f"FAILED and its record is kept in {kept}"), how
        found = MlflowClient(tracking.resolved_uri()).get_run(run.run_id)
        assert found.info.status == "FAILED", how
        assert found.data.tags["seqlab.error"].startswith(
            "logging tags failed: MlflowException: Invalid value \"bad!key\""), how
        assert found.data.metrics["test/mse"] == 0.5, how
        run_id = found.info.run_id
        invalid = raised(lambda: MlflowClient(tracking.resolved_uri()).set_tag(
            run_id, "bad!key", "1"))  # the store's own refusal: a bug  # noqa: B023
        assert isinstance(invalid, MlflowException) and outage_reason(invalid) is None


def test_a_store_not_reached_ends_with_the_outage_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    uri = f"http://127.0.0.1:{closed_port()}"
    run = TrackedRun(Tracking(uri=uri), "0" * 32, "many_to_one")
    run.set_tags({"x": "1"})
    run.log_metrics({"test/mse": 0.5})  # skipped: the store is down
    assert run.refusal() is None
    with pytest.raises(StoreOutage) as caught:
        check_landed(run, tmp_path)
    assert str(caught.value) == (
        f"the MLflow store {uri} stopped answering (connection refused); the run's record "
        f"is kept in {tmp_path}: send it with `python -m seqlab.upload "
        f"{tmp_path}` once the store answers again")
    assert capsys.readouterr().err.strip().splitlines() == [
        f"seqlab: the MLflow store {uri} failed (connection refused); training goes on, "
        "nothing more is sent to it"]


# -- the case, as a user meets it ------------------------------------------------

def broken(module: str, root: Path, *args: str) -> subprocess.CompletedProcess:
    """`python -m module args` with the broken serving example."""
    env = {**os.environ, "SEQLAB_ROOT": str(root), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-c", BROKEN_EXAMPLE, module, *args], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def refused_model(tmp_path_factory):
    """A one-batch course_ex1 training whose log_model fails seqlab's own input check:
    (the finished process, store URI, output folder, project folder)."""
    root = tmp_path_factory.mktemp("refused")
    uri = f"sqlite:///{root}/mlflow.db"
    out = root / "outputs" / "refused"
    done = broken("seqlab.train", root, "experiment=course_ex1", "debug=one_batch",
                  "trainer=cpu", "trainer.progress_bar=false",
                  f"tracking.uri={uri}", f"tracking.artifact_root={root}/mlartifacts",
                  f"hydra.run.dir={out}")
    return done, uri, out, root


def only_run(uri: str):
    client = MlflowClient(uri)
    (found,) = client.search_runs([e.experiment_id for e in client.search_experiments()])
    return found


def refused_line(stderr: str, uri: str, kept: Path) -> str:
    """The one error line, checked against the words around the reason (seqlab's input
    check's own words, tested where they are made)."""
    lines = [line for line in stderr.splitlines()  # errors and warnings, not notes
             if line.startswith(("seqlab: error:", "seqlab: warning:"))]
    assert len(lines) == 1, stderr[-3000:]
    (line,) = lines
    assert line.startswith("seqlab: error: logging the model failed (DataError: "), line
    assert line.endswith(
        f"): an error in seqlab or MLflow, not an outage of the MLflow store {uri} (sending "
        f"it again fails alike); the run is marked FAILED and its record is kept in {kept}")
    assert "seven" in line and "stopped answering" not in line
    return line


def test_a_bug_in_log_model_is_one_line_and_the_run_failed_with_the_record_kept(
        refused_model):
    done, uri, out, root = refused_model
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    line = refused_line(done.stderr, uri, out)
    found = only_run(uri)
    assert found.info.status == "FAILED"
    reason = line.removeprefix("seqlab: error: logging the model failed (").split(
        "): an error in seqlab", 1)[0]
    assert found.data.tags["seqlab.error"] == f"logging the model failed: {reason}"
    for kept in ("model/model.pt", "model/meta.json", "model/run.json", "metrics.json"):
        assert (out / kept).is_file(), kept
    assert "test/mase" in found.data.metrics  # everything else landed
    # The next start finds no live run of a dead process: it stays FAILED, not KILLED.
    from seqlab.tracking.run import mark_dead_runs_killed

    assert mark_dead_runs_killed(Tracking(uri=uri)) == []


def test_upload_of_a_record_that_would_fail_alike_says_why_in_one_line(refused_model):
    done, uri, out, root = refused_model
    again = broken("seqlab.upload", root, str(out))
    assert again.returncode == 2, again.stderr[-3000:]
    assert "again later" not in again.stderr and "Traceback" not in again.stderr
    refused_line(again.stderr, uri, out)
    assert only_run(uri).info.status == "FAILED"


def test_the_report_run_carries_the_training_runs_lineage_tags(tmp_path, monkeypatch,
                                                               tracking):
    from seqlab.report.summary import log_report
    from seqlab.tracking import lineage

    monkeypatch.setenv("SEQLAB_ROOT", str(REPO))  # the project: its git commit
    cfg = compose(["experiment=course_ex1"])
    trained = TrackedRun.start(cfg, tracking, data_folder(tmp_path / "elec_equip",
                                                          course_ex1_meta()), "many_to_one")
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "summary.md").write_text("# report\n")
    report = MlflowClient(tracking.resolved_uri()).get_run(log_report(tracking, folder, 1))
    training = MlflowClient(tracking.resolved_uri()).get_run(trained.run_id)
    expected = lineage.lineage_tags(REPO)
    assert expected["git.commit"] != "unknown"
    for tag in ("git.commit", "git.dirty", "mlflow.source.git.commit", "version.mlflow",
                "version.torch", "version.seqlab"):
        assert report.data.tags[tag] == training.data.tags[tag] == expected[tag], tag
