"""`make compare`: the peers' folds and scale are seqlab's, and the table reads best first
(the peers themselves run in their own environment: compare/peers.py)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest

from seqlab import compare
from seqlab.data.series import naive_mae
from seqlab.errors import DataError


def peers():
    spec = importlib.util.spec_from_file_location("peers", compare.PEERS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # numpy only at import: statsforecast waits for main
    return module


def test_the_peers_forecast_from_seqlab_s_origins_and_score_on_its_scale():
    dates = [str(d)[:7] for d in pd.date_range("1949-01", "1960-12", freq="MS")]
    assert compare.fold_origins(dates) == ["1958-01", "1959-01", "1960-01"]
    assert peers().origins(len(dates), 12, 3) == [dates.index(o) for o in
                                                 compare.fold_origins(dates)]
    values = np.random.default_rng(0).normal(100, 10, 144).cumsum()
    for history in (values[:108], values[:5]):  # a season and more, and less than one
        assert peers().naive_mae(history, 12) == pytest.approx(naive_mae(history, 12))
    truth, forecast = values[108:120], values[108:120] + 2.0
    assert peers().mase(truth, forecast, values[:108], 12) == pytest.approx(
        2.0 / naive_mae(values[:108], 12))


def test_the_table_lists_every_system_best_mean_first():
    rows = [{"system": "net", "folds": [1.0, 2.0, 3.0], "seconds": 30.0},
            {"system": "reference", "folds": None, "mean": 0.5, "seconds": None},
            {"system": "peer", "folds": [3.0, 3.0, 3.0], "seconds": 0.25}]
    lines = compare.table(rows, ["1958-01", "1959-01", "1960-01"]).splitlines()
    assert lines[0] == ("| system | from 1958-01 | from 1959-01 | from 1960-01 | mean MASE "
                        "| wall s |")
    assert lines[2:] == ["| reference |  |  |  | 0.500 |  |",
                         "| net | 1.000 | 2.000 | 3.000 | 2.000 | 30.0 |",
                         "| peer | 3.000 | 3.000 | 3.000 | 3.000 | 0.2 |"]


def test_no_peers_environment_is_one_line(tmp_path):
    with pytest.raises(DataError, match="no peers' environment; `make compare` builds it"):
        compare.peer_rows(str(tmp_path / "missing" / "python"), tmp_path / "series.csv")


def test_the_kept_table_is_outside_the_folder_the_report_stage_replaces():
    """`dvc repro`'s report stage writes reports/ whole (seqlab.report.summary.write_report):
    a table kept there was deleted by the next `make run`."""
    from pathlib import Path

    assert not compare.OUT.is_relative_to(Path("reports"))
    assert compare.OUT.parent == compare.PEERS.parent.relative_to(compare.PEERS.parents[1])


def test_aeon_reads_the_two_files_seqlab_reads_and_the_table_says_what_cannot_run(
        monkeypatch):
    from seqlab.data.ts_file import shipped_file

    asked = []
    monkeypatch.setattr(compare, "peers", lambda python, *args: asked.append(args) or (
        '{"aeon ROCKET": {"accuracy": null, "seconds": 0.01},'
        ' "aeon 1-NN DTW": {"accuracy": 0.95, "seconds": 1.25}}'))
    found = compare.uea_peers("python", "JapaneseVowels")
    # The official files seqlab's uea dataset reads (seqlab.data.ts_file.UeaProblem).
    assert asked == [("classify", *(str(shipped_file("JapaneseVowels", f"JapaneseVowels_{part}.ts"))
                                    for part in ("TRAIN", "TEST")))]
    text = compare.uea_table({"JapaneseVowels": {
        "seqlab preset (bidirectional GRU)": (0.981, 18.4), **found}})
    assert text.splitlines()[0] == ("| problem | seqlab preset (bidirectional GRU) | "
                                    "aeon ROCKET | aeon 1-NN DTW |")
    assert text.splitlines()[2] == "| JapaneseVowels | 0.981 (18 s) | – | 0.950 (1.2 s) |"
