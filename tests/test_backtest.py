"""Rolling-origin backtests (`dataset.backtest_folds`): each fold's data, the combined
scores, and a whole run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seqlab.backtest import combine, fold_configs
from seqlab.config import compose
from seqlab.errors import ConfigError
from seqlab.sweeps.pruning import reporter
from tests.test_forecast_windows import spec, write_series
from tests.test_user_series import monthly_csv, sales_config


def test_each_fold_ends_after_its_origins_horizon(tmp_path):
    values = 20 + np.arange(60.0) + 3 * np.sin(np.arange(60))
    write_series(tmp_path, values)
    settings = dict(horizon=4, backtest_folds=3, backtest_stride=5, val_fraction=0.2)
    folds = [spec(backtest_fold=k, **settings).preprocess(tmp_path) for k in (1, 2, 3)]
    for k, data in enumerate(folds, start=1):
        end = 60 - (3 - k) * 5  # the series is cut after the fold's last target
        assert len(data.extras["series"]) == end
        [test_row] = data.extras["target_pos"][data.splits["test"]]
        assert test_row.tolist() == list(range(end - 4, end))  # one forecast: the origin's
        assert data.extras["target_pos"][data.splits["val"]].max() < end - 4
    # Fitted once: every fold is scaled as the first fold's training period was.
    once = [spec(backtest_fold=k, backtest_refit=False, **settings).preprocess(tmp_path)
            for k in (1, 3)]
    assert once[0].meta.scaler == once[1].meta.scaler == folds[0].meta.scaler
    assert folds[2].meta.scaler != folds[0].meta.scaler  # refitted: its own period's
    with pytest.raises(Exception, match="too little series before the first origin"):
        spec(horizon=12, backtest_folds=5, backtest_fold=1).preprocess(tmp_path)


def fold_result(mse: float, naive: float, seasonal: float) -> dict:
    return {"dataset": "s", "headline": {"metric": "test/mse", "value": mse,
                                         "higher_is_better": False, "baseline": naive,
                                         "baseline_name": "naive"},
            "test": {"test/mse": mse, "test/mase": 2 * mse},
            "baselines": {"naive": {"mse": naive}, "seasonal_naive": {"mse": seasonal}}}


def test_folds_combine_into_means_spreads_and_a_paired_verdict():
    result = combine([fold_result(1.0, 3.0, 2.0), fold_result(2.0, 1.0, 2.5),
                      fold_result(1.5, 2.0, 3.5)])
    assert result["test"]["test/fold2/mse"] == 2.0 and result["test"]["test/fold3/mase"] == 3.0
    assert result["test"]["test/mse"] == pytest.approx(1.5)
    assert result["test"]["test/mse_sd"] == pytest.approx(0.5)
    assert result["baselines"]["naive"]["mse"] == pytest.approx(2.0)
    # the strongest baseline on the mean, not the last fold's
    assert result["headline"]["baseline_name"] == "naive"
    assert result["headline"]["value"] == pytest.approx(1.5)
    assert result["backtest"]["verdict"].startswith("beats naive on the mean over 3 folds")
    assert 0 < result["backtest"]["p"] < 1


def test_a_backtest_run_scores_every_fold_and_keeps_the_last_model(tmp_path, run,
                                                                   one_thread):
    path = monthly_csv(tmp_path / "sales.csv", months=84)
    cfg = sales_config(path, "dataset.horizon=3", "dataset.backtest_folds=3",
                       "optim.max_epochs=2", "model.hidden_size=4")
    result = run(cfg, tmp_path / "run")
    for k in (1, 2, 3):
        assert np.isfinite(result["test"][f"test/fold{k}/mase"])
    assert result["backtest"]["folds"] == 3 and "test/mase_sd" in result["test"]
    folds = sorted(p.name for p in (tmp_path / "run" / "folds").iterdir() if p.is_dir())
    assert folds == ["fold1", "fold2"]
    history = pd.read_csv(tmp_path / "run" / "model" / "history.csv")
    assert len(history) == 2  # the last fold's model is the run's


def test_a_backtest_trial_is_judged_by_its_folds_mean_validation_and_pruned_on_the_first():
    # A trial's folds are never scored on test (seqlab.pipeline.trial_result).
    folds = [{"dataset": "s", "selection": {"metric": "val/mse", "value": value,
                                            "validation": value}} for value in (0.2, 0.4)]
    result = combine(folds)
    assert result["selection"]["validation"] == pytest.approx(0.3)  # the trial's value
    assert result["selection"]["fold_validations"] == [0.2, 0.4]
    assert result["selection"]["value"] == 0.4  # what chose the last fold's weights
    assert "test" not in result and "headline" not in result
    cfg = compose(["experiment=course_ex1", "dataset.backtest_folds=2",
                   "+trial={study:s,storage:'sqlite:///nowhere.db',number:0}"])
    trials = fold_configs(cfg)  # a search trial may be a backtest
    assert [t.dataset.backtest_fold for t in trials] == [1, 2]
    assert reporter(trials[1]) is None  # only the first fold reports its epochs


def test_a_backtest_is_refused_where_it_cannot_run():
    cfg = compose(["experiment=course_ex1", "dataset.backtest_folds=3", "resume=abc"])
    with pytest.raises(ConfigError, match="cannot be resumed"):
        fold_configs(cfg)
    assert fold_configs(compose(["experiment=course_ex1"])) == []
