"""Frequency-aware series defaults and forecasts that stay >= 0 (issue 28, items 1-2).

`dataset=csv_series` infers the seasonal period and the window from the dates unless
given, said in one line; a series whose training values are all >= 0 is forecast >= 0
(evaluation, its figure, predict and serving alike), unless `dataset.nonnegative=false`.
"""

from __future__ import annotations

import io
import json
import shutil
from contextlib import redirect_stderr
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from omegaconf import OmegaConf

from seqlab.config import compose, instantiate, validate
from seqlab.data.meta import Meta
from seqlab.data.processed import ProcessedData
from seqlab.data.user_files import copy_into
from seqlab.errors import ConfigError
from seqlab.evaluation.predict import batched
from seqlab.model_folder import files as folder_files
from seqlab.models.quantiles import point
from seqlab.pipeline import load_model
from seqlab.predict.answers import forecasts
from seqlab.predict.trained import TrainedModel
from seqlab.tasks import task_of
from tests.conftest import FAST, tiny

LINE = ("seqlab: {name} dates: dataset.seasonal_period={period}, dataset.window={window} "
        "(set either to change it)")
# frequency: (rows, how its dates are written, horizon, period, window). Windows by
# auto_window: max(period, 2 x horizon, 8), at most half the values before the test.
FREQUENCIES = {
    "yearly": (40, lambda d: d.strftime("%Y"), "YS", 1, 1, 8),
    "quarterly": (60, lambda d: d.strftime("%Y-%m-%d"), "QS", 1, 4, 8),
    "monthly": (72, lambda d: d.strftime("%Y %b"), "MS", 1, 12, 12),  # 1991 Jul
    "weekly": (160, lambda d: d.strftime("%Y-%m-%d"), "W-MON", 1, 52, 52),
    "daily": (120, lambda d: d.strftime("%Y-%m-%d"), "D", 1, 7, 8),
    "hourly": (240, lambda d: d.strftime("%Y-%m-%d %H:%M"), "h", 1, 24, 24),
    # a day ahead, as the half-hourly load: a window of two days
    "half-hourly": (384, lambda d: [x.isoformat() for x in d], "30min", 48, 48, 96),
    "quarter-hourly": (576, lambda d: d.strftime("%Y-%m-%dT%H:%M"), "15min", 1, 96, 96),
}


def series_csv(path: Path, rows: int, freq: str, write=lambda d: d.strftime("%Y-%m-%d"),
               values: np.ndarray | None = None) -> Path:
    """A positive seasonal series of `rows` dates at `freq`, as a user's CSV."""
    dates = pd.date_range("2001-01-01", periods=rows, freq=freq,
                          tz="UTC" if freq == "30min" else None)
    if values is None:
        values = 50 + 10 * np.sin(np.arange(rows) / 3) + np.arange(rows) % 5
    pd.DataFrame({"when": write(dates), "amount": np.round(values, 3)}).to_csv(
        path, index=False)
    return path


@pytest.fixture(scope="module")
def base():
    """csv_series composed once (Hydra's compose is the slow part); each test sets its
    file and settings."""
    return compose(["experiment=course_ex1", "dataset=csv_series", "dataset.path=x.csv",
                    "dataset.date_column=when", "dataset.value_column=amount", *FAST])


def preprocess(base, tmp_path: Path, path: Path, **settings) -> ProcessedData:
    """What the fetch and preprocess stages do with `dataset.<key>=<value>` settings."""
    node = OmegaConf.merge(base.dataset, {"path": str(path), **settings})
    raw = tmp_path / "raw"
    raw.mkdir(exist_ok=True)
    copy_into(path, raw)
    return instantiate(node, "dataset").preprocess(raw)


@pytest.mark.parametrize("name", sorted(FREQUENCIES))
def test_each_frequency_gets_its_period_and_a_window_from_it(base, tmp_path, capsys, name):
    rows, write, freq, horizon, period, window = FREQUENCIES[name]
    path = series_csv(tmp_path / f"{name}.csv", rows, freq, write)
    data = preprocess(base, tmp_path, path, horizon=horizon)
    assert data.meta.seasonal_period == period  # what MASE, seasonal naive, HW read
    assert data.meta.raw["window"] == window and data.inputs.shape[1] == window
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [LINE.format(name=name, period=period, window=window)]


def test_the_users_numbers_win(base, tmp_path, capsys):
    path = series_csv(tmp_path / "monthly.csv", 72, "MS")
    data = preprocess(base, tmp_path, path, seasonal_period=6)  # the window follows it
    assert (data.meta.seasonal_period, data.inputs.shape[1]) == (6, 8)
    assert capsys.readouterr().err.strip() == LINE.format(name="monthly", period=6, window=8)
    data = preprocess(base, tmp_path, path, window=5)
    assert (data.meta.seasonal_period, data.inputs.shape[1]) == (12, 5)
    assert capsys.readouterr().err.strip() == LINE.format(name="monthly", period=12, window=5)
    data = preprocess(base, tmp_path, path, window=5, seasonal_period=3)
    assert (data.meta.seasonal_period, data.inputs.shape[1]) == (3, 5)
    assert capsys.readouterr().err == ""  # nothing inferred: nothing said


def test_a_short_series_caps_the_window_at_half_its_training_values(base, tmp_path, capsys):
    path = series_csv(tmp_path / "weekly.csv", 60, "W-SUN")  # 48 weeks before the test
    assert preprocess(base, tmp_path, path).inputs.shape[1] == 24
    assert ("dataset.window=24, capped at half the training values"
            in capsys.readouterr().err)


