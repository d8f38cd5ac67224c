"""Windows over a series: order, framing, splits, scaling on the training period only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from seqlab.config import compose
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


def write_rows(folder, rows):
    """series.csv from literal (date, value) text, as a user's file might hold them."""
    (folder / "series.csv").write_text(
        "date,value\n" + "".join(f"{date},{value}\n" for date, value in rows))
    return folder


def monthly_rows(n=20, start="2000-01-01"):
    dates = pd.date_range(start, periods=n, freq="MS").strftime("%Y-%m-%d")
    return [(date, float(i)) for i, date in enumerate(dates)]


@pytest.mark.parametrize("text", ["inf", "-inf", "1e400", "-1e400"])
def test_infinite_or_overflowing_values_name_the_file_and_line(tmp_path, text):
    rows = monthly_rows()
    rows[6] = (rows[6][0], text)
    with pytest.raises(DataError, match=r"series\.csv: line 8 has an infinite value"):
        spec(fill_missing="interpolate").preprocess(write_rows(tmp_path, rows))


def test_repeated_or_unsorted_dates_name_the_first_offending_line(tmp_path):
    rows = monthly_rows()
    repeated = [*rows[:5], rows[4], *rows[5:]]
    with pytest.raises(DataError, match=r"series\.csv: line 7 repeats the date 2000-05-01 "
                                        "of line 6; give each date one row"):
        spec().preprocess(write_rows(tmp_path, repeated))
    swapped = [*rows[:5], rows[6], rows[5], *rows[7:]]
    with pytest.raises(DataError, match=r"series\.csv: line 8 has date 2000-06-01, earlier "
                                        "than 2000-07-01 on line 7; sort the rows by date"):
        spec().preprocess(write_rows(tmp_path, swapped))


@pytest.mark.parametrize(
    ("freq", "after"),
    [("MS", "2000-03-01"), ("ME", "2000-03-31"), ("YS", "2002-01-01"), ("7D", "2000-01-15"),
     ("D", "2000-01-03"), ("h", "2000-01-01 02:00:00")],
)
def test_missing_dates_of_a_regular_series_are_refused(tmp_path, freq, after):
    dates = pd.date_range("2000-01-01", periods=24, freq=freq).delete([3, 4])
    rows = [(str(date.date()) if freq != "h" else str(date), i) for i, date in enumerate(dates)]
    with pytest.raises(DataError, match=rf"series\.csv: 2 dates missing after {after}; "
                                        "set dataset.fill_gaps=interpolate to fill them"):
        spec().preprocess(write_rows(tmp_path, rows))


def test_every_gap_is_counted(tmp_path):
    rows = monthly_rows(30)
    del rows[20], rows[10], rows[3]
    with pytest.raises(DataError, match="1 date missing after 2000-03-01, 3 in 3 gaps in all"):
        spec().preprocess(write_rows(tmp_path, rows))


def test_weekday_and_irregular_series_have_no_gaps(tmp_path):
    weekdays = pd.bdate_range("2000-01-03", periods=30).strftime("%Y-%m-%d")
    data = spec().preprocess(write_rows(tmp_path, [(d, i) for i, d in enumerate(weekdays)]))
    assert len(data.meta.dates) == 30  # weekends are not missing days
    irregular = pd.to_datetime("2000-01-01") + pd.to_timedelta(np.arange(20) ** 2, "D")
    rows = [(d, i) for i, d in enumerate(irregular.strftime("%Y-%m-%d"))]
    assert len(spec().preprocess(write_rows(tmp_path, rows)).meta.dates) == 20


def test_missing_dates_can_be_interpolated(tmp_path):
    rows = monthly_rows(24)
    del rows[4:6]  # 2000-05 and 2000-06; values 3 and 6 on either side
    rows[10] = (rows[10][0], "")  # a value missing on a date present stays fill_missing's
    folder = write_rows(tmp_path, rows)
    with pytest.raises(DataError, match="fill_missing=interpolate"):
        spec(fill_gaps="interpolate").preprocess(folder)
    data = spec(fill_gaps="interpolate", fill_missing="interpolate").preprocess(folder)
    assert data.meta.dates == list(pd.date_range("2000-01-01", periods=24, freq="MS")
                                   .strftime("%Y-%m-%d"))
    low, high = data.meta.scaler["min"], data.meta.scaler["max"]
    values = data.extras["series"] * (high - low) + low
    np.testing.assert_allclose(values[3:7], [3.0, 4.0, 5.0, 6.0], rtol=1e-5)


def test_step_forecast_refuses_or_fills_gaps_too(tmp_path):
    from seqlab.data.step_forecast import StepForecast

    rows = monthly_rows(60)
    del rows[30]
    folder = write_rows(tmp_path, rows)
    with pytest.raises(DataError, match="1 date missing after 2002-06-01"):
        StepForecast("s", source="s", steps=5).preprocess(folder)
    data = StepForecast("s", source="s", steps=5, fill_gaps="interpolate").preprocess(folder)
    assert len(data.extras["series"]) == 60


