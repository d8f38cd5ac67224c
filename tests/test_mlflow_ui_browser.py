"""The MLflow UI a user opens, in a real browser (headless chromium, as scripts/ui_check.py
and `make ui-check` run it): run names that tell runs apart, the headline a column of the
one column set "Metrics", and a chart view of a few sections with the learning curves."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

# The slow tier: the MLflow UI in a headless browser.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def ui_check():
    spec = importlib.util.spec_from_file_location("ui_check", ROOT / "scripts" / "ui_check.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


def test_the_ui_shows_the_headline_and_the_curves_of_runs_named_apart(tmp_path, run):
    from seqlab.config import compose
    from seqlab.tracking.run import tracked_run
    from seqlab.tracking.store import Tracking
    from tests.test_mlflow_ui import data_folder

    check = ui_check()
    assert check.browser_path(), check.MISSING  # .ci/run installs it: never a skip
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    # One run trained as `make ui-check` trains it (in this process: no command line, so
    # no overrides in its name), one only opened and ended: a GRU beside the LSTM.
    run(compose(["experiment=course_ex1", "optim.max_epochs=1", "trainer=cpu",
                 "trainer.progress_bar=false", f"tracking.uri={uri}"]), tmp_path / "lstm")
    tracking = Tracking(uri=uri)
    with tracked_run(compose(["experiment=course_ex1", "model.cell=gru"]), tracking,
                     data_folder(tmp_path / "elec_equip"), "many_to_one"):
        pass
    names = ["elec_equip lstm", "elec_equip gru"]

    found = check.check_ui(tmp_path, "many_to_one", names[0], check.HEADLINE, tmp_path)

    assert check.problems(found, names, check.HEADLINE) == []
    # Per series, per step ahead, per fold and every baseline's figures are not columns.
    # One baseline column: the strongest's headline, whichever baseline that is.
    assert len({c for c in found.rendered if c.startswith("baseline/")}) == 1, found.rendered
    assert (tmp_path / "table.png").stat().st_size > 10_000
    assert (tmp_path / "charts.png").stat().st_size > 10_000


def test_the_check_fails_on_what_a_user_would_miss():
    """The check itself can fail: hundreds of columns, no headline, no curves."""
    check = ui_check()
    found = check.Findings(run_names=["a lstm"], column_sets=["Metrics (564)"],
                           columns=["baseline/naive/mse"], rendered=["baseline/naive/mse"],
                           sections={f"series/{k}": 3 for k in range(12)})
    wrong = check.problems(found, ["a lstm", "a gru"], "test/mse")
    assert len(wrong) == 5, wrong