@pytest.mark.parametrize(("key", "value", "takes"), [
    ("seasonal_period", "banana", "a whole number or auto"),
    ("window", "banana", "a whole number or auto"),
    ("window", "1.5", "a whole number or auto"),
    ("nonnegative", "maybe", "true or false or auto"),
])
def test_garbage_in_an_auto_key_is_one_line(key, value, takes):
    with pytest.raises(ConfigError, match=f"dataset.{key}: expected {takes}") as caught:
        validate(compose(["dataset=csv_series", "dataset.path=README.md",
                          f"dataset.{key}={value}"]))
    assert "\n" not in str(caught.value)


def test_the_shipped_series_keep_their_numbers():
    spec = instantiate(tiny("experiment=course_ex1").dataset, "dataset")
    assert (spec.window, spec.seasonal_period, spec.nonnegative) == (12, 12, "auto")


# -- forecasts of a series that cannot go below 0 ------------------------------------------

def counts(rows: int = 96) -> np.ndarray:
    """Monthly counts that are mostly 0: an untrained net forecasts below it."""
    rng = np.random.default_rng(0)
    return np.where(rng.random(rows) < 0.6, 0, rng.integers(1, 9, rows)).astype(float)


def test_the_floor_holds_forecasts_and_quantiles_at_0_in_original_units():
    meta = Meta(name="s", task="regression", archetype="many_to_one", input_size=1,
                output_size=1, steps=4, scaler={"min": 2.0, "max": 12.0}, nonnegative=True)
    scaled = np.array([[[-0.5, -0.2, 0.3]], [[-0.1, 0.0, 0.9]]], dtype=np.float32)  # NxHxQ
    floored = meta.floor(scaled)
    assert floored.shape == scaled.shape and meta.unscale(floored).min() >= -1e-5
    np.testing.assert_allclose(meta.unscale(floored)[[2, 5]], [5.0, 11.0], rtol=1e-6)
    keys = SimpleNamespace(keys=pd.DataFrame({"date": ["2001-01-01"]}), steps=None)
    table = forecasts([torch.tensor([-0.4, -0.3, 0.5])], keys, meta, [0.1, 0.5, 0.9])
    assert table[["forecast", "q0.1", "q0.5", "q0.9"]].to_numpy().min() >= 0
    assert table["q0.9"].item() == pytest.approx(7.0)
    meta.nonnegative = False  # dataset.nonnegative=false: negatives stay
    assert forecasts([torch.tensor([-0.4])], keys, meta)["forecast"].item() == pytest.approx(-2)


@pytest.fixture(scope="module")
def count_run(tmp_path_factory, run, prepared):
    """One tiny run (an epoch) on a monthly count series."""
    folder = tmp_path_factory.mktemp("counts")
    path = series_csv(folder / "counts.csv", 96, "MS", values=counts())
    cfg = tiny("experiment=course_ex1", "dataset=csv_series", f"dataset.path={path}",
               "dataset.date_column=when", "dataset.value_column=amount",
               "optim.max_epochs=1", "model.hidden_size=4")
    said = io.StringIO()
    with redirect_stderr(said):
        result = run(cfg, folder / "run")
    return SimpleNamespace(cfg=cfg, out=folder / "run", result=result, path=path,
                           data=ProcessedData.load(prepared(cfg)), said=said.getvalue())


@pytest.mark.usefixtures("one_thread")
def test_a_count_series_is_forecast_at_0_or_above(count_run, tmp_path):
    data = count_run.data
    assert data.meta.nonnegative is True
    _, net = load_model(count_run.out / "model", data)
    raw = point(torch.cat(batched(net, data, "test")), net).numpy()
    assert data.meta.unscale(raw).min() < 0  # the net alone forecasts below 0 ...
    scored = task_of("regression").predict(net, data, "test")
    assert data.meta.unscale(scored).min() >= -1e-5  # ... evaluation clips it
    assert np.isfinite(count_run.result["test"]["test/mase"])
    # predict (and the served model, which answers through it) clips alike.
    table = pd.read_csv(count_run.path, dtype=str)
    model = TrainedModel(folder_files(count_run.out))
    window = data.meta.raw["window"]
    found = [model.predict(table.iloc[t - window : t])["forecast"].item()
             for t in data.extras["target_pos"][data.splits["test"]]]
    assert min(found) >= 0 and min(found) == pytest.approx(
        max(data.meta.unscale(scored).min(), 0), abs=1e-4)

    # dataset.nonnegative=false: the same net's negative forecasts stand.
    allowed = tmp_path / "model"
    shutil.copytree(count_run.out / "model", allowed)
    meta = json.loads((allowed / "meta.json").read_text())
    (allowed / "meta.json").write_text(json.dumps({**meta, "nonnegative": False}))
    negative = [TrainedModel(folder_files(allowed)).predict(
        table.iloc[t - window : t])["forecast"].item()
        for t in data.extras["target_pos"][data.splits["test"]]]
    assert min(negative) < 0


def test_nonnegative_false_and_a_negative_series_are_not_clipped(base, tmp_path):
    path = series_csv(tmp_path / "counts.csv", 96, "MS", values=counts())
    assert preprocess(base, tmp_path, path).meta.nonnegative is True
    assert preprocess(base, tmp_path, path, nonnegative=False).meta.nonnegative is False
    below = series_csv(tmp_path / "below.csv", 96, "MS", values=counts() - 1)
    assert preprocess(base, tmp_path, below).meta.nonnegative is False


def test_the_run_says_what_it_inferred_and_clips_in_one_line_each(count_run):
    lines = count_run.said.splitlines()
    assert lines.count(LINE.format(name="monthly", period=12, window=12)) == 1
    assert lines.count("seqlab: forecasts and quantiles are clipped at 0, as its training "
                       "values are all >= 0 (dataset.nonnegative=false allows negatives)") == 1
