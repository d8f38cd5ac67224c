"""Inputs known in the future (`dataset.calendar`, `dataset.future_columns`): each window
step carries them as of the date `horizon` steps later, so the window's last steps carry
those of the dates it forecasts; a forecast from raw rows is given the rows ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seqlab.config import compose, validate
from seqlab.data.series import calendar_features
from seqlab.errors import ConfigError, DataError
from tests.test_forecast_windows import spec, write_series


def test_calendar_features_put_each_cycles_ends_side_by_side():
    dates = pd.Series(pd.date_range("2001-01-01", periods=12, freq="MS"))
    month = calendar_features(dates, ["month"])
    assert month.shape == (12, 2)
    np.testing.assert_allclose(np.hypot(month[:, 0], month[:, 1]), 1)
    steps = np.linalg.norm(np.diff(np.vstack([month, month[:1]]), axis=0), axis=1)
    np.testing.assert_allclose(steps, steps[0])  # December -> January like any month
    days = pd.Series(pd.date_range("2024-01-01", periods=7, freq="D"))  # a Monday first
    weekday = calendar_features(days, ["dayofweek"])
    np.testing.assert_allclose(weekday[0], [0, 1], atol=1e-12)
    # A half-hourly day: 48 evenly spaced points, 23:30 next to midnight.
    halves = pd.Series(pd.date_range("2024-01-01", periods=48, freq="30min"))
    day = calendar_features(halves, ["timeofday"])
    steps = np.linalg.norm(np.diff(np.vstack([day, day[:1]]), axis=0), axis=1)
    np.testing.assert_allclose(steps, steps[0])
    assert len(np.unique(day.round(9), axis=0)) == 48  # "hour" would give 24


def test_each_window_step_carries_the_calendar_of_the_dates_ahead(tmp_path):
    write_series(tmp_path, 50 + np.arange(40.0) + 5 * np.sin(np.arange(40)))
    data = spec(window=4, horizon=2, lag_order="oldest_first",
                calendar=["month", "quarter"]).preprocess(tmp_path)
    assert data.inputs.shape[1:] == (4, 1 + 4)  # the value, then sin/cos of each cycle
    dates = pd.Series(pd.to_datetime(data.meta.dates))
    expected = calendar_features(dates, ["month", "quarter"])
    for row, targets in enumerate(data.extras["target_pos"]):
        first_input = targets[0] - 4
        # step s reads the value at first_input + s and the calendar 2 steps later
        np.testing.assert_allclose(data.inputs[row, :, 1:],
                                   expected[first_input + 2 : first_input + 6], atol=1e-6)
        np.testing.assert_allclose(data.inputs[row, -2:, 1:], expected[targets], atol=1e-6)
    assert data.meta.series_lags == [[s, 0] for s in range(4)]  # the value's places


def test_calendar_settings_that_cannot_work_are_one_line(tmp_path):
    with pytest.raises(ConfigError, match="calendar: 'weekday' is not one of: month"):
        spec(calendar=["weekday"])
    with pytest.raises(ConfigError, match=r"expected a list, e.g. dataset.calendar=\[month\]"):
        spec(calendar="month")
    with pytest.raises(ConfigError, match=r"dataset.window \(3\) must be at least "
                                          r"dataset.horizon \(4\)"):
        spec(window=3, horizon=4, calendar=["month"])
    with pytest.raises(ConfigError, match="input_columns: 'Promo' is named twice"):
        promotions_csv(tmp_path / "sales.csv")
        validate(compose(["experiment=course_ex1", "dataset=csv_series",
                          f"dataset.path={tmp_path}/sales.csv",
                          "dataset.input_columns=[Promo]", "dataset.future_columns=[Promo]"]))


def promotions_csv(path, months=84):
    """Sales that jump in the months a promotion runs; the promotions are planned."""
    rng = np.random.default_rng(3)
    promo = (rng.random(months) < 0.3).astype(int)
    sales = 100 + 0.5 * np.arange(months) + 30 * promo + rng.normal(0, 1, months)
    dates = pd.date_range("2000-01-01", periods=months, freq="MS")
    table = pd.DataFrame({"Month": dates.strftime("%Y-%m"), "Sales": sales.round(2),
                          "Promo": promo})
    table.to_csv(path, index=False)
    return table


def test_future_columns_forecast_from_raw_rows_as_scored(tmp_path, run, prepared, one_thread):
    """A planned promotion and the month: the run is scored, and the saved model answers
    the window's rows plus the rows ahead (their promotions given, sales empty) with the
    forecasts it was scored with."""
    from seqlab.data.processed import ProcessedData
    from seqlab.model_folder import files as folder_files
    from seqlab.pipeline import load_model
    from seqlab.predict.trained import TrainedModel
    from seqlab.tasks import task_of
    from tests.conftest import tiny

    table = promotions_csv(tmp_path / "sales.csv")
    cfg = tiny("experiment=course_ex1", "dataset=csv_series", f"dataset.path={tmp_path}/sales.csv",
               "dataset.date_column=Month", "dataset.value_column=Sales",
               "dataset.future_columns=[Promo]", "dataset.calendar=[month]",
               "dataset.window=6", "dataset.horizon=3", "optim.max_epochs=2",
               "model.hidden_size=8")
    result = run(cfg, tmp_path / "run")
    assert np.isfinite(result["test"]["test/mase"])
    data = ProcessedData.load(prepared(cfg))
    assert data.meta.input_size == 1 + 1 + 2  # sales, the promotion ahead, the month ahead
    _, net = load_model(tmp_path / "run" / "model", data)
    scored = data.meta.unscale(task_of("regression").predict(net, data, "test")).reshape(-1, 3)
    model = TrainedModel(folder_files(tmp_path / "run"))
    for i, targets in enumerate(data.extras["target_pos"][data.splits["test"]]):
        rows = table.iloc[targets[0] - 6 : targets[-1] + 1].astype(str).copy()
        rows.iloc[-3:, rows.columns.get_loc("Sales")] = ""  # not known when forecasting
        answer = model.predict(rows)
        assert answer["date"].tolist() == [data.meta.dates[t] for t in targets]
        np.testing.assert_allclose(answer["forecast"], scored[i], rtol=4e-7)
    # The example the served model shows is such a table; too few rows is one line.
    example = pd.DataFrame(model.meta.raw["example"])
    assert len(example) == 9 and example["Sales"].iloc[-3:].isna().all()
    assert len(model.predict(example)) == 3
    with pytest.raises(DataError, match="reads the last 6, then the 3 rows ahead with their "
                                        "Promo; give at least 9 rows"):
        model.predict(table.iloc[:8].astype(str))


def stores_csv(path, months=60):
    """Three stores' monthly sales in one long file, rows sorted by month then store."""
    rng = np.random.default_rng(5)
    rows = []
    for i, month in enumerate(pd.date_range("2000-01-01", periods=months, freq="MS")):
        for store, level in (("north", 100), ("south", 300), ("east", 50)):
            sales = level + i + 10 * np.sin(i / 2 + level) + rng.normal(0, 1)
            rows.append({"Store": store, "Month": month.strftime("%Y-%m"),
                         "Sales": round(sales, 2)})
    table = pd.DataFrame(rows)
    table.to_csv(path, index=False)
    return table


