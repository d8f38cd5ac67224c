"""Dates at any frequency: the one reader and writer (seqlab.data.dates) round-trip them,
and a half-hourly series with a time zone trains, predicts and serves with its dates
written as they came in."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqlab.config import compose, instantiate
from seqlab.data.dates import DateStyle, read_dates, write_dates
from seqlab.data.series import check_series, dates_after
from seqlab.data.user_files import copy_into
from seqlab.errors import DataError
from tests.conftest import FAST, REPO, run_module

# (text as a user's file has it, the frequency its dates step by, the text written back:
# None when it is the text itself)
FREQUENCIES = {
    "half-hourly UTC": ("2021-05-01 00:00:00+00:00", "30min", None),
    "half-hourly +01:00, T": ("2021-05-01T00:00:00+01:00", "30min", None),
    "hourly, no zone": ("2021-05-01 00:00:00", "h", None),
    "daily": ("2021-05-01", "D", None),
    "weekly": ("2021-05-02", "W-SUN", None),
    "monthly": ("1991-07-01", "MS", None),
    "monthly, 1991 Jul": ("1991 Jul", "MS", "1991-07-01"),
    "monthly, 1991-07": ("1991-07", "MS", "1991-07-01"),
    "quarterly": ("2000-01-01", "QS", None),
    "yearly, bare years": ("1991", "YS", "1991-01-01"),
}


def as_text(first: str, freq: str, periods: int) -> list[str]:
    """`periods` dates from `first` every `freq`, each written as `first` is."""
    stamps = pd.date_range(pd.Timestamp(read_dates("t", pd.Series([first]), "d").iloc[0]),
                           periods=periods, freq=freq)
    if first == "1991 Jul":
        return list(stamps.strftime("%Y %b"))
    if first == "1991-07":
        return list(stamps.strftime("%Y-%m"))
    if first == "1991":
        return list(stamps.strftime("%Y"))
    if "T" in first:
        return [s.isoformat() for s in stamps]
    return [str(s.date()) if len(first) == 10 else str(s) for s in stamps]


@pytest.mark.parametrize("case", sorted(FREQUENCIES))
@pytest.mark.parametrize("periods", [3, 50])
def test_dates_at_every_frequency_round_trip(case, periods):
    """write(read(text)) reads back to the same instants, is stable, and is the text as it
    came in; the next date follows at the series' own frequency."""
    first, freq, written_first = FREQUENCIES[case]
    text = pd.Series(as_text(first, freq, periods))
    dates = read_dates("f.csv", text, "when")
    style = DateStyle.of(dates, text)
    written = write_dates(dates, style)
    assert written[0] == (written_first or first)
    if written_first is None:
        assert written == text.tolist()  # dates written as they came in
    again = read_dates("f.csv", pd.Series(written), "when")
    pd.testing.assert_series_equal(again, dates, check_names=False)
    assert write_dates(again, DateStyle.of(again, pd.Series(written))) == written  # stable
    following = dates_after(dates, 2)  # the frequency of sub-daily, zoned dates too
    expected = pd.date_range(dates.iloc[-1], periods=3, freq=freq)[1:]
    assert list(following) == list(expected)
    assert len(write_dates(following, style)[0]) == len(written[0])  # in the same form


def test_a_midnight_among_half_hours_keeps_its_time_and_zone():
    """The bug: the serving example, answers and meta.json wrote midnight as a bare date
    (2021-05-07) among 2021-05-06 23:30:00+00:00, which the model then refused."""
    stamps = pd.Series(pd.date_range("2021-05-06 23:00", periods=4, freq="30min", tz="UTC"))
    assert write_dates(stamps) == ["2021-05-06 23:00:00+00:00", "2021-05-06 23:30:00+00:00",
                                   "2021-05-07 00:00:00+00:00", "2021-05-07 00:30:00+00:00"]
    # One answer at midnight of an hourly series with no zone: still written with its time.
    hourly = DateStyle.of(pd.Series([pd.Timestamp("2021-05-06 23:00")]))
    assert write_dates([pd.Timestamp("2021-05-07")], hourly) == ["2021-05-07 00:00:00"]
    # What old models' serving examples hold: a bare date among zoned times is midnight
    # in their zone, so those examples are read, not refused.
    old = pd.Series(["2021-05-06 23:30:00+00:00", "2021-05-07", "2021-05-07 00:30:00+00:00"])
    assert read_dates("f.csv", old, "d").iloc[1] == pd.Timestamp("2021-05-07", tz="UTC")


def test_summer_time_offsets_read_as_instants_and_a_time_without_a_zone_is_one_line():
    text = pd.Series(as_text("2021-03-28T00:00:00+00:00", "30min", 2)
                     + ["2021-03-28T02:00:00+01:00", "2021-03-28T02:30:00+01:00"])
    dates = read_dates("f.csv", text, "d")
    assert list(dates.diff().dropna().unique()) == [pd.Timedelta("30min")]
    written = write_dates(dates, DateStyle.of(dates, text))
    assert written[2] == "2021-03-28T01:00:00+00:00"  # the same instant, in UTC
    assert write_dates(read_dates("f.csv", pd.Series(written), "d")) == [
        w.replace("T", " ") for w in written]
    mixed = pd.Series(["2021-05-07 00:00:00+00:00", "2021-05-07 00:30:00"])
    with pytest.raises(DataError) as refused:
        read_dates("f.csv", mixed, "datetime_gmt")
    assert str(refused.value) == (
        "f.csv: line 3, column 'datetime_gmt': '2021-05-07 00:30:00' has no time zone, "
        "unlike '2021-05-07 00:00:00+00:00'; give every date its offset")


