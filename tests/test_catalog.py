"""Raw sources, preprocessed datasets and the one tensor format they share."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from seqlab.config import compose, instantiate
from seqlab.data import sources
from seqlab.data.digit_sequences import DigitSequences
from seqlab.data.processed import ProcessedData
from seqlab.errors import DataError
from seqlab.layout import conf_dir

SERIES_LENGTHS = {"elec_equip": 257, "sunspots": 309, "nile": 100, "co2": 2284, "elnino": 732}
DATASETS = sorted(p.stem for p in (conf_dir() / "dataset").glob("*.yaml"))


def dataset_presets() -> dict:
    """Each dataset preset as `dataset=<name>` composes it, all in one Hydra context:
    composing train.yaml for each would add 14 s to every test session's collection."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    with initialize_config_dir(str(conf_dir()), version_base="1.3"):
        return {name: hydra_compose(config_name=f"dataset/{name}").dataset
                for name in DATASETS}


# Remote sources need the network: tests/test_downloads.py fetches them from a local server.
# The user's own files (`path: ???`) are tested with files the tests write
# (tests/test_user_series.py and the other bring-your-own tests).
# (OmegaConf's `in` hides a `???` key, so the keys are asked for.)
OFFLINE = [name for name, cfg in dataset_presets().items()
           if "path" not in cfg.keys()  # noqa: SIM118
           and not sources.SOURCES[cfg.source].remote]


@pytest.mark.parametrize(("name", "length"), SERIES_LENGTHS.items())
def test_series_sources_write_date_value_csv(tmp_path, name, length):
    folder = sources.fetch(name, tmp_path / name)
    frame = pd.read_csv(folder / sources.SERIES_FILE, parse_dates=["date"])
    assert list(frame.columns) == ["date", "value"]
    assert len(frame) == length
    assert frame["date"].is_monotonic_increasing


def test_digits_source_and_stratified_splits(tmp_path):
    folder = sources.fetch("digits", tmp_path / "digits")
    data = DigitSequences(name="d", read="rows").preprocess(folder)
    assert data.inputs.shape == (1797, 8, 8) and data.inputs.max() <= 1.0
    parts = [set(data.splits[s]) for s in ("train", "val", "test")]
    assert sum(map(len, parts)) == 1797 and not (parts[0] & parts[2]) and not (parts[1] & parts[2])
    test_share = np.bincount(data.targets[data.splits["test"]]) / len(data.splits["test"])
    np.testing.assert_allclose(test_share, np.bincount(data.targets) / 1797, atol=0.01)


def test_missing_package_data_is_one_clear_error(tmp_path, monkeypatch):
    import statsmodels.datasets.nile as nile

    def lost(*args, **kwargs):
        raise FileNotFoundError("nile.csv")

    monkeypatch.setattr(nile, "load_pandas", lost)
    with pytest.raises(DataError, match="pip install --force-reinstall statsmodels"):
        sources.fetch("nile", tmp_path / "nile")
    assert not (tmp_path / "nile").exists()  # nothing half-written


def test_unknown_source(tmp_path):
    with pytest.raises(DataError, match="unknown source 'nope'; known sources: elec_equip"):
        sources.fetch("nope", tmp_path / "nope")


@pytest.mark.parametrize("dataset", OFFLINE)
def test_every_offline_dataset_preprocesses(tmp_path, dataset):
    cfg = compose([f"dataset={dataset}"])
    spec = instantiate(cfg.dataset, "dataset")
    data = spec.preprocess(sources.fetch(spec.source, tmp_path / "raw"))
    data.save(tmp_path / "processed")
    loaded = ProcessedData.load(tmp_path / "processed")
    if loaded.inputs.dtype.kind == "f":  # values: N x T x F
        assert loaded.inputs.dtype == np.float32 and loaded.inputs.ndim == 3
        assert loaded.meta.input_size == loaded.inputs.shape[2]
    else:  # token ids: N x T
        assert loaded.inputs.dtype == np.int64 and loaded.inputs.ndim == 2
    assert len(loaded.inputs) == len(loaded.targets) == len(loaded.lengths)
    assert {"train", "test"} <= set(loaded.splits) and len(loaded.splits["test"])
    np.testing.assert_array_equal(loaded.inputs, data.inputs)
    assert not list((tmp_path / "processed").glob("*.pkl"))


def test_same_config_same_bytes(tmp_path):
    cfg = compose(["dataset=elec_equip"])
    spec = instantiate(cfg.dataset, "dataset")
    raw = sources.fetch(spec.source, tmp_path / "raw")
    spec.preprocess(raw).save(tmp_path / "a")
    time.sleep(2.1)  # zip members carry a timestamp with 2-second resolution
    spec.preprocess(raw).save(tmp_path / "b")
    for name in ("arrays.npz", "meta.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_run_cache_serves_fresh_data_after_a_code_change(tmp_path, monkeypatch):
    """The cache of `python -m seqlab.train` is keyed by the data code, not the config alone;
    a raw folder that lost its file is fetched again."""
    from seqlab import preparation
    from seqlab.layout import DataFolders

    folders = DataFolders(tmp_path / "raw", tmp_path / "processed")
    cfg = compose(["dataset=nile"])
    first = preparation.prepare_data(cfg.dataset, folders)
    assert preparation.prepare_data(cfg.dataset, folders) == first  # reused as it is
    monkeypatch.setattr(preparation, "data_code_hash", lambda dataset_cfg: "changed-code")
    second = preparation.prepare_data(cfg.dataset, folders)
    assert second != first and ProcessedData.load(second).meta.name == "nile"
    raw_file = tmp_path / "raw" / "changed-code" / "nile" / "series.csv"
    raw_file.unlink()  # a damaged raw folder
    import shutil

    shutil.rmtree(second)
    preparation.prepare_data(cfg.dataset, folders)
    assert raw_file.is_file()
