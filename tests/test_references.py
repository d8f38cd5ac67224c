"""The references a user would try first (ridge on the window, automatic ETS, ridge on a
sequence) learn from the training part alone and find a known answer: data they can fit
exactly. And a run's metrics file says what each baseline is and what it cost."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from seqlab.data.meta import Meta
from seqlab.data.processed import ProcessedData
from seqlab.evaluation import baselines, references
from tests.conftest import tiny


def windows(values: np.ndarray, window: int, horizon: int, first_test: int, period: int
            ) -> ProcessedData:
    """A one-series forecast as forecast.py frames it: windows of `window` lags (oldest
    first) to the next `horizon` values; training windows end before `first_test`."""
    positions = np.arange(window, len(values) - horizon + 1)
    target_pos = positions[:, None] + np.arange(horizon)
    rows = np.arange(len(positions))
    return ProcessedData(
        inputs=values[positions[:, None] + np.arange(-window, 0)][..., None].astype(np.float32),
        targets=values[target_pos].astype(np.float32),
        lengths=np.full(len(rows), window, dtype=np.int64),
        splits={"train": rows[target_pos[:, -1] < first_test],
                "val": np.zeros(0, dtype=np.int64), "test": rows[positions >= first_test]},
        meta=Meta(name="synthetic", task="regression", archetype="many_to_one", input_size=1,
                  output_size=horizon, steps=window, seasonal_period=period),
        extras={"series": values.astype(np.float32), "target_pos": target_pos})


def mse(data: ProcessedData, answers: np.ndarray) -> float:
    return float(np.mean((answers - data.targets[data.splits["test"]]) ** 2))


@pytest.fixture(scope="module")
def cycle() -> ProcessedData:
    """A pure season about a level (period 10), forecast 3 ahead from 4 lags: each value
    is a fixed linear function of the two before it (a sinusoid's recurrence)."""
    t = np.arange(160, dtype=np.float64)
    return windows(0.5 + 0.4 * np.sin(2 * np.pi * t / 10), 4, 3, 120, 10)


@pytest.fixture(scope="module")
def forecasts(cycle) -> baselines.Answers:
    return baselines.naive_forecasts(cycle, per_step=False)


def test_ridge_on_the_window_finds_a_noiseless_linear_recurrence(cycle, forecasts):
    assert forecasts["ridge_window"].shape == (len(cycle.splits["test"]), 3)  # every step
    assert mse(cycle, forecasts["ridge_window"]) < 1e-5
    assert mse(cycle, forecasts["ridge_window"]) < mse(cycle, forecasts["naive"]) / 1000
    assert "time-ordered" in forecasts.info["ridge_window"]["description"]


def test_auto_ets_forecasts_a_season_about_a_level_almost_exactly(cycle, forecasts):
    assert mse(cycle, forecasts["auto_ets"]) < 1e-6
    assert re.match(r"ETS\([AM],(N|A|Ad),[AM]\) ", forecasts.info["auto_ets"]["description"])


def test_auto_ets_keeps_a_half_hourly_day_as_its_season():
    """Longer than the 24 steps R's ets allows: started from heuristic states, the fit
    affords a day of half-hours, a day ahead."""
    t = np.arange(480, dtype=np.float64)
    values = 0.5 + 0.3 * np.sin(2 * np.pi * t / 48) + 0.1 * np.cos(2 * np.pi * t / 24)
    data = windows(values, 48, 48, 432, 48)
    found = references.auto_ets(data, 48)
    assert re.match(r"ETS\([AM],(N|A|Ad),[AM]\) ", found.description)
    assert mse(data, found.answers) < 1e-5


def test_auto_ets_forecasts_from_each_origin_with_the_past_only():
    t = np.arange(120, dtype=np.float64)
    values = 5 + 0.02 * t + np.tile([1.0, -0.5, 0.3, -0.8], 30)  # trend and season
    data = windows(values, 4, 1, 100, 4)
    before = references.auto_ets(data, 4).answers
    shocked = values.copy()
    shocked[110:] += 5.0  # a shock in the test period changes no forecast before it
    after = references.auto_ets(windows(shocked, 4, 1, 100, 4), 4).answers
    np.testing.assert_allclose(after[:11], before[:11], rtol=1e-5)
    assert not np.allclose(after[11:], before[11:])
    assert np.mean((before.ravel() - values[100:]) ** 2) < 1e-6


def test_auto_ets_answers_in_scaled_units_and_skips_several_series():
    t = np.arange(100, dtype=np.float64)
    original = 100 * (1 + 0.3 * np.sin(2 * np.pi * t / 5))  # positive: may be multiplicative
    low, high = original[:80].min(), original[:80].max()
    data = windows((original - low) / (high - low), 5, 1, 80, 5)
    data.meta.scaler = {"min": float(low), "max": float(high)}
    found = references.auto_ets(data, 5)
    assert np.mean((found.answers - data.targets[data.splits["test"]]) ** 2) < 1e-6
    data.meta.series = {"a": {"start": 0}, "b": {"start": 50}}
    assert references.auto_ets(data, 5) is None


def test_ridge_recovers_a_linear_function_of_the_sequence():
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(200, 6, 2)).astype(np.float32)
    weights = rng.normal(size=(6, 2))
    targets = (np.einsum("ntf,tf->n", inputs, weights) + 3.0)[:, None].astype(np.float32)
    rows = np.arange(200)
    data = ProcessedData(
        inputs=inputs, targets=targets, lengths=np.full(200, 6, dtype=np.int64),
        splits={"train": rows[:150], "val": rows[:0], "test": rows[150:]},
        meta=Meta(name="synthetic", task="sequence_regression", archetype="many_to_one",
                  input_size=2, output_size=1, steps=6))
    found = baselines.sequence_values(data)
    assert set(found) == {"mean", "nearest_neighbour", "ridge", "minirocket_ridge"}
    assert found["ridge"].shape == (50, 1)
    assert mse(data, found["ridge"]) < 1e-4 * mse(data, found["mean"])
    assert "5-fold" in found.info["ridge"]["description"]


