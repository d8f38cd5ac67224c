"""`dataset.task: auto` (issue 28): a numeric-target `.ts` file, or a CSV label column of
numbers, is a regression problem without a setting (said in one line); a few whole
numbers stay classes; a label that does not fit is one line naming the user's file and
line, never seqlab's copy of it; a CSV whose dates have no header finds them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from seqlab.config import instantiate
from seqlab.errors import ConfigError, DataError
from seqlab.layout import DataFolders
from seqlab.preparation import prepare_data
from tests.conftest import tiny

HEADER = ("@problemName spectra\n@timeStamps false\n@univariate true\n@equalLength true\n"
          "@seriesLength 5\n@targetLabel true\n@data\n")  # the cases start at line 8
REGRESSION_LINE = ("@targetLabel true with numeric targets: a regression problem "
                   "(dataset.task=classification to treat the targets as classes)")


def write_ts(path: Path, targets: list[str]) -> Path:
    rng = np.random.default_rng(0)
    rows = [",".join(f"{v:.3f}" for v in rng.normal(size=5)) + f":{t}" for t in targets]
    path.write_text(HEADER + "\n".join(rows) + "\n")
    return path


def config(kind: str, path: Path, *overrides: str):
    return tiny("experiment=japanese_vowels", f"dataset={kind}", f"dataset.path={path}",
                *overrides)


def prepared_meta(cfg, cache: Path) -> dict:
    """What `python -m seqlab.train` prepares in data/cache: the meta.json of the arrays."""
    folder = prepare_data(cfg.dataset, DataFolders(cache / "raw", cache / "processed"))
    return json.loads((folder / "meta.json").read_text())


@pytest.fixture(scope="module")
def spectra(tmp_path_factory) -> Path:
    """30 spectra, each with a percentage: numbers with a fractional part."""
    targets = [f"{10 + 0.7 * i:.1f}" for i in range(30)]
    return write_ts(tmp_path_factory.mktemp("own") / "spectra.ts", targets)


def test_a_numeric_target_ts_file_is_regression_with_only_its_path(spectra, tmp_path,
                                                                    capsys):
    cfg = config("ts_file", spectra)
    assert instantiate(cfg.dataset, "dataset").trained_task == "sequence_regression"
    assert prepared_meta(cfg, tmp_path / "cache")["task"] == "sequence_regression"
    said = capsys.readouterr().err.splitlines()
    assert said == [f"seqlab: {spectra}: {REGRESSION_LINE}"]


def test_dataset_task_classification_treats_the_targets_as_classes(tmp_path, capsys):
    path = write_ts(tmp_path / "grades.ts", ["1.5", "2.5"] * 10)
    meta = prepared_meta(config("ts_file", path, "dataset.task=classification"),
                         tmp_path / "cache")
    assert meta["task"] == "classification" and meta["classes"] == ["1.5", "2.5"]
    assert capsys.readouterr().err == ""  # the user's choice: nothing to say
    regression = prepared_meta(config("ts_file", path, "dataset.task=regression"),
                               tmp_path / "cache")
    assert regression["task"] == "sequence_regression"


def long_csv(path: Path, label: Callable[[int], object]) -> Path:
    rng = np.random.default_rng(1)
    rows = [f"s{case},{rng.normal():.3f},{label(case)}" for case in range(30)
            for _ in range(4)]
    path.write_text("id,value,label\n" + "\n".join(rows) + "\n")
    return path


def test_whole_number_labels_in_a_csv_stay_classes_and_fractions_are_values(tmp_path,
                                                                           capsys):
    digits = long_csv(tmp_path / "digits.csv", lambda case: case % 3)
    meta = prepared_meta(config("csv_sequences", digits), tmp_path / "cache")
    assert meta["task"] == "classification" and meta["classes"] == ["0", "1", "2"]
    assert capsys.readouterr().err.splitlines() == [
        f"seqlab: {digits}: label column 'label' holds 3 distinct whole numbers: classes "
        "(dataset.task=regression to predict them as numbers)"]
    sizes = long_csv(tmp_path / "sizes.csv", lambda case: f"{case * 0.37:.2f}")
    meta = prepared_meta(config("csv_sequences", sizes), tmp_path / "cache")
    assert meta["task"] == "sequence_regression"
    assert capsys.readouterr().err.splitlines() == [
        f"seqlab: {sizes}: label column 'label' holds numbers with a fractional part: a "
        "regression problem (dataset.task=classification to treat them as classes)"]
    # Many distinct whole numbers (an age, a count) are values too.
    counts = long_csv(tmp_path / "counts.csv", lambda case: case * 3)
    assert prepared_meta(config("csv_sequences", counts),
                         tmp_path / "cache")["task"] == "sequence_regression"


def test_a_label_that_does_not_fit_names_the_users_file_and_line(tmp_path):
    """Read from the copy in the run cache, named as the user gave it."""
    cache = tmp_path / "cache"
    targets = [f"{10 + 0.7 * i:.1f}" for i in range(30)]
    targets[7] = "abc"  # case 8: line 15
    bad = write_ts(tmp_path / "bad.ts", targets)
    with pytest.raises(DataError) as caught:
        prepared_meta(config("ts_file", bad), cache)
    message = str(caught.value)
    assert message.startswith(f"{bad}: case 8 (line 15): label 'abc' is not a number")
    assert str(cache) not in message and "\n" not in message
    # A class too rare to split names its line; a reader's error names the user's file.
    rare = write_ts(tmp_path / "rare.ts", ["1.5"] * 9 + ["2.5"])
    with pytest.raises(DataError, match=r"case 10 \(line 17\): class '2.5' has only 1"):
        prepared_meta(config("ts_file", rare, "dataset.task=classification"), cache)
    text = long_csv(tmp_path / "oops.csv", lambda case: case % 2)
    text.write_text(text.read_text().replace("s2,", "s2,oops-", 1))
    with pytest.raises(DataError) as caught:
        prepared_meta(config("csv_sequences", text), cache)
    assert str(caught.value).startswith(f"{text}: line 10, column 'value': 'oops-")
    assert str(cache) not in str(caught.value)


def test_the_task_setting_takes_auto_null_or_a_task_and_refuses_others(spectra):
    assert instantiate(config("ts_file", spectra, "dataset.task=null").dataset,
                       "dataset").task == "auto"
    with pytest.raises(ConfigError) as caught:
        instantiate(config("ts_file", spectra, "dataset.task=numbers").dataset, "dataset")
    assert "task: 'numbers' is not one of: auto, classification, regression" in str(
        caught.value) and "\n" not in str(caught.value)


def test_a_csv_whose_dates_have_no_header_finds_them(tmp_path, capsys):
    from seqlab.data.user_files import copy_into

    path = tmp_path / "sales.csv"
    path.write_text(",value\n" + "".join(f"2020-{m:02d}-01,{m * 1.5}\n" for m in range(1, 13)))
    spec = instantiate(tiny("experiment=course_ex1", "dataset=csv_series",
                            f"dataset.path={path}").dataset, "dataset")
    raw = tmp_path / "raw"
    raw.mkdir()
    copy_into(path, raw)
    frame = spec.read(raw)
    assert len(frame) == 12 and str(frame["date"].iloc[0].date()) == "2020-01-01"
    assert capsys.readouterr().err.splitlines() == [
        f"seqlab: {path}: no column 'date' and the first column has no header: read as the "
        "dates (name it in the file, or give dataset.date_column)"]


def test_a_numeric_target_ts_file_trains_as_regression(spectra, tmp_path, run, one_thread):
    cfg = config("ts_file", spectra, "optim.max_epochs=1", "model.hidden_size=8")
    result = run(cfg, tmp_path / "run")
    assert result["headline"]["metric"] == "test/rmse_original"  # in the target's units
    assert np.isfinite(result["test"]["test/mae_original"])


def test_a_missing_copy_is_named_as_the_copy(spectra, tmp_path):
    """The one error about seqlab's copy itself keeps the copy's path."""
    from seqlab.preparation import preprocess

    folders = DataFolders(tmp_path / "raw", tmp_path / "processed")
    with pytest.raises(DataError) as caught:
        preprocess(config("ts_file", spectra).dataset, folders)
    assert str(caught.value).startswith(f"{tmp_path / 'raw' / 'ts_file' / 'spectra.ts'} is "
                                        "missing; run the fetch stage")
