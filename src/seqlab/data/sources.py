"""Raw data sources: each writes its files into data/raw/<name>/.

Offline sources read data shipped inside installed packages (scikit-learn, statsmodels),
so `dvc repro` works on a machine with no network. A series source writes `series.csv`
with columns `date,value`; an image source writes `images.npz`; a package that generates
data (num2words, babel) writes `package.json` with its version.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from seqlab.data.package_sources import PACKAGES, package_record
from seqlab.data.processed import write_npz
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
IMAGE_SOURCES: dict[str, Callable[[], dict[str, np.ndarray]]] = {"digits": digits}
SOURCES = (*SERIES_SOURCES, *IMAGE_SOURCES, *PACKAGES)


def raw_file(name: str) -> str:
    """The file a fetched source's folder holds."""
    if name in SERIES_SOURCES:
        return SERIES_FILE
    return IMAGES_FILE if name in IMAGE_SOURCES else PACKAGE_FILE


def fetch(name: str, folder: Path) -> Path:
    """Materialise source `name` into `folder` (replacing it when complete); return it."""
    if name not in SOURCES:
        raise DataError(f"unknown source {name!r}; known sources: {', '.join(SOURCES)}")
    with atomic_dir(Path(folder)) as tmp:
        if name in SERIES_SOURCES:
            frame = SERIES_SOURCES[name]()
            frame.to_csv(tmp / SERIES_FILE, index=False, date_format="%Y-%m-%d")
        elif name in IMAGE_SOURCES:
            write_npz(tmp / IMAGES_FILE, IMAGE_SOURCES[name]())
        else:  # a package that generates data: record the version the data come from
            (tmp / PACKAGE_FILE).write_text(package_record(name))
    return Path(folder)
