"""Start-up cost: each stage imports only what it uses, and the profile command's table."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from seqlab.profile import COLUMNS
from tests.conftest import REPO, run_module

# Seconds of import each (whole process): what a stage that does not need them must skip.
LIGHTNING = {"pytorch_lightning", "lightning_fabric", "torchmetrics"}
HEAVY = LIGHTNING | {"torch", "mlflow", "matplotlib", "pandas", "sklearn", "scipy",
                     "statsmodels", "sqlalchemy"}
TINY = ["--set", "entries.course_ex1.optim.max_epochs=1",
        "--set", "tracking.log_model=false"]


def imported_by(code: str) -> set[str]:
    """The top-level packages a fresh interpreter holds after running `code`."""
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\n"
         "print(' '.join(sorted({m.partition('.')[0] for m in sys.modules})))"],
        capture_output=True, text=True, cwd=REPO, check=True)
    return set(done.stdout.split())


@pytest.mark.parametrize("stage", ["fetch", "preprocess", "train", "evaluate", "report"])
def test_importing_a_stage_imports_nothing_heavy(stage):
    assert not imported_by(f"import seqlab.stages.{stage}") & HEAVY


def test_train_help_imports_nothing_heavy():
    code = ("import runpy, sys\nsys.argv = ['seqlab.train', '--help']\ntry:\n"
            "    runpy.run_module('seqlab.train', run_name='__main__')\n"
            "except SystemExit:\n    pass")
    assert not imported_by(code) & HEAVY


@pytest.fixture(scope="module")
def profiled(tmp_path_factory):
    """The profile command on course_ex1, one epoch, tracked (no logged model), kept."""
    root = tmp_path_factory.mktemp("profiled")
    done = run_module("seqlab.profile", "stages", *TINY, "--keep", str(root))
    assert done.returncode == 0, done.stderr
    return root, done.stdout


@pytest.mark.slow  # the profile runs every stage
def test_the_profile_prints_every_phase_of_every_stage(profiled):
    _, shown = profiled
    lines = shown.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("stage"))
    assert lines[first].split() == ["stage", *COLUMNS]
    rows = {line.split()[0]: [float(v) for v in line.split()[-len(COLUMNS):]]
            for line in lines[first + 1 : first + 6]}
    assert set(rows) == {"fetch", "preprocess", "train", "evaluate", "report"}
    for seconds in rows.values():
        assert min(seconds) >= 0 and seconds[COLUMNS.index("total")] > 0, seconds
    assert lines[first + 6].startswith("train course_ex1: first optimiser step ")


def stage_modules(root, stage: str) -> set[str]:
    """The packages a stage of the profiled run imported, start to end."""
    return set(json.loads((root / "profile" / f"{stage}.json").read_text())["modules"])


@pytest.mark.slow  # the profile runs every stage
def test_stages_import_only_what_they_use(profiled):
    root, _ = profiled
    assert not stage_modules(root, "fetch-elec_equip") & (LIGHTNING | {"torch", "mlflow"})
    assert not stage_modules(root, "preprocess-elec_equip") & (HEAVY - {"pandas"})
    # MLflow runs in a child process: the evaluation itself never waits for its import.
    # A forecast's Holt-Winters and AutoETS are statsmodels' (which imports scipy and
    # pandas), its ridge on the window scikit-learn's: imported as they run, never at
    # start-up (test_importing_a_stage_imports_nothing_heavy).
    evaluate = stage_modules(root, "evaluate-course_ex1")
    assert not evaluate & (LIGHTNING | {"mlflow", "sqlalchemy"})
    assert {"matplotlib", "statsmodels", "sklearn"} <= evaluate  # figures, references
    assert "mlflow" not in stage_modules(root, "train-course_ex1")  # the child imports it


@pytest.mark.slow  # the profile runs every stage
def test_the_run_the_background_tracker_logged_is_complete(profiled):
    root, _ = profiled
    run_id = json.loads((root / "models" / "course_ex1" / "run.json").read_text())["run_id"]
    store = sqlite3.connect(root / "mlflow.db")
    (status,), = store.execute("select status from runs where run_uuid = ?", (run_id,))
    metrics = {key for (key,) in store.execute(
        "select distinct key from metrics where run_uuid = ?", (run_id,))}
    assert status == "FINISHED"
    assert {"train/loss", "test/mase", "baseline/auto_ets/mase"} <= metrics  # the strongest
