"""Bring your own series (`dataset=csv_series`): good files train, bad files are one line.

Also the airline passengers CSV, a remote series with no published checksum: pinned at
its first fetch from the test server.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqlab.config import compose, instantiate
from seqlab.data.user_files import copy_into
from seqlab.errors import ConfigError, DataError
from tests.conftest import tiny


def monthly_csv(path: Path, months: int = 72, header: str = "Month,Sales,Promo",
                start: int = 2000) -> Path:
    rows = [header] + [
        f"{start + i // 12}-{i % 12 + 1:02d},{100 + i + 10 * math.sin(i / 2):.2f},{i % 3}"
        for i in range(months)]
    path.write_text("\n".join(rows) + "\n")
    return path


def sales_config(path: Path, *overrides: str):
    """course_ex1 on a sales CSV as monthly_csv writes it (`dataset=csv_series`)."""
    return tiny("experiment=course_ex1", "dataset=csv_series", f"dataset.path={path}",
                "dataset.date_column=Month", "dataset.value_column=Sales", *overrides)


def dataset(path: Path, **settings):
    """A CsvSeries as `dataset=csv_series` composes it, with overrides."""
    cfg = sales_config(path, *(f"dataset.{k}={v}" for k, v in settings.items()))
    return instantiate(cfg.dataset, "dataset")


def preprocess(tmp_path: Path, path: Path, **settings):
    """What the fetch and preprocess stages do: copy the file, then read the copy."""
    raw = tmp_path / "raw"
    raw.mkdir(exist_ok=True)
    copy_into(path, raw)
    return dataset(path, **settings).preprocess(raw)


def test_a_monthly_csv_with_an_extra_input_column(tmp_path):
    path = monthly_csv(tmp_path / "sales.csv")
    data = preprocess(tmp_path, path, input_columns="[Promo]", test_start="2005-01-01")
    assert data.inputs.shape == (72 - 12, 12, 2)  # each step: the value and the promotion
    assert data.meta.dates[0] == "2000-01-01"
    assert len(data.splits["test"]) == 12  # the months of 2005
    train_end = data.splits["train"].max() + 12  # scaled on the training period only
    assert data.extras["series"][: train_end + 1].max() <= 1.0 + 1e-6


def test_split_by_the_last_fraction_and_bare_years(tmp_path):
    path = tmp_path / "yearly.csv"
    path.write_text("year,flow\n" + "".join(f"{1900 + i},{50 + (i * 7) % 13}\n"
                                          for i in range(40)))
    cfg = tiny("experiment=course_ex1", "dataset=csv_series", f"dataset.path={path}",
               "dataset.date_column=year", "dataset.value_column=flow", "dataset.window=3",
               "dataset.test_fraction=0.25")
    raw = tmp_path / "raw"
    raw.mkdir()
    copy_into(path, raw)
    data = instantiate(cfg.dataset, "dataset").preprocess(raw)
    assert data.meta.dates[0] == "1900-01-01" and data.meta.dates[-1] == "1939-01-01"
    assert len(data.splits["test"]) == 10


def test_old_mac_line_endings_read_as_lines(tmp_path):
    path = monthly_csv(tmp_path / "mac.csv")
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r"))
    assert preprocess(tmp_path, path).inputs.shape == (60, 12, 1)


BAD_FILES = {
    "misnamed column": (lambda text: text.replace("Sales", "Revenue", 1),
                        "no column 'Sales'; the columns found are 'Month', 'Revenue', 'Promo'"),
    "not a number": (lambda text: text.replace("2000-03,", "2000-03,n/a#", 1),
                     "line 4, column 'Sales': 'n/a#.*' is not a number"),
    "not a date": (lambda text: text.replace("2000-05", "May the 4th", 1),
                   "line 6, column 'Month': 'May the 4th' is not a date"),
    "unsorted": (lambda text: text.replace("2000-05", "1999-05", 1),
                 "line 6 has date 1999-05-01, earlier than 2000-04-01 on line 5; sort the rows"),
    "duplicate": (lambda text: text.replace("2000-05", "2000-04", 1),
                  "line 6 repeats the date 2000-04-01 of line 5"),
    "empty": (lambda text: "", "is empty"),
    "header only": (lambda text: text.splitlines()[0] + "\n", "has a header but no rows"),
    # The window (auto) shrinks to fit a short series: 3 rows are still too few.
    "too few rows": (lambda text: "\n".join(text.splitlines()[:4]) + "\n",
                     "fewer than two training windows before the test period"),
    "a gap": (lambda text: "\n".join(line for line in text.splitlines()
                                      if not line.startswith("2000-05,")) + "\n",
              "1 date missing after 2000-04-01; set dataset.fill_gaps=interpolate"),
}


@pytest.mark.parametrize("problem", sorted(BAD_FILES))
def test_a_bad_file_is_one_line(tmp_path, problem):
    edit, message = BAD_FILES[problem]
    path = monthly_csv(tmp_path / "bad.csv")
    path.write_text(edit(path.read_text()))
    with pytest.raises(DataError, match=message) as caught:
        preprocess(tmp_path, path)
    assert "\n" not in str(caught.value)


def test_a_missing_file_or_column_setting_is_refused_before_any_work(tmp_path):
    with pytest.raises(ConfigError, match="path: no file '.*nope.csv'"):
        dataset(tmp_path / "nope.csv")
    path = monthly_csv(tmp_path / "sales.csv")
    with pytest.raises(ConfigError, match="'Sales' is named twice"):
        dataset(path, input_columns="[Sales]")


def test_bare_integers_in_the_date_column_are_years_not_nanoseconds(tmp_path):
    path = tmp_path / "years.csv"
    path.write_text("Year,Value\n" + "".join(f"{1950 + i},{i % 5}\n" for i in range(30)))
    cfg = tiny("experiment=course_ex1", "dataset=csv_series", f"dataset.path={path}",
               "dataset.date_column=Year", "dataset.value_column=Value", "dataset.window=4")
    raw = tmp_path / "raw"
    raw.mkdir()
    copy_into(path, raw)
    assert instantiate(cfg.dataset, "dataset").preprocess(raw).meta.dates[0] == "1950-01-01"


def test_a_run_on_the_users_file_and_again_after_editing_it(tmp_path, run, prepared):
    path = monthly_csv(tmp_path / "sales.csv")
    overrides = ("experiment=course_ex1", "dataset=csv_series", f"dataset.path={path}",
                 "dataset.date_column=Month", "dataset.value_column=Sales",
                 "optim.max_epochs=2")
    result = run(tiny(*overrides), tmp_path / "run")
    assert result["dataset"] == "csv_series" and np.isfinite(result["test"]["test/mse"])
    first = prepared(tiny(*overrides))
    monthly_csv(path, months=84)  # the user adds a year of data
    second = prepared(tiny(*overrides))
    assert first != second  # the edited file is prepared again, never served stale


def test_airline_passengers_is_pinned_at_its_first_fetch_and_trains(mirror, tmp_path, run):
    from seqlab.data import sources

    remote = sources.REMOTE_SERIES["airline_passengers"].remote
    assert remote.checksum is None  # no published checksum to pin in the code
    rows = [f'"{1949 + i // 12}-{i % 12 + 1:02d}",{100 + i}' for i in range(144)]
    content = '"Month","Thousand Passengers"\n' + "\n".join(rows) + (
        "\n\nInternational airline passengers: monthly totals in thousands. Jan 49 ? Dec 60\n")
    mirror.serve(remote.file_name, content.encode())
    folder = sources.fetch("airline_passengers", tmp_path / "raw" / "airline",
                           tmp_path / "downloads")
    frame = (folder / sources.SERIES_FILE).read_text().splitlines()
    assert frame[1] == "1949-01-01,100.0" and len(frame) == 145
    assert (tmp_path / "downloads" / f"{remote.file_name}.sha256").is_file()
    sources.fetch("airline_passengers", tmp_path / "raw" / "again", tmp_path / "downloads")
    assert mirror.requests == [f"/{remote.file_name}"]  # the pinned copy is reused
    result = run(tiny("experiment=airline_passengers", "optim.max_epochs=2"), tmp_path / "run")
    assert result["dataset"] == "airline_passengers"
    assert result["headline"]["baseline_name"] in ("naive", "seasonal_naive", "holt_winters",
                                                   "ridge_window", "auto_ets")


def test_a_trending_series_with_window_relative_inputs_trains_and_predicts(tmp_path, run):
    """dataset.normalise=window, a horizon of 3, forecast by recursion: the saved model is
    the one-step net inside its Recursive and Relative wrappers; it loads from the run
    folder and forecasts the 3 months after the raw example, with metrics at each step
    ahead."""
    from seqlab.model_folder import files as folder_files
    from seqlab.predict.trained import TrainedModel

    path = monthly_csv(tmp_path / "sales.csv", months=96)
    cfg = sales_config(path, "dataset.normalise=window", "dataset.horizon=3",
                       "model.forecast=recursive", "optim.max_epochs=2")
    result = run(cfg, tmp_path / "run")
    assert np.isfinite(result["test"]["test/mase"]) and np.isfinite(result["test"]["test/smape"])
    assert {"test/mse_h1", "test/mse_h3", "test/mase_h3"} <= set(result["test"])
    model = TrainedModel(folder_files(tmp_path / "run"))
    assert type(model.net).__name__ == "Relative"
    assert type(model.net.net).__name__ == "Recursive" and model.net.net.horizon == 3
    rows = pd.DataFrame(model.meta.raw["example"])
    answers = model.predict(rows)
    assert list(answers["date"]) == ["2008-01-01", "2008-02-01", "2008-03-01"]  # after 2007-12
    assert ((answers["forecast"] > 100) & (answers["forecast"] < 300)).all()  # in sales


def test_quantile_forecasts_train_score_and_answer_with_their_interval(tmp_path, run,
                                                                         capsys):
    """model.quantiles with a horizon of 3: trained on the pinball loss, selected and
    scored on the median, the interval calibrated on the validation windows, its
    coverage and width reported, and the saved model answers each month ahead with its
    median as `forecast` and every quantile."""
    import torch

    from seqlab.model_folder import files as folder_files
    from seqlab.predict.trained import TrainedModel

    path = monthly_csv(tmp_path / "sales.csv", months=96)
    cfg = sales_config(path, "dataset.horizon=3", "dataset.val_fraction=0.2",
                       "model.quantiles=[0.1,0.5,0.9]", "optim.max_epochs=2")
    result = run(cfg, tmp_path / "run")
    assert 0 <= result["test"]["test/coverage"] <= 1 and result["test"]["test/width"] > 0
    assert result["test"]["test/nominal_coverage"] == pytest.approx(0.8)
    assert result["selection"]["metric"] == "val/mse"  # the median's, as for any forecast
    history = pd.read_csv(tmp_path / "run" / "model" / "history.csv")
    assert {"train/loss", "train/mse", "val/mse"} <= set(history.columns)
    model = TrainedModel(folder_files(tmp_path / "run"))
    answers = model.predict(pd.DataFrame(model.meta.raw["example"]))
    assert list(answers.columns) == ["date", "forecast", "q0.1", "q0.5", "q0.9"]
    assert list(answers["date"]) == ["2008-01-01", "2008-02-01", "2008-03-01"]
    assert (answers["forecast"] == answers["q0.5"]).all()
    assert ((answers["q0.1"] <= answers["q0.5"]) & (answers["q0.5"] <= answers["q0.9"])).all()
    assert "interval is calibrated on 11 validation windows" in capsys.readouterr().err
    assert model.net.margin.abs().min() > 0
    cfg.model.conformal = False
    as_trained = run(cfg, tmp_path / "as_trained")
    assert "calibrated" not in capsys.readouterr().err
    margin = torch.load(tmp_path / "as_trained" / "model" / "model.pt")["margin"]
    assert (margin == 0).all() and as_trained["test"]["test/width"] > 0


@pytest.mark.slow  # four trainings into one store
def test_two_own_files_compete_for_two_registry_aliases_named_by_their_data(tmp_path, run):
    """Not one `best-csv_series` for every file of the kind: each file's name and content
    hash, so a forecast of one series is never ranked against another's; the alias then
    serves predictions as a model URI."""
    import hashlib

    from mlflow.tracking import MlflowClient

    from tests.conftest import FAST, run_module

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    files = [monthly_csv(tmp_path / "sales.csv"),
             monthly_csv(tmp_path / "my.pbs.csv", months=60, start=1990)]
    runs = {}
    for path in files:
        cfg = compose(["experiment=course_ex1", "dataset=csv_series", f"dataset.path={path}",
                       "dataset.date_column=Month", "dataset.value_column=Sales",
                       "optim.max_epochs=1", "model.hidden_size=4", *FAST,
                       "tracking.enabled=true", f"tracking.uri={uri}",
                       f"tracking.artifact_root={tmp_path}/mlartifacts"])
        runs[path] = run(cfg, tmp_path / path.stem)["mlflow_run_id"]
    client = MlflowClient(uri)
    sha = {p: hashlib.sha256(p.read_bytes()).hexdigest()[:8] for p in files}
    aliases = {"sales": f"best-sales-{sha[files[0]]}", "pbs": f"best-my-pbs-{sha[files[1]]}"}
    for path, alias in zip(files, aliases.values(), strict=True):
        assert client.get_model_version_by_alias("seqlab-many_to_one", alias).run_id == \
            runs[path]
    assert sorted(client.get_registered_model("seqlab-many_to_one").aliases) == sorted(
        aliases.values())
    done = run_module("seqlab.predict", f"models:/seqlab-many_to_one@{aliases['sales']}",
                      "--input", str(files[0]), env={**os.environ, "MLFLOW_TRACKING_URI": uri})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("date,forecast\n2006-01")
