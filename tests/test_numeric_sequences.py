"""Numeric sequences from the user's files (csv_sequences, ts_file, npz_sequences) and the
UEA problems sktime ships (uea): good files become the same arrays, bad ones one line."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqlab.config import instantiate
from seqlab.data.numeric_sequences import IGNORE
from seqlab.data.sktime_data import shipped_file
from seqlab.data.sources import fetch
from seqlab.data.user_files import copy_into, own_files
from seqlab.errors import ConfigError, DataError
from tests.conftest import tiny


def dataset(kind: str, **settings):
    cfg = tiny("experiment=japanese_vowels", f"dataset={kind}",
               *(f"dataset.{k}={v}" for k, v in settings.items()))
    return instantiate(cfg.dataset, "dataset")


def preprocess(tmp_path: Path, kind: str, **settings):
    """What the fetch and preprocess stages do: copy the user's files, read the copies."""
    spec = dataset(kind, **settings)
    raw = tmp_path / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for path in own_files(spec):
        copy_into(path, raw)
    return spec.preprocess(raw)


@pytest.fixture(scope="module")
def basic_motions(tmp_path_factory):
    """BasicMotions (shipped with sktime) as its .ts files and as one long, shuffled CSV."""
    folder = tmp_path_factory.mktemp("basic_motions")
    rows = []
    for part in ("TRAIN", "TEST"):
        ts = shutil.copy(shipped_file("BasicMotions", f"BasicMotions_{part}.ts"), folder)
        from seqlab.data.ts_file import read_ts

        for case, (values, label) in enumerate(zip(*read_ts(Path(ts)), strict=True)):
            for step, row in enumerate(values):
                rows.append({"case": f"{part}{case}", "t": step, "activity": label,
                             "split": part.lower(), **{f"c{k}": v for k, v in enumerate(row)}})
    pd.DataFrame(rows).sample(frac=1, random_state=0).to_csv(folder / "motions.csv",
                                                             index=False)
    return folder


def long_csv(basic_motions: Path) -> dict[str, str]:
    return {"path": str(basic_motions / "motions.csv"), "id_column": "case",
            "step_column": "t", "label_column": "activity", "split_column": "split"}


def test_basic_motions_is_the_same_from_uea_ts_and_long_csv(tmp_path, basic_motions):
    shipped = dataset("uea", problem="BasicMotions").preprocess(
        fetch("uea_BasicMotions", tmp_path / "uea"))
    own_ts = preprocess(tmp_path / "ts", "ts_file",
                        path=basic_motions / "BasicMotions_TRAIN.ts",
                        test_path=basic_motions / "BasicMotions_TEST.ts")
    csv = preprocess(tmp_path / "csv", "csv_sequences", **long_csv(basic_motions))
    for data in (shipped, own_ts, csv):
        assert data.inputs.shape == (80, 100, 6) and data.meta.archetype == "many_to_one"
        assert data.meta.classes == ["badminton", "running", "standing", "walking"]
        assert [len(data.splits[s]) for s in ("train", "val", "test")] == [32, 8, 40]
        train = data.targets[data.splits["train"]]
        assert set(train) == set(data.targets[data.splits["val"]]) == {0, 1, 2, 3}
        fitted = data.inputs[data.splits["train"]].reshape(-1, 6)  # scaled on train only
        assert np.allclose(fitted.mean(0), 0, atol=1e-5)
        assert np.allclose(fitted.std(0), 1, atol=1e-4)
        assert abs(data.inputs[data.splits["test"]].reshape(-1, 6).mean(0)).max() > 1e-3
    assert np.array_equal(shipped.inputs, own_ts.inputs)
    # The CSV's rows are shuffled: the step column puts each case back in order.
    def raw(data, row):
        return data.inputs[row] * data.meta.raw["scale"] + data.meta.raw["shift"]

    assert any(np.allclose(raw(csv, csv.splits["test"][0]), raw(shipped, i), atol=1e-4)
               for i in shipped.splits["test"])


