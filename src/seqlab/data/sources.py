"""Raw data sources: each writes its files into data/raw/<name>/.

Offline sources read data shipped inside installed packages (scikit-learn, statsmodels),
so `dvc repro` works on a machine with no network. Remote sources download a file with a
pinned checksum (data/downloads.py) and convert it. A series source writes `series.csv`
with columns `date,value`; an image source writes `images.npz`; a package that generates
data (num2words, babel) writes `package.json` with its version.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from seqlab.data import fra_eng, imdb, mnist, sktime_data, treebank, ts_file
from seqlab.data.dates import write_dates
from seqlab.data.downloads import Remote, download
from seqlab.data.package_sources import PACKAGES, package_record
from seqlab.data.processed import write_npz
from seqlab.data.user_files import copy_into
from seqlab.errors import DataError
from seqlab.io import atomic_dir
from seqlab.layout import IMAGES_FILE, PACKAGE_FILE, SERIES_FILE


def _statsmodels_frame(name: str) -> pd.DataFrame:
    try:
        module = importlib.import_module(f"statsmodels.datasets.{name}")
        return module.load_pandas().data
    except (ImportError, FileNotFoundError, OSError) as error:
        raise DataError(
            f"statsmodels' shipped dataset {name!r} is missing ({error}); "
            "reinstall it with: pip install --force-reinstall statsmodels"
        ) from None


def _yearly(frame: pd.DataFrame, year: str, value: str) -> pd.DataFrame:
    dates = pd.to_datetime(frame[year].astype(int).astype(str) + "-01-01")
    return pd.DataFrame({"date": dates, "value": frame[value].astype(float)})


def elec_equip() -> pd.DataFrame:
    """Euro-area electrical equipment turnover index, monthly, 1995-01 to 2016-05."""
    frame = _statsmodels_frame("elec_equip")
    return pd.DataFrame({"date": frame.index, "value": frame.iloc[:, 0].astype(float)})


def sunspots() -> pd.DataFrame:
    """Yearly sunspot activity, 1700-2008."""
    return _yearly(_statsmodels_frame("sunspots"), "YEAR", "SUNACTIVITY")


def nile() -> pd.DataFrame:
    """Yearly flow of the Nile at Aswan, 1871-1970."""
    return _yearly(_statsmodels_frame("nile"), "year", "volume")


def co2() -> pd.DataFrame:
    """Weekly Mauna Loa CO2, 1958-2001, with its 59 missing weeks left missing."""
    frame = _statsmodels_frame("co2")
    return pd.DataFrame({"date": frame.index, "value": frame["co2"].astype(float)})


def elnino() -> pd.DataFrame:
    """Monthly sea surface temperature, 1950-2010, unrolled from one row a year."""
    frame = _statsmodels_frame("elnino")
    long = frame.melt(id_vars="YEAR", var_name="month", value_name="value")
    month = pd.to_datetime(long["month"], format="%b").dt.month
    long["date"] = pd.to_datetime(
        {"year": long["YEAR"].astype(int), "month": month, "day": 1}
    )
    return long.sort_values("date")[["date", "value"]].reset_index(drop=True)


def digits() -> dict[str, np.ndarray]:
    """scikit-learn's 1,797 handwritten digits, 8x8 grey levels 0-16."""
    try:
        from sklearn.datasets import load_digits

        bunch = load_digits()
    except (ImportError, FileNotFoundError, OSError) as error:
        raise DataError(
            f"scikit-learn's shipped digits are missing ({error}); "
            "reinstall it with: pip install --force-reinstall scikit-learn"
        ) from None
    return {"images": bunch.images.astype(np.uint8), "labels": bunch.target.astype(np.int64)}


SERIES_SOURCES: dict[str, Callable[[], pd.DataFrame]] = {
    "elec_equip": elec_equip,
    "sunspots": sunspots,
    "nile": nile,
    "co2": co2,
    "elnino": elnino,
}


def read_cansim(path: Path, column: str = "Unadjusted") -> pd.DataFrame:
    """A Statistics Canada CANSIM table as CSV: 6 lines of title and notes, the header
    `Adjustments,Unadjusted,Seasonally adjusted`, a row a month (`Jan-1991`), then 9
    lines of footnotes."""
    try:
        frame = pd.read_csv(path, skiprows=6, skipfooter=9, engine="python")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: not a CANSIM table ({' '.join(str(error).split())})"
                        ) from None
    if "Adjustments" not in frame or column not in frame:
        raise DataError(f"{path}: expected the columns Adjustments and {column}; found "
                        + ", ".join(map(str, frame.columns)))
    dates = pd.to_datetime(frame["Adjustments"], format="%b-%Y", errors="coerce")
    if dates.isna().any():
        row = int(dates.isna().to_numpy().argmax())
        raise DataError(f"{path}: line {row + 8} has no Mon-YYYY date: "
                        f"{frame['Adjustments'][row]!r}")
    return pd.DataFrame({"date": dates, "value": pd.to_numeric(frame[column], errors="coerce")})