def test_every_baseline_says_what_it_is_and_each_that_learns_its_seconds(forecasts):
    about = baselines.about(forecasts)
    assert set(about) == {"naive", "seasonal_naive", "holt_winters", "ridge_window",
                          "auto_ets"}
    assert all(about[name]["description"] for name in about)
    assert "seconds" not in about["naive"]  # nothing to fit
    assert all(about[name]["seconds"] >= 0 for name in ("holt_winters", "ridge_window",
                                                        "auto_ets"))


def test_a_forecast_runs_metrics_file_names_its_references_and_their_cost(tmp_path, run,
                                                                          one_thread):
    """elec_equip, one epoch: ridge on the window and AutoETS beside the naive forecasts
    and Holt-Winters, each described with its seconds; the headline is against the
    strongest of them all."""
    result = run(tiny("experiment=course_ex1", "optim.max_epochs=1"), tmp_path / "run")
    scores, info = result["baselines"], result["baseline_info"]
    assert set(scores) == set(info) == {"naive", "seasonal_naive", "holt_winters",
                                        "ridge_window", "auto_ets"}
    assert info["auto_ets"]["description"].startswith("ETS(")
    assert info["ridge_window"]["description"].startswith(
        "ridge regression on the window (12 inputs; alpha ")
    assert all(info[name]["seconds"] >= 0 for name in ("ridge_window", "auto_ets"))
    strongest = min(scores, key=lambda name: scores[name]["mase"])
    assert result["headline"]["baseline_name"] == strongest


def test_the_report_lists_each_baseline_with_what_it_is_and_its_seconds(tmp_path):
    from seqlab.report.summary import write_report

    record = {"archetype": "many_to_one", "task": "regression", "dataset": "elec_equip",
              "model": "ManyToOneNet", "cell": "lstm", "entry": "course_ex1",
              "headline": {"metric": "test/mse", "value": 0.004, "higher_is_better": False,
                           "baseline": 0.0009, "baseline_name": "auto_ets"},
              "test": {"test/mse": 0.004},
              "baselines": {"naive": {"mse": 0.0295}, "auto_ets": {"mse": 0.0009}},
              "baseline_info": {"naive": {"description": "the last value"},
                                "auto_ets": {"description": "ETS(M,A,M) (statsmodels)",
                                             "seconds": 0.4}}}
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "course_ex1.json").write_text(json.dumps(record))
    write_report(tmp_path / "reports", tmp_path / "metrics", tmp_path / "plots")
    text = (tmp_path / "reports" / "summary.md").read_text()
    assert "## The baselines and references" in text
    assert "| course_ex1 | auto_ets | ETS(M,A,M) (statsmodels) | test/mse 0.0009 | 0.40 |" in text
    assert "| course_ex1 | naive | the last value | test/mse 0.0295 | – |" in text


def test_a_backtest_judges_by_the_references_every_fold_could_fit():
    from seqlab.backtest import combine

    def fold(mse: float, baselines: dict[str, float]) -> dict:
        return {"headline": {"metric": "test/mse", "value": mse, "higher_is_better": False,
                             "baseline": 1.0, "baseline_name": "naive"},
                "test": {"test/mse": mse},
                "baselines": {name: {"mse": v} for name, v in baselines.items()}}

    # The earliest fold had too little series for AutoETS: it is left out, not a KeyError.
    result = combine([fold(1.0, {"naive": 2.0, "ridge_window": 0.5}),
                      fold(1.2, {"naive": 2.2, "ridge_window": 0.7, "auto_ets": 0.1})])
    assert set(result["baselines"]) == {"naive", "ridge_window"}
    assert result["headline"]["baseline_name"] == "ridge_window"