def test_several_series_train_one_global_model_that_answers_each(tmp_path, run, prepared,
                                                                 one_thread):
    """series_column: each store windowed and split on its own (no window reads two
    stores), told apart by a static input; the saved model answers a table of two
    stores with the forecasts it was scored with, keyed by store and month."""
    from seqlab.data.processed import ProcessedData
    from seqlab.model_folder import files as folder_files
    from seqlab.pipeline import load_model
    from seqlab.predict.trained import TrainedModel
    from seqlab.tasks import task_of
    from tests.conftest import tiny

    table = stores_csv(tmp_path / "stores.csv")
    cfg = tiny("experiment=course_ex1", "dataset=csv_series", f"dataset.path={tmp_path}/stores.csv",
               "dataset.date_column=Month", "dataset.value_column=Sales",
               "dataset.series_column=Store", "dataset.window=6", "dataset.horizon=2",
               "optim.max_epochs=2", "model.hidden_size=8")
    result = run(cfg, tmp_path / "run")
    assert np.isfinite(result["test"]["test/mase"])
    assert "holt_winters" not in result["baselines"]  # fitted to one series only
    figures = sorted(p.name for p in (tmp_path / "run" / "figures").glob("forecast*.png"))
    assert figures == ["forecast_east.png", "forecast_north.png", "forecast_south.png"]
    data = ProcessedData.load(prepared(cfg))
    starts = {name: part["start"] for name, part in data.meta.series.items()}
    assert starts == {"north": 0, "south": 60, "east": 120}
    assert data.meta.input_size == 1 + 3  # the sales, then which store
    positions = data.extras["target_pos"]
    store = np.searchsorted([0, 60, 120], positions[:, 0], side="right") - 1
    first_input = positions[:, 0] - 6
    assert (first_input >= np.array([0, 60, 120])[store]).all()  # within its own store
    assert (positions[:, -1] < np.array([60, 120, 180])[store]).all()
    np.testing.assert_array_equal(data.inputs[:, 0, 1:].argmax(axis=1), store)
    for split in ("train", "test"):  # every store in both
        assert set(store[data.splits[split]]) == {0, 1, 2}
    np.testing.assert_allclose(data.meta.unscale(data.extras["series"]),
                               table.sort_values("Store", key=lambda s: s.map(
                                   {"north": 0, "south": 1, "east": 2}), kind="stable")["Sales"],
                               rtol=1e-5)

    _, net = load_model(tmp_path / "run" / "model", data)
    scored = data.meta.unscale(task_of("regression").predict(net, data, "test")).reshape(-1, 2)
    # Each store scored on its own windows, MASE on its own scale.
    tested = store[data.splits["test"]]
    truth = data.meta.unscale(data.targets[data.splits["test"]]).reshape(-1, 2)
    for index, name in enumerate(("north", "south", "east")):
        error = np.mean(np.abs(truth[tested == index] - scored[tested == index]))
        assert result["test"][f"test/series/{name}/mae_original"] == pytest.approx(error,
                                                                                  rel=1e-5)
        assert result["test"][f"test/series/{name}/mase"] == pytest.approx(
            error / data.meta.series[name]["naive_mae"], rel=1e-5)
        naive = result["baselines"]["naive"][f"series/{name}/mae_original"]
        last = data.meta.unscale(data.extras["series"][positions[data.splits["test"]][
            tested == index][:, :1] - 1])  # the value before each window's first target
        assert naive == pytest.approx(np.mean(np.abs(truth[tested == index] - last[:, None])),
                                      rel=1e-5)
    last = {int(s): i for i, s in enumerate(tested)}  # each store's last
    model = TrainedModel(folder_files(tmp_path / "run"))
    rows = []
    for name, index in (("south", 1), ("east", 2)):
        targets = positions[data.splits["test"]][last[index]]
        own = table[table["Store"] == name].reset_index(drop=True)
        rows.append(own.iloc[targets[0] - starts[name] - 6 : targets[0] - starts[name]])
    answers = model.predict(pd.concat(rows).astype(str))
    assert list(answers.columns) == ["Store", "date", "forecast"]
    assert answers["Store"].tolist() == ["south", "south", "east", "east"]
    np.testing.assert_allclose(answers["forecast"],
                               np.concatenate([scored[last[1]], scored[last[2]]]), rtol=4e-7)
    unknown = rows[0].astype(str).assign(Store="west")
    with pytest.raises(DataError, match="'west' is not a series the model was trained on "
                                        r"\(north, south, east\)"):
        model.predict(unknown)


def test_several_series_are_checked_each_on_its_own_lines(tmp_path):
    from tests.test_user_series import preprocess

    table = stores_csv(tmp_path / "stores.csv", months=30)
    table.drop(index=4).to_csv(tmp_path / "gap.csv", index=False)  # south's 2nd month
    with pytest.raises(DataError, match="1 date missing after 2000-01-01"):
        preprocess(tmp_path, tmp_path / "gap.csv", series_column="Store")
    repeated = table.copy()
    repeated.loc[5, "Month"] = "2000-01"  # east's second row: east's first month again
    repeated.to_csv(tmp_path / "repeated.csv", index=False)
    with pytest.raises(DataError, match="line 7 repeats the date 2000-01-01 of line 4"):
        preprocess(tmp_path, tmp_path / "repeated.csv", series_column="Store")
    with pytest.raises(ConfigError, match="give dataset.backtest_folds=1 with several series"):
        preprocess(tmp_path, tmp_path / "stores.csv", series_column="Store", backtest_folds=2)