def test_csv_sequences_of_varying_length_without_a_split_column(tmp_path):
    rng = np.random.default_rng(0)
    rows = []
    for case in range(30):
        for step in range(3 + case % 5):
            label = "up" if case % 2 else "down"
            rows.append(f"s{case},{rng.normal():.4f},{rng.normal():.4f},{label},note{step}")
    path = tmp_path / "own.csv"
    path.write_text("id,a,b,label,comment\n" + "\n".join(rows) + "\n")
    data = preprocess(tmp_path, "csv_sequences", path=path)
    assert data.inputs.shape == (30, 7, 2)  # the text column is not a feature
    assert sorted(set(data.lengths)) == [3, 4, 5, 6, 7] and data.meta.variable_length
    assert len(data.splits["test"]) == 6  # test_fraction 0.2, stratified
    assert set(data.targets[data.splits["test"]]) == {0, 1}
    assert (data.inputs[0, data.lengths[0]:] == 0).all()  # padding


def test_a_label_that_changes_within_a_sequence_labels_every_step(tmp_path):
    rows = [f"{case},{step},{step * 0.1 + case},{'on' if step >= 2 else 'off'}"
            for case in range(12) for step in range(4 + case % 2)]
    path = tmp_path / "steps.csv"
    path.write_text("id,step,value,state\n" + "\n".join(rows) + "\n")
    spec = dataset("csv_sequences", path=path, step_column="step", label_column="state")
    assert spec.archetype == "synchronous"  # known before any work: the run's experiment
    data = preprocess(tmp_path, "csv_sequences", path=path, step_column="step",
                      label_column="state")
    assert data.meta.task == "tagging" and data.targets.shape == (12, 5)
    assert data.targets[0].tolist() == [0, 0, 1, 1, IGNORE]  # off off on on, padding


def test_regression_from_a_csv_and_an_npz_with_its_own_test_mask(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(20, 6, 2))
    np.savez(tmp_path / "own.npz", x=x, y=x[:, :, 0].sum(1), lengths=np.full(20, 5),
             test=np.arange(20) >= 15)
    data = preprocess(tmp_path, "npz_sequences", path=tmp_path / "own.npz", task="regression")
    assert data.meta.task == "sequence_regression" and data.targets.shape == (20, 1)
    assert data.splits["test"].tolist() == [15, 16, 17, 18, 19]
    assert data.inputs.shape == (20, 5, 2)  # lengths cut the padding the file had
    train = data.targets[data.splits["train"]]
    assert train.min() == 0 and train.max() == 1  # scaled by the training labels


def test_an_npz_with_a_label_per_step(tmp_path):
    y = np.tile([0, 0, 1, 1], (10, 1))
    np.savez(tmp_path / "steps.npz", x=np.random.default_rng(2).normal(size=(10, 4)), y=y)
    assert dataset("npz_sequences", path=tmp_path / "steps.npz").archetype == "synchronous"
    data = preprocess(tmp_path, "npz_sequences", path=tmp_path / "steps.npz", val_fraction=0)
    assert data.meta.task == "tagging" and data.inputs.shape == (10, 4, 1)


BAD_CSVS = {
    "a missing column names those found": (
        "id,value,label\na,1,x\n", {"label_column": "class"},
        "no column 'class'; the columns found are 'id', 'value', 'label'"),
    "a value that is not a number names its line": (
        "id,value,label\n" + "".join(f"s{i},{i},{'xy'[i % 2]}\n" for i in range(9))
        + "s9,oops,y\n", {"feature_columns": "[value]"},
        "line 11, column 'value': 'oops' is not a number"),
    "a label only in the test split": (
        "id,value,label,split\n" + "".join(f"s{i},{i},{'xy'[i % 2]},train\n" for i in range(8))
        + "s8,1,z,test\n", {"split_column": "split", "val_fraction": 0},
        "label 'z' (id 's8' (line 10)) is only in the test split"),
    "a step given twice": (
        "id,t,value,label\na,1,1,x\na,1,2,x\n", {"step_column": "t"},
        "line 3: id 'a' has step '1' twice"),
    "a sequence in both splits": (
        "id,value,label,split\na,1,x,train\na,2,x,test\n", {"split_column": "split"},
        "id 'a' has both train and test rows"),
    "a row without its id": ("id,value,label\na,1,x\n,2,x\n", {}, "line 3 has no 'id'"),
    "a class too rare to stratify": (
        "id,value,label\n" + "".join(f"s{i},{i},x\n" for i in range(9)) + "s9,1,y\n", {},
        "class 'y' has only 1 sequence(s) left for the test split"),
}


