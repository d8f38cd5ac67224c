"""Windows over a series: order, framing, splits, scaling on the training period only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seqlab.data.forecast import ForecastWindows
from seqlab.errors import ConfigError, DataError


def write_series(folder, values, start="2000-01-01"):
    dates = pd.date_range(start, periods=len(values), freq="MS")
    pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "value": values}).to_csv(
        folder / "series.csv", index=False)
    return folder


def spec(**kw):
    base = dict(name="toy", source="toy", window=3, test_start=None, test_fraction=0.25,
                val_fraction=0.0, seasonal_period=2)
    return ForecastWindows(**{**base, **kw})


def test_newest_first_puts_previous_value_first(tmp_path):
    data = spec(lag_order="newest_first").preprocess(write_series(tmp_path, np.arange(20.0)))
    series = data.extras["series"]
    pos = data.extras["target_pos"]
    assert data.inputs.shape == (17, 3, 1)
    np.testing.assert_allclose(data.inputs[:, 0, 0], series[pos - 1])
    np.testing.assert_allclose(data.inputs[:, 2, 0], series[pos - 3])
    np.testing.assert_allclose(data.targets[:, 0], series[pos])


def test_oldest_first_and_feature_framing(tmp_path):
    data = spec(lag_order="oldest_first", framing="features").preprocess(
        write_series(tmp_path, np.arange(20.0)))
    pos = data.extras["target_pos"]
    assert data.inputs.shape == (17, 1, 3)
    assert data.meta.input_size == 3 and data.meta.steps == 1
    np.testing.assert_allclose(data.inputs[:, 0, 0], data.extras["series"][pos - 3])


def test_scaler_is_fitted_on_training_period_only(tmp_path):
    values = np.r_[np.linspace(10, 20, 15), np.linspace(100, 200, 5)]  # test far above train
    data = spec(test_fraction=0.25).preprocess(write_series(tmp_path, values))
    assert data.meta.scaler == {"min": 10.0, "max": 20.0}
    assert data.targets[data.splits["train"]].max() <= 1.0
    assert data.targets[data.splits["test"]].min() > 1.0  # unseen range stays unseen


def test_splits_are_chronological_and_disjoint(tmp_path):
    data = spec(val_fraction=0.2, test_start="2001-01-01").preprocess(
        write_series(tmp_path, np.sin(np.arange(30.0)) + 5))
    pos = data.extras["target_pos"]
    train, val, test = (pos[data.splits[s]] for s in ("train", "val", "test"))
    assert train.max() < val.min() <= val.max() < test.min()
    assert test.min() == 12  # first target dated 2001-01-01
    assert len(train) + len(val) + len(test) == len(pos)


@pytest.mark.parametrize(
    ("values", "kw", "message"),
    [
        (np.arange(3.0), {}, "window 3 is not shorter than the series"),
        (np.full(20, 7.0), {}, "constant"),
        (np.r_[np.arange(10.0), np.nan, np.arange(9.0)], {}, "fill_missing=interpolate"),
        (np.arange(20.0), {"test_start": "2030-01-01"}, "no data on or after"),
    ],
)
def test_bad_series_gets_a_clear_error(tmp_path, values, kw, message):
    with pytest.raises(DataError, match=message):
        spec(**kw).preprocess(write_series(tmp_path, values))


def test_missing_values_can_be_interpolated(tmp_path):
    values = np.r_[np.arange(10.0), np.nan, np.arange(11.0, 20.0)]
    data = spec(fill_missing="interpolate").preprocess(write_series(tmp_path, values))
    assert np.isfinite(data.inputs).all()


def test_empty_and_malformed_csv(tmp_path):
    (tmp_path / "series.csv").write_text("date,value\n")
    with pytest.raises(DataError, match="empty"):
        spec().preprocess(tmp_path)
    (tmp_path / "series.csv").write_text("when,amount\n2000-01-01,3\n")
    with pytest.raises(DataError, match="expected columns date,value"):
        spec().preprocess(tmp_path)
    (tmp_path / "series.csv").write_text("date,value\n2000-01-01,3\nnot a date,4\n")
    with pytest.raises(DataError, match="line 3"):
        spec().preprocess(tmp_path)


def test_impossible_settings_fail_at_construction():
    with pytest.raises(ConfigError, match="window: must be at least 1"):
        spec(window=0)
    with pytest.raises(ConfigError, match="lag_order: 'sideways' is not one of"):
        spec(lag_order="sideways")
