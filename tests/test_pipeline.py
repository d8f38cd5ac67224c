"""The real pipeline end to end: `dvc repro` in a temporary copy of the project.

The real config, shrunk to two epochs per entry, runs through the real DVC stages and
the real MLflow store; then the tests edit params.yaml (and the user's own CSV) as a
user would and check that DVC reruns exactly what depends on the change.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import copy_project, run_module
from tests.test_user_series import monthly_csv

pytestmark = pytest.mark.slow
# Two entries share elec_equip, one reads digits: enough to see what reruns after a change.
ENTRIES = ["course_ex1", "course_ex1_fc", "course_ex2"]
# And a user's own series, a file in the project (`dataset=csv_series`), beside them.
USER_ENTRY = "my_sales"
USER_CSV = Path("data") / "my_sales.csv"
SHRINK = ["optim.max_epochs=2", "optim.val_every_n_epochs=1", "trainer.progress_bar=false"]


GIT = ["git", "-c", "user.name=seqlab-test", "-c", "user.email=test@localhost"]


def dvc(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           # `dvc exp run` commits the experiment: git needs someone to name
           "GIT_AUTHOR_NAME": "seqlab-test", "GIT_AUTHOR_EMAIL": "test@localhost",
           "GIT_COMMITTER_NAME": "seqlab-test", "GIT_COMMITTER_EMAIL": "test@localhost"}
    done = subprocess.run([str(bin_dir / "dvc"), *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=900)
    if check and done.returncode != 0:
        raise AssertionError(f"dvc {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


def ran(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


def edit_params(root: Path, change) -> str:
    path = root / "params.yaml"
    before = path.read_text()
    params = yaml.safe_load(before)
    change(params)
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return before


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = copy_project(tmp_path_factory.mktemp("project"))
    (root / "data").mkdir(exist_ok=True)
    monthly_csv(root / USER_CSV)
    pipeline = yaml.safe_load((root / "conf" / "pipeline.yaml").read_text())
    pipeline["entries"][USER_ENTRY] = [
        "experiment=course_ex1", "dataset=csv_series", f"dataset.name={USER_ENTRY}",
        f"dataset.path={USER_CSV}", "dataset.date_column=Month", "dataset.value_column=Sales"]
    (root / "conf" / "pipeline.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    made = run_module("seqlab.params", *SHRINK, "--only", *ENTRIES, USER_ENTRY, cwd=root)
    assert made.returncode == 0, made.stderr
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@localhost", "commit",
                    "-qm", "shrink, and the user's own data"], cwd=root, check=True)
    initialised = run_module("seqlab.tracking.init", cwd=root)
    assert initialised.returncode == 0, initialised.stderr
    first = dvc(root, "repro")
    return root, first.stdout


def test_every_stage_runs_and_leaves_its_outputs(project):
    root, output = project
    params = yaml.safe_load((root / "params.yaml").read_text())
    entries = set(params["entries"])
    expected = ({f"fetch@{s}" for s in params["sources"]}
                | {f"preprocess@{d}" for d in params["datasets"]}
                | {f"{stage}@{e}" for stage in ("train", "evaluate") for e in entries}
                | {"report"})
    assert ran(output) == expected
    assert (root / "reports" / "summary.md").is_file()
    # The baselines' answers, kept for later runs beside the data (not a DVC output).
    assert list((root / "data" / "processed" / ".baselines").glob("*.pkl"))
    for entry in entries:
        assert (root / "models" / entry / "model.pt").is_file()
        assert (root / "plots" / entry / "history.csv").is_file()
        assert list((root / "plots" / entry / "figures").glob("*.png"))


def test_metrics_files_have_the_headline_shape(project):
    root, _ = project
    for entry in ENTRIES:
        # DVC's metrics file holds the headline alone; the details sit beside it.
        summary = json.loads((root / "metrics" / f"{entry}.json").read_text())
        assert set(summary) == {"metric", "value", "baseline", "verdict"}
        metrics = json.loads((root / "metrics" / "details" / f"{entry}.json").read_text())
        assert summary["value"] == metrics["headline"]["value"]
        assert metrics["archetype"] == "many_to_one"
        headline = metrics["headline"]
        assert set(headline) == {"metric", "value", "higher_is_better", "baseline",
                                 "baseline_name"}
        baselines = metrics["baselines"]
        if entry.startswith("course_ex1"):
            # The headline baseline is the strongest: on elec_equip, AutoETS (by a hair
            # over Holt-Winters).
            assert set(baselines) == {"naive", "seasonal_naive", "holt_winters",
                                      "ridge_window", "auto_ets"}
            assert set(metrics["baseline_info"]) == set(baselines)
            # Judged in MASE (the series' own scale), shown beside the scaled MSE.
            assert headline["metric"] == "test/mase"
            assert headline["baseline_name"] == "auto_ets"
            assert headline["baseline"] == min(b["mase"] for b in baselines.values())
            assert {"test/mse", "test/rmse_original"} <= set(metrics["test"])
            # No validation split (as in the course): the training loss chose the weights.
            assert metrics["selection"]["metric"] == "train/loss"
        else:  # digits: MiniRocket on the 64 pixel steps is the strongest (0.994 vs 1-NN 0.983)
            assert set(baselines) == {"majority", "nearest_neighbour", "nearest_neighbour_dtw",
                                      "minirocket_ridge"}
            assert headline["metric"] == "test/acc"
            assert headline["baseline_name"] == "minirocket_ridge"
            assert metrics["selection"]["metric"] == "val/acc"
        ratio = (f"{headline['value'] / headline['baseline']:.2f}x its error" if
                 entry.startswith("course_ex1") else
                 f"{abs(headline['value'] - headline['baseline']):.3g} ")
        assert re.fullmatch(rf"(beats|does not beat) {headline['baseline_name']} \(one seed; "
                            rf"{re.escape(ratio)}.*\)", summary["verdict"]), summary["verdict"]
    table = dvc(root, "metrics", "show").stdout  # a table that fits a terminal
    assert max(map(len, table.splitlines())) <= 120, table
    assert "verdict" in table


def test_runs_land_in_mlflow_with_params_metrics_lineage_and_artifacts(project):
    from mlflow.tracking import MlflowClient

    root, _ = project
    client = MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("many_to_one")
    runs = client.search_runs([experiment.experiment_id])
    by_entry = {run.data.tags["entry"]: run for run in runs}
    assert set(by_entry) == {*ENTRIES, USER_ENTRY}  # my_sales is course_ex1 on the CSV
    lock = yaml.safe_load((root / "dvc.lock").read_text())["stages"]
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                          text=True).stdout.strip()
    for entry, run in by_entry.items():
        assert run.info.status == "FINISHED"
        assert run.data.params["model.hidden_size" if entry != "course_ex1_fc"
                               else "model.hidden_sizes"]
        assert run.data.params["optim.max_epochs"] == "2"
        tags = run.data.tags
        assert tags["git.commit"] == head and tags["git.dirty"] in ("true", "false")
        dataset = run.data.params["dataset.name"]
        assert tags["data.dvc_md5"] == lock[f"preprocess@{dataset}"]["outs"][0]["md5"]
        assert tags["seed"] == "0" and tags["version.torch"]
        assert dataset in run.info.run_name
        history = client.get_metric_history(run.info.run_id, "train/loss")
        assert len(history) == 2  # one point per epoch
        assert any(k.startswith("test/") for k in run.data.metrics)
        assert any(k.startswith("baseline/") for k in run.data.metrics)
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert {"config.yaml", "figures"} <= artifacts
        figures = {a.path for a in client.list_artifacts(run.info.run_id, "figures")}
        assert "figures/learning_curves.png" in figures
        models = client.search_logged_models([experiment.experiment_id])
        assert any(m.source_run_id == run.info.run_id for m in models)


def test_second_repro_does_nothing(project):
    root, _ = project
    assert "Data and pipelines are up to date" in dvc(root, "status").stdout
    assert ran(dvc(root, "repro").stdout) == set()


def test_the_users_csv_is_versioned_and_a_change_to_it_reruns_its_entry(project):
    """The user's file is a dependency of its fetch stage: dvc.lock records its hash, and
    the MLflow run its lineage; when the user adds a year, `dvc repro` reruns its entry
    (and the report) alone."""
    from mlflow.tracking import MlflowClient

    from seqlab.tracking.lineage import file_sha256

    root, _ = project
    lock = yaml.safe_load((root / "dvc.lock").read_text())["stages"]
    assert str(USER_CSV) in {dep["path"] for dep in lock[f"fetch@{USER_ENTRY}"]["deps"]}
    # The user adds a year; the project stays so (up to date) for the tests that follow.
    monthly_csv(root / USER_CSV, months=84)
    assert ran(dvc(root, "repro").stdout) == {
        f"{stage}@{USER_ENTRY}" for stage in ("fetch", "preprocess", "train", "evaluate")
    } | {"report"}
    client = MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()],
                              f"tags.entry = '{USER_ENTRY}'")
    newest = max(runs, key=lambda r: r.info.start_time)
    assert newest.data.tags["data.file.sha256"] == file_sha256(root / USER_CSV)
    fetched = yaml.safe_load((root / "dvc.lock").read_text())["stages"][f"fetch@{USER_ENTRY}"]
    assert newest.data.tags["data.raw.dvc_md5"] == fetched["outs"][0]["md5"]


def test_a_model_change_reruns_its_entry_and_a_dvc_remote_carries_it_to_a_clone(project,
                                                                                 tmp_path):
    """`dvc push` to a remote folder, `git clone`, `dvc pull`: the clone's `dvc repro`
    reruns nothing (fetched data, models and plots all come from the remote). An
    experiment goes the same way: `dvc exp push` from the project, `dvc exp pull` and
    `dvc exp apply` in the clone, which then has its model without retraining.

    The experiment changes one entry's model: DVC reruns that entry alone (its train and
    evaluate stages) and the report, which reads every entry's metrics."""
    root, _ = project
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", str(origin)], check=True)
    dvc(root, "remote", "add", "-d", "storage", str(tmp_path / "remote"))
    subprocess.run([*GIT, "add", "-A"], cwd=root, check=True)
    subprocess.run([*GIT, "commit", "-qm", "results and a remote"], cwd=root, check=True)
    subprocess.run([*GIT, "remote", "add", "origin", str(origin)], cwd=root, check=True)
    subprocess.run([*GIT, "push", "-q", "origin", "HEAD:main"], cwd=root, check=True)
    dvc(root, "push")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "-b", "main", str(origin), str(clone)], check=True)
    dvc(clone, "pull")
    assert (clone / "models" / "course_ex1" / "model.pt").is_file()
    assert ran(dvc(clone, "repro").stdout) == set()

    try:
        # 9: not the preset's 6 (which would come back from the run cache)
        tried = dvc(root, "exp", "run", "-n", "hidden9", "-S",
                    "entries.course_ex1.model.hidden_size=9")
        assert ran(tried.stdout) == {"train@course_ex1", "evaluate@course_ex1", "report"}
        trained = (root / "models" / "course_ex1" / "model.pt").read_bytes()
        dvc(root, "exp", "push", "origin", "hidden9")
    finally:  # the project back at its commit, for the tests that follow
        subprocess.run([*GIT, "checkout", "-q", "--", "."], cwd=root, check=True)
        dvc(root, "checkout", "--force")
    dvc(clone, "exp", "pull", "origin", "hidden9")
    dvc(clone, "exp", "apply", "hidden9")
    assert yaml.safe_load((clone / "params.yaml").read_text())[
        "entries"]["course_ex1"]["model"]["hidden_size"] == 9
    assert (clone / "models" / "course_ex1" / "model.pt").read_bytes() == trained
    assert ran(dvc(clone, "repro").stdout) == set()