def test_fill_gaps_is_a_checked_choice():
    from seqlab.data.step_forecast import StepForecast

    with pytest.raises(ConfigError, match="fill_gaps: 'zero' is not one of: refuse, interpolate"):
        spec(fill_gaps="zero")
    with pytest.raises(ConfigError, match="fill_gaps: 'zero' is not one of"):
        StepForecast("s", source="s", fill_gaps="zero")


def test_mase_and_smape_in_the_series_units(tmp_path):
    """MASE's scale is the seasonal naive MAE over the training period only; sMAPE is in
    percent of the values' size."""
    from seqlab.evaluation.metrics import regression

    values = np.r_[[10.0, 14.0] * 8, [100.0, 300.0, 100.0, 300.0]]  # season 2, test far off
    data = spec(test_fraction=0.2).preprocess(write_series(tmp_path, values))
    assert data.meta.naive_mae is None  # the training period repeats itself exactly
    values[:16] += np.arange(16.0)  # now it does not: seasonal naive errs by 2 each step
    data = spec(test_fraction=0.2).preprocess(write_series(tmp_path / ".", values))
    assert data.meta.naive_mae == pytest.approx(2.0)
    truth = (np.array([100.0, 300.0]) - data.meta.scaler["min"]) / (
        data.meta.scaler["max"] - data.meta.scaler["min"])
    answers = (np.array([110.0, 270.0]) - data.meta.scaler["min"]) / (
        data.meta.scaler["max"] - data.meta.scaler["min"])
    found = regression(truth, answers, data.meta)
    assert found["mae_original"] == pytest.approx(20.0)
    assert found["mase"] == pytest.approx(10.0)  # 20 / 2
    assert found["smape"] == pytest.approx(100 * (2 * 10 / 210 + 2 * 30 / 570) / 2)


class Zero(torch.nn.Module):
    """A net that always answers 0: what Relative adds back is then the whole forecast."""

    def forward(self, inputs, lengths=None):
        return torch.zeros(len(inputs), 1)


@pytest.mark.parametrize("lag_order", ["newest_first", "oldest_first"])
@pytest.mark.parametrize("framing", ["steps", "features"])
def test_relative_forecasts_add_back_the_naive_parts_in_every_layout(tmp_path, lag_order,
                                                                      framing):
    """With a net that answers 0, normalise=window forecasts the last value (naive),
    seasonal_difference the value a season before (seasonal naive), both differences
    y[t-1] + y[t-m] - y[t-m-1]: the lags are found wherever the layout puts them."""
    from seqlab.models.relative import Relative

    values = np.cumsum(np.random.default_rng(0).normal(size=40)) + np.arange(40.0)
    write_series(tmp_path, values)
    expected = {
        "normalise=window": lambda y, t: y[t - 1],
        "seasonal_difference": lambda y, t: y[t - 4],
        "both differences": lambda y, t: y[t - 1] + y[t - 4] - y[t - 5],
    }
    settings = {"normalise=window": {"normalise": "window"},
                "seasonal_difference": {"seasonal_difference": True},
                "both differences": {"difference": 1, "seasonal_difference": True}}
    for name, forecast in expected.items():
        data = spec(window=6, seasonal_period=4, lag_order=lag_order, framing=framing,
                    **settings[name]).preprocess(tmp_path)
        net = Relative(Zero(), data.meta.series_lags, data.meta.relative)
        answers = net(torch.from_numpy(data.inputs)).numpy()[:, 0]
        series, positions = data.extras["series"], data.extras["target_pos"]
        np.testing.assert_allclose(answers, forecast(series, positions), atol=1e-6,
                                   err_msg=name)


def test_a_window_relative_net_moves_with_the_level():
    """normalise=window: the same window shifted by c gives the same forecast plus c, so
    a trend beyond the training range reads as the shapes it trained on."""
    from seqlab.models.relative import Relative

    torch.manual_seed(0)
    inner = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(5, 1))
    net = Relative(lambda_net(inner), [[s, 0] for s in range(5)], [])
    window = torch.randn(3, 5, 1)
    np.testing.assert_allclose((net(window + 7.5) - net(window)).detach().numpy(), 7.5,
                               rtol=1e-5)


def test_a_window_scaled_net_moves_and_stretches_with_the_series():
    """normalise=window_scaled: a window a times larger and shifted by c gives a times
    the forecast plus c, so series of unlike sizes read as the same shapes."""
    from seqlab.models.relative import Relative

    torch.manual_seed(0)
    inner = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(5, 2))
    net = Relative(lambda_net(inner), [[s, 0] for s in range(5)], [], scaled=True)
    window = torch.randn(3, 5, 1)
    np.testing.assert_allclose(net(40 * window + 7.5).detach().numpy(),
                               (40 * net(window) + 7.5).detach().numpy(), rtol=1e-4)
    flat = torch.ones(2, 5, 1)  # no step at all: the net's answer is (almost) the level
    np.testing.assert_allclose(net(flat).detach().numpy(), 1.0, atol=1e-4)
    with pytest.raises(ConfigError, match="window_scaled .* takes a dataset.window of 2"):
        spec(window=1, normalise="window_scaled")


def lambda_net(inner):
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = inner

        def forward(self, inputs, lengths=None):
            return self.inner(inputs)
    return Net()


