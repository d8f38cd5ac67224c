"""Real data shipped inside sktime: JapaneseVowels (many-to-one) and an ECG (tagging)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqlab.config import compose, instantiate
from seqlab.data import sktime_data, sources
from seqlab.data.ecg_steps import IGNORE, EcgPhase, r_peaks
from seqlab.data.japanese_vowels import JapaneseVowels, load_vowels, real_steps
from seqlab.errors import ConfigError, DataError
from seqlab.models.many_to_one import ManyToOneNet
from tests.conftest import tiny

SHIPPED = list(sktime_data.SHIPPED)


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    """Each shipped source fetched once: name -> its raw folder."""
    root = tmp_path_factory.mktemp("raw")
    return {name: sources.fetch(name, root / name) for name in SHIPPED}


@pytest.fixture(scope="module")
def vowels(raw):
    return JapaneseVowels(name="jv").preprocess(raw["japanese_vowels"])


@pytest.fixture(scope="module")
def ecg(raw):
    return EcgPhase(name="ecg").preprocess(raw["mitdb_ecg"])


@pytest.mark.parametrize("name", SHIPPED)
def test_fetch_is_offline_and_byte_identical(raw, tmp_path, name):
    again = sources.fetch(name, tmp_path / name)
    [file] = sources.raw_files(name)
    assert not sources.SOURCES[name].remote
    assert (again / file).read_bytes() == (raw[name] / file).read_bytes()
    assert sources.reads(name) == "src/seqlab/data/sktime_data.py"


@pytest.mark.parametrize("name", SHIPPED)
def test_missing_sktime_file_is_one_clear_error(tmp_path, monkeypatch, name):
    monkeypatch.setattr(sktime_data, "data_dir", lambda: tmp_path / "empty")
    with pytest.raises(DataError, match="pip install --force-reinstall sktime") as error:
        sources.fetch(name, tmp_path / name)
    assert "\n" not in str(error.value) and "is missing" in str(error.value)
    assert not (tmp_path / name).exists()  # nothing half-written


def test_damaged_ts_file_is_one_clear_error(tmp_path, monkeypatch):
    folder = tmp_path / "data" / "JapaneseVowels"
    folder.mkdir(parents=True)
    (folder / "JapaneseVowels_TRAIN.ts").write_text("@problemName x\n@data\n1,2:3\n")
    monkeypatch.setattr(sktime_data, "data_dir", lambda: tmp_path / "data")
    with pytest.raises(DataError, match=r"JapaneseVowels_TRAIN.ts is missing or unreadable"):
        sources.fetch("japanese_vowels", tmp_path / "out")


def test_vowels_shapes_classes_and_official_splits(raw, vowels):
    assert vowels.inputs.shape == (640, 29, 12) and vowels.inputs.dtype == np.float32
    assert vowels.lengths.min() == 7 and vowels.lengths.max() == 29
    assert vowels.meta.output_size == 9 and vowels.meta.variable_length
    splits = vowels.splits
    official_test = load_vowels(raw["japanese_vowels"])["official_test"]
    np.testing.assert_array_equal(splits["test"], np.flatnonzero(official_test))
    assert len(splits["test"]) == 370
    carved = np.sort(np.concatenate([splits["train"], splits["val"]]))
    np.testing.assert_array_equal(carved, np.flatnonzero(~official_test))
    assert np.bincount(vowels.targets[splits["val"]]).tolist() == [6] * 9  # stratified
    assert not vowels.inputs[~real_steps(vowels.lengths, 29)].any()  # zero padding


def test_vowels_are_standardised_with_training_rows_only(raw, vowels):
    values = load_vowels(raw["japanese_vowels"])["values"]
    train = vowels.splits["train"]
    fitted = values[train][real_steps(vowels.lengths[train], 29)]
    np.testing.assert_allclose(vowels.extras["channel_mean"], fitted.mean(axis=0))
    scaled = vowels.inputs[train][real_steps(vowels.lengths[train], 29)]
    np.testing.assert_allclose(scaled.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(scaled.std(axis=0), 1, atol=1e-4)
    # The test split's own statistics differ: they were not used.
    test = vowels.splits["test"]
    held_out = vowels.inputs[test][real_steps(vowels.lengths[test], 29)]
    assert np.abs(held_out.mean(axis=0)).max() > 0.01


def test_vowels_padding_never_changes_a_prediction(vowels):
    torch.manual_seed(0)
    net = ManyToOneNet(12, 9, cell="gru", hidden_size=8).eval()
    rows = [int(np.argmin(vowels.lengths)), int(np.argmax(vowels.lengths))]
    inputs, lengths = torch.as_tensor(vowels.inputs[rows]), torch.as_tensor(vowels.lengths[rows])
    together = net(inputs, lengths)
    for i, row in enumerate(rows):
        alone = net(inputs[i : i + 1, : vowels.lengths[row]])
        torch.testing.assert_close(together[i : i + 1], alone)


def test_ecg_windows_labels_and_chronological_splits(ecg):
    assert ecg.inputs.shape[1:] == (360, 1) and ecg.targets.shape == ecg.inputs.shape[:2]
    assert ecg.meta.task == "tagging" and ecg.meta.archetype == "synchronous"
    position, lengths = ecg.extras["position"], ecg.lengths
    real = position >= 0
    np.testing.assert_array_equal(real.sum(axis=1), lengths)
    assert (ecg.targets[~real] == IGNORE).all() and (ecg.targets[real] >= 0).all()
    assert (ecg.targets[real] < ecg.meta.output_size).all()
    periods = {}
    for split in ("train", "val", "test"):
        steps = position[ecg.splits[split]]
        steps = steps[steps >= 0]
        periods[split] = (steps.min(), steps.max())
    # Each period ends before the next begins: no window straddles two splits.
    assert periods["train"][1] < periods["val"][0] <= periods["val"][1] < periods["test"][0]
    # Validation and test windows tile their period, each step scored once.
    for split in ("val", "test"):
        steps = position[ecg.splits[split]]
        steps = steps[steps >= 0]
        first, last = periods[split]
        np.testing.assert_array_equal(np.sort(steps), np.arange(first, last + 1))
    # Every step at an R peak is labelled 0 (no time since the beat).
    peaks = ecg.extras["r_peaks"]
    on_peak = np.isin(position, peaks) & real
    assert on_peak.any() and (ecg.targets[on_peak] == 0).all()


def test_ecg_is_standardised_with_the_training_period_only(raw, ecg):
    signal = np.load(raw["mitdb_ecg"] / sktime_data.ECG_FILE)["signal"]
    signal = signal[r_peaks(signal)[0]:]  # the recording begins at its first R peak
    val = ecg.extras["position"][ecg.splits["val"]]
    training_period = signal[: val[val >= 0].min()]
    position = ecg.extras["position"][ecg.splits["train"]]
    real = position >= 0
    expected = (signal[position[real]] - training_period.mean()) / training_period.std()
    np.testing.assert_allclose(ecg.inputs[ecg.splits["train"]][real][:, 0], expected,
                               rtol=1e-5, atol=1e-5)


def test_ecg_config_and_data_checks(raw):
    with pytest.raises(ConfigError, match="window: must be at least 2"):
        instantiate(compose(["dataset=ecg_phase", "dataset.window=1"]).dataset, "dataset")
    with pytest.raises(DataError, match="shorter than one window; use a smaller dataset.window"):
        EcgPhase(name="ecg", window=7000).preprocess(raw["mitdb_ecg"])


@pytest.mark.slow  # a run per shipped series
@pytest.mark.parametrize(("preset", "overrides"), [
    ("japanese_vowels", ["optim.max_epochs=2"]),
    ("ecg_phase_steps", ["optim.max_epochs=1", "dataset.stride=600"]),
    ("ecg_phase_steps_fc", ["optim.max_epochs=1", "dataset.stride=600"]),
])
def test_tiny_end_to_end_run(run, tmp_path, one_thread, preset, overrides):
    metrics = run(tiny(f"experiment={preset}", *overrides), tmp_path / "run")
    assert metrics["headline"]["metric"] == "test/acc"
    assert 0.0 <= metrics["headline"]["value"] <= 1.0
    assert metrics["dataset"] == compose([f"experiment={preset}"]).dataset.name