def test_dataset_change_reruns_what_reads_it_and_nothing_else(project):
    """A dataset setting reruns its preprocess stage, and then DVC finds changed exactly
    the stages that read its output (both entries on elec_equip, not course_ex2) and the
    report (which reads every dataset's framing). Their rerun is DVC's own doing; a model
    change reruns for real above."""
    root, _ = project

    def change(params):
        params["datasets"]["elec_equip"]["window"] = 6

    lock = (root / "dvc.lock").read_text()
    before = edit_params(root, change)
    try:
        assert ran(dvc(root, "repro", "preprocess@elec_equip").stdout) == {
            "preprocess@elec_equip"}
        status = json.loads(dvc(root, "status", "--json").stdout)
        assert set(status) == {"train@course_ex1", "evaluate@course_ex1",
                               "train@course_ex1_fc", "evaluate@course_ex1_fc", "report"}
    finally:  # the project as it was: params, lock and the preprocessed data
        (root / "params.yaml").write_text(before)
        (root / "dvc.lock").write_text(lock)
        dvc(root, "checkout", "--force", "preprocess@elec_equip")
    after = dvc(root, "status", "--json").stdout  # (other tests' params edits may show)
    assert "preprocess@elec_equip" not in after and "data/processed/elec_equip" not in after


def test_failing_stage_is_one_line_and_leaves_no_output(project):
    root, _ = project

    def change(params):
        params["datasets"]["elec_equip"]["window"] = 100000

    before = edit_params(root, change)
    try:
        failed = dvc(root, "repro", "preprocess@elec_equip", check=False)
        assert failed.returncode != 0
        message = [line for line in (failed.stdout + failed.stderr).splitlines()
                   if line.startswith("seqlab: error:")]
        assert message == ["seqlab: error: elec_equip: window 100000 is not shorter than the "
                           "series (257 points); use a smaller dataset.window"]
        assert "Traceback" not in failed.stdout + failed.stderr
        processed = root / "data" / "processed"
        assert not (processed / "elec_equip").exists()
        assert not [p for p in processed.glob(".elec_equip*") if p.suffix == ".tmp"]
    finally:  # the project as it was: params and the preprocessed data (from DVC's cache)
        (root / "params.yaml").write_text(before)
        dvc(root, "checkout", "--force", "preprocess@elec_equip")