def test_relative_settings_that_cannot_work_are_refused():
    with pytest.raises(ConfigError, match="choose one"):
        spec(normalise="window", difference=1)
    with pytest.raises(ConfigError, match="must reach back a season"):
        spec(window=3, seasonal_period=12, seasonal_difference=True)
    with pytest.raises(ConfigError, match="normalise"):
        spec(normalise="level")


def test_a_horizon_forecasts_the_next_values_from_each_window(tmp_path):
    """horizon=3: targets are the 3 values after each window; no training or validation
    window reaches into a later period; the baselines forecast the same 3 values from
    what is known at the window's end."""
    from seqlab.evaluation.baselines import naive_forecasts

    values = 50 + np.arange(40.0) + 5 * np.sin(np.arange(40) * np.pi / 2)
    write_series(tmp_path, values)
    one = spec(val_fraction=0.2, seasonal_period=4).preprocess(tmp_path)
    data = spec(val_fraction=0.2, seasonal_period=4, horizon=3).preprocess(tmp_path)
    pos, series = data.extras["target_pos"], data.extras["series"]
    assert data.targets.shape == (len(pos), 3) and data.meta.output_size == 3
    np.testing.assert_allclose(data.targets, series[pos])
    np.testing.assert_array_equal(pos[:, 1:] - pos[:, :-1], 1)
    first_val, first_test = pos[data.splits["val"]].min(), pos[data.splits["test"]].min()
    assert pos[data.splits["train"]].max() < first_val  # whole windows stay in their period
    assert pos[data.splits["val"]].max() < first_test
    assert first_test == one.extras["target_pos"][one.splits["test"]].min()
    found = naive_forecasts(data, per_step=False)
    test = pos[data.splits["test"]]
    np.testing.assert_allclose(found["naive"], series[test[:, :1] - 1].repeat(3, axis=1))
    np.testing.assert_allclose(found["seasonal_naive"], series[test - 4])
    # Holt-Winters one step ahead is what the one-step data's baseline says
    np.testing.assert_allclose(found["holt_winters"][:, 0],
                               naive_forecasts(one, per_step=False)["holt_winters"][
                                   : len(test)], rtol=1e-5)
    with pytest.raises(DataError, match="shorter than the horizon"):
        spec(horizon=20).preprocess(tmp_path)


class NextIsNewestPlusOne(torch.nn.Module):
    """A one-step net that forecasts the newest lag plus one (oldest-first framing)."""

    def __init__(self, newest):
        super().__init__()
        self.newest = newest

    def forward(self, inputs, lengths=None):
        return inputs[:, self.newest[0], self.newest[1]][:, None] + 1


@pytest.mark.parametrize("lag_order", ["newest_first", "oldest_first"])
def test_recursion_feeds_each_forecast_back_as_the_newest_value(tmp_path, lag_order):
    from seqlab.models.recursive import Recursive

    write_series(tmp_path, np.arange(30.0))
    data = spec(window=4, horizon=3, lag_order=lag_order).preprocess(tmp_path)
    lags = data.meta.series_lags
    net = Recursive(NextIsNewestPlusOne(lags[-1]), lags, horizon=3)
    inputs = torch.from_numpy(data.inputs)
    newest = inputs[:, lags[-1][0], lags[-1][1]][:, None]
    np.testing.assert_allclose(net(inputs).numpy(), (newest + torch.arange(1, 4)).numpy(),
                               rtol=1e-6)


def test_recursion_is_refused_where_nothing_can_be_fed_back(tmp_path):
    from seqlab.models import net_for_data

    write_series(tmp_path, np.arange(30.0) + np.sin(np.arange(30.0)))
    model = compose(["experiment=course_ex1", "model.forecast=recursive"]).model
    differenced = spec(horizon=3, difference=1).preprocess(tmp_path)
    with pytest.raises(ConfigError, match="use model.forecast=direct"):
        net_for_data(model, differenced.meta)
    assert net_for_data(model, spec(horizon=3).preprocess(tmp_path).meta).horizon == 3


def test_step_forecast_reads_its_season_from_the_dates_unless_told(tmp_path, capsys):
    from seqlab.data.step_forecast import StepForecast

    dates = pd.date_range("2024-01-01", periods=480, freq="30min")
    values = 5 + np.sin(2 * np.pi * np.arange(480) / 48)
    folder = write_rows(tmp_path, list(zip(dates.strftime("%Y-%m-%d %H:%M"), values,
                                           strict=True)))
    data = StepForecast("s", source="s", steps=20).preprocess(folder)
    assert data.meta.seasonal_period == 48
    assert capsys.readouterr().err.splitlines() == [
        "seqlab: half-hourly dates: dataset.seasonal_period=48 (set it to change it)"]
    # MASE's scale is the training period's seasonal-naive error: a day that repeats
    # exactly (to rounding) has none, rather than a MASE in the trillions.
    assert data.meta.naive_mae is None
    told = StepForecast("s", source="s", steps=20, seasonal_period=24).preprocess(folder)
    assert told.meta.seasonal_period == 24 and capsys.readouterr().err == ""