def read_airline(path: Path) -> pd.DataFrame:
    """The airline passengers CSV: `"Month","Thousand Passengers"` with `"1949-01"` dates,
    and in some copies a line of description after the data."""
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: not a readable CSV ({' '.join(str(error).split())})"
                        ) from None
    if list(frame.columns[:2]) != ["Month", "Thousand Passengers"]:
        raise DataError(f"{path}: expected the columns Month and Thousand Passengers; found "
                        + ", ".join(map(str, frame.columns)))
    dates = pd.to_datetime(frame["Month"], format="%Y-%m", errors="coerce")
    keep = dates.notna()  # the description line, if any, has no date
    return pd.DataFrame({"date": dates[keep], "value": pd.to_numeric(
        frame["Thousand Passengers"][keep], errors="coerce")}).reset_index(drop=True)


@dataclass(frozen=True)
class RemoteSeries:
    """A `date,value` series in a file on the web."""

    remote: Remote
    read: Callable[[Path], pd.DataFrame]


REMOTE_SERIES: dict[str, RemoteSeries] = {
    # The course's Exercise 1 data: monthly Canadian retail sales (table 080-0020),
    # Jan 1991 - Jan 2017, 329 lines.
    "retail_sales": RemoteSeries(Remote(
        "https://raw.githubusercontent.com/Dataweekends/zero_to_deep_learning_video/master/"
        "data/cansim-0800020-eng-6674700030567901031.csv",
        "sha256:a8dea18b3d67bb6173783c8a7070dc2a44f3d000ecd75af4d3c7f5ed9f6d4859"), read_cansim),
    # Monthly international airline passengers, Jan 1949 - Dec 1960 (Box & Jenkins), from
    # the same repository at a fixed commit. No checksum is published for it, so its
    # sha256 is pinned at the first fetch (data/downloads/<file>.sha256).
    "airline_passengers": RemoteSeries(Remote(
        "https://raw.githubusercontent.com/Dataweekends/zero_to_deep_learning_video/"
        "a25615a25327dc301f88c00d27268e499c8d1839/data/international-airline-passengers.csv",
        None), read_airline),
}


@dataclass(frozen=True)
class Source:
    """One raw source: `write(folder, downloads)` fills data/raw/<name>/, whose `file`
    is there once it is fetched. A remote source downloads into `downloads` first."""

    write: Callable[[Path, Path], None]
    file: str
    remote: bool = False  # downloads from the web (tests serve it from 127.0.0.1)


def _series(name: str) -> Source:
    def write(folder: Path, downloads: Path) -> None:
        if name in SERIES_SOURCES:
            frame = SERIES_SOURCES[name]()
        else:
            remote = REMOTE_SERIES[name]
            frame = remote.read(download(name, remote.remote, downloads))
        # Written by the one writer of dates: the date alone, or its time and offset too.
        frame.assign(date=write_dates(frame["date"])).to_csv(folder / SERIES_FILE, index=False)
    return Source(write, SERIES_FILE, remote=name in REMOTE_SERIES)


def _package(name: str) -> Source:
    """A package that generates data: record the version the data come from."""
    return Source(lambda folder, downloads: (folder / PACKAGE_FILE).write_text(
        package_record(name)), PACKAGE_FILE)


SOURCES: dict[str, Source] = {
    **{name: _series(name) for name in (*SERIES_SOURCES, *REMOTE_SERIES)},
    "digits": Source(lambda folder, downloads: write_npz(folder / IMAGES_FILE, digits()),
                     IMAGES_FILE),
    "mnist": Source(mnist.write, IMAGES_FILE, remote=True),
    **{name: _package(name) for name in PACKAGES},
    "imdb": Source(imdb.write, imdb.REVIEWS_FILE, remote=True),
    "fra_eng": Source(fra_eng.write, fra_eng.PAIRS_FILE, remote=True),
    "ud_ewt": Source(treebank.writer("ud_ewt"), "en_ewt-ud-train.conllu",
                     remote=True),  # with its dev and test files
    **{name: Source(write, file)  # real data shipped inside sktime
       for name, (write, file) in sktime_data.SHIPPED.items()},
    **{f"uea_{problem}": Source(ts_file.shipped_writer(problem), f"{problem}_TRAIN.ts")
       for problem in ts_file.SHIPPED},  # with its _TEST.ts
}


def raw_files(name: str, paths: Sequence[str | Path] = ()) -> list[str]:
    """The files a fetched source's folder holds (the user's own files: their copies)."""
    return [Path(p).name for p in paths] if paths else [SOURCES[name].file]


def reads(name: str) -> str:
    """What fetching `name` reads, relative to the project root: the module that writes it
    (a DVC dependency of its fetch stage, so editing it refetches that source only)."""
    module = SOURCES[name].write.__module__
    return f"src/{module.replace('.', '/')}.py"


def fetch(name: str, folder: Path, downloads: Path | None = None,
          paths: Sequence[str | Path] = ()) -> Path:
    """Materialise source `name` into `folder` (replacing it when complete); return it.

    A remote source downloads its file into `downloads` first (data/downloads/ beside
    data/raw/ unless given). With `paths`, the source is the user's own files, copied as
    they are (bring your own data: the dataset's kind reads them).
    """
    if not paths and name not in SOURCES:
        raise DataError(f"unknown source {name!r}; known sources: {', '.join(SOURCES)}")
    with atomic_dir(Path(folder)) as tmp:
        if paths:
            for path in paths:
                copy_into(path, tmp)
        else:
            SOURCES[name].write(tmp, downloads or Path(folder).parent.parent / "downloads")
    return Path(folder)