def test_a_killed_train_stage_is_resumed_by_the_same_dvc_repro(project):
    """kill -9 of a training, then `dvc repro`: the same MLflow run continues from its
    checkpoint and logs each epoch once."""
    import signal
    import time

    from mlflow.tracking import MlflowClient

    root, _ = project

    # The fully connected net on elec_equip: its epochs take tens of milliseconds with a
    # checkpoint each, so sixty of them leave seconds to kill it between two.
    epochs = 60

    def longer(params):
        entry = params["entries"]["course_ex1_fc"]
        entry["optim"]["max_epochs"] = epochs
        entry["trainer"]["checkpoint_every_n_epochs"] = 1
        entry["trainer"]["checkpoint_every_minutes"] = None

    before = edit_params(root, longer)
    try:
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        stage = subprocess.Popen([sys.executable, "-m", "seqlab.stages.train", "course_ex1_fc"],
                                 cwd=root, env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 300
        while not list((root / "checkpoints").glob("course_ex1_fc-*/last.ckpt")):
            assert stage.poll() is None and time.monotonic() < deadline, stage.stderr.read()
            time.sleep(0.02)
        stage.send_signal(signal.SIGKILL)
        stage.wait(60)
        (folder,) = (root / "checkpoints").glob("course_ex1_fc-*")
        run_id = json.loads((folder / "run.json").read_text())["run_id"]
        assert ran(dvc(root, "repro", "evaluate@course_ex1_fc").stdout) == {
            "train@course_ex1_fc", "evaluate@course_ex1_fc"}
        client = MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
        run = client.get_run(run_id)
        assert run.info.status == "FINISHED" and "test/mase" in run.data.metrics
        steps = sorted(p.step for p in client.get_metric_history(run_id, "train/loss"))
        assert steps == list(range(1, epochs + 1))
        assert not folder.exists()
    finally:
        (root / "params.yaml").write_text(before)