def test_a_gap_in_half_hours_with_a_zone_is_found_and_named_in_their_form():
    dates = pd.Series(pd.date_range("2021-05-06 23:00", periods=6, freq="30min", tz="UTC"))
    frame = pd.DataFrame({"date": dates.drop(index=3), "value": np.arange(5.0)})
    with pytest.raises(DataError, match=r"1 date missing after 2021-05-07 00:00:00\+00:00"):
        check_series(Path("f.csv"), frame)


def half_hourly_csv(path: Path, rows: int = 581) -> Path:
    """A sinusoid every 30 minutes from 2021-05-01 00:00:00+00:00, as a solar feed writes
    it; 581 rows end at 02:00, so the serving example (the last window) holds a midnight."""
    stamps = pd.date_range("2021-05-01 00:00:00+00:00", periods=rows, freq="30min")
    values = 10 + 3 * np.sin(np.arange(rows) * 2 * np.pi / 48)
    pd.DataFrame({"datetime_gmt": stamps.astype(str), "generation_mw": values.round(3)}
                 ).to_csv(path, index=False)
    return path


SOLAR = ["experiment=course_ex1", "dataset=csv_series", "dataset.date_column=datetime_gmt",
         "dataset.value_column=generation_mw", "dataset.window=8", "dataset.seasonal_period=4",
         "dataset.horizon=3", "dataset.calendar=[hour]"]


def test_a_naive_test_start_splits_a_zoned_series(tmp_path):
    path = half_hourly_csv(tmp_path / "solar.csv")
    cfg = compose([*SOLAR, f"dataset.path={path}", "dataset.test_start=2021-05-12", *FAST])
    raw = tmp_path / "raw"
    raw.mkdir()
    copy_into(path, raw)
    data = instantiate(cfg.dataset, "dataset").preprocess(raw)
    first_test = int(data.extras["target_pos"][data.splits["test"][0]][0])
    assert data.meta.dates[first_test] == "2021-05-12 00:00:00+00:00"
    assert data.meta.raw["date_style"] == {"times": True, "sep": " ", "tz": "UTC"}


@pytest.mark.slow  # a model server
def test_a_half_hourly_series_with_a_zone_trains_predicts_and_serves(tmp_path, run):
    """With tracking on and the model logged, a half-hourly series in UTC: the run
    finishes, predict answers the three half-hours after a day's last (midnight first)
    in the input's own form, and the logged model answers its own serving example."""
    import mlflow
    from mlflow.tracking import MlflowClient

    from seqlab.tracking.store import fluent_uri

    path = half_hourly_csv(tmp_path / "solar.csv")
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    cfg = compose([*SOLAR, f"dataset.path={path}", "optim.max_epochs=1",
                   "model.hidden_size=4", *FAST, "tracking.enabled=true",
                   f"tracking.uri={uri}", f"tracking.artifact_root={tmp_path}/artifacts"])
    result = run(cfg, tmp_path / "run")
    run_id = result["mlflow_run_id"]
    assert MlflowClient(uri).get_run(run_id).info.status == "FINISHED"

    table = pd.read_csv(path, dtype=str)
    table[table["datetime_gmt"] < "2021-05-08"].tail(12).to_csv(tmp_path / "recent.csv",
                                                                index=False)
    done = run_module("seqlab.predict", str(tmp_path / "run"), "--input",
                      str(tmp_path / "recent.csv"),
                      env={**os.environ, "SEQLAB_ROOT": str(REPO)})
    assert done.returncode == 0, done.stderr
    answers = pd.read_csv(io.StringIO(done.stdout), dtype={"date": str})
    assert answers["date"].tolist() == ["2021-05-08 00:00:00+00:00",
                                        "2021-05-08 00:30:00+00:00",
                                        "2021-05-08 01:00:00+00:00"]

    with fluent_uri(uri):
        folder = Path(mlflow.artifacts.download_artifacts(
            f"runs:/{run_id}/model", dst_path=str(tmp_path / "download"), tracking_uri=uri))
        served = mlflow.pyfunc.load_model(str(folder))
    split = json.loads((folder / "serving_input_example.json").read_text())["dataframe_split"]
    example = pd.DataFrame(split["data"], columns=split["columns"])
    assert "2021-05-13 00:00:00+00:00" in example["datetime_gmt"].tolist()
    assert example["datetime_gmt"].str.endswith("+00:00").all()
    answered = served.predict(example)
    assert answered["date"].tolist() == ["2021-05-13 02:30:00+00:00",
                                         "2021-05-13 03:00:00+00:00",
                                         "2021-05-13 03:30:00+00:00"]