@pytest.mark.parametrize("problem", sorted(BAD_CSVS))
def test_a_bad_csv_is_one_line(tmp_path, problem):
    text, settings, expected = BAD_CSVS[problem]
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(DataError) as caught:
        preprocess(tmp_path, "csv_sequences", path=path, **settings)
    assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_bad_npz_and_ts_files_are_one_line(tmp_path):
    np.savez(tmp_path / "no_y.npz", x=np.zeros((3, 4)))
    np.savez(tmp_path / "short_y.npz", x=np.zeros((3, 4)), y=np.zeros(2))
    (tmp_path / "text.npz").write_text("not a zip")
    (tmp_path / "bad.ts").write_text("@problemName x\n@data\n1,2,3:a:b\n")
    for kind, name, expected in (
            ("npz_sequences", "no_y.npz", "no array 'y'; the arrays found are 'x'"),
            ("npz_sequences", "short_y.npz", "y has shape (2,)"),
            ("npz_sequences", "text.npz", "not a readable .npz"),
            ("ts_file", "bad.ts", "not a readable .ts file")):
        with pytest.raises(DataError) as caught:
            preprocess(tmp_path / f"run_{name}", kind, path=tmp_path / name)
        assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_settings_are_refused_before_any_work(tmp_path):
    with pytest.raises(ConfigError, match="no file 'nowhere.csv'"):
        dataset("csv_sequences", path="nowhere.csv")
    with pytest.raises(ConfigError, match="problem"):
        dataset("uea", problem="NoSuchProblem")


def test_a_number_per_sequence_trains_scores_and_predicts_from_raw_rows(tmp_path, run,
                                                                       one_thread):
    """task=regression end to end: metrics in the labels' units beside the mean and 1-NN
    baselines, and raw rows (an `id` per sequence) answered with a `value` each."""
    from seqlab.model_folder import files as folder_files
    from seqlab.predict.trained import TrainedModel

    rng = np.random.default_rng(3)
    x = rng.normal(size=(60, 8, 2))
    np.savez(tmp_path / "sums.npz", x=x, y=100 + 10 * x[:, :, 0].sum(1))
    cfg = tiny("experiment=japanese_vowels", "dataset=npz_sequences",
               f"dataset.path={tmp_path / 'sums.npz'}", "dataset.task=regression",
               "optim.max_epochs=3", "model.hidden_size=8")
    result = run(cfg, tmp_path / "run")
    assert result["headline"]["metric"] == "test/rmse_original"
    assert set(result["baselines"]) == {"mean", "nearest_neighbour", "ridge", "minirocket_ridge"}
    # The targets are a linear function of the sequence: ridge is the strongest reference.
    assert result["headline"]["baseline_name"] == "ridge"
    assert result["baseline_info"]["ridge"]["description"].startswith("ridge regression")
    assert result["baseline_info"]["ridge"]["seconds"] >= 0
    assert np.isfinite(result["test"]["test/mae_original"])
    model = TrainedModel(folder_files(tmp_path / "run"))
    rows = pd.DataFrame(model.meta.raw["example"])
    answers = model.predict(rows)
    assert list(answers.columns) == ["id", "value"] and len(answers) == 2
    assert 0 < answers["value"].mean() < 300  # in the labels' units, not scaled
