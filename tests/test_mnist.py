"""MNIST as a remote dataset: its four idx-gz files, built here in the real format from
scikit-learn's digits (scaled up to 28x28), are served by the local test server as the
mirror; downloads, parsing, reads, the official split, subsets and tiny runs."""

from __future__ import annotations

import gzip
import struct
from dataclasses import replace

import numpy as np
import pytest

from seqlab.data import mnist
from seqlab.data.digit_captions import DigitCaptions
from seqlab.data.digit_sequences import DigitSequences
from seqlab.data.sources import fetch
from seqlab.errors import ConfigError, DataError
from seqlab.layout import IMAGES_FILE
from tests.conftest import tiny

TRAIN, TEST = 120, 40
REMOTES = ("TRAIN_IMAGES", "TRAIN_LABELS", "TEST_IMAGES", "TEST_LABELS")
pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one thread


def idx_gz(array: np.ndarray) -> bytes:
    """`array` (uint8) as a gzipped idx file: magic 0x08xx, each dimension, the bytes."""
    header = struct.pack(f">{1 + array.ndim}I", 0x800 + array.ndim, *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes(), mtime=0)


def digit_like(count: int, seed: int, pool: slice) -> tuple[np.ndarray, np.ndarray]:
    """`count` 28x28 digits (levels 0-255), ten classes in turn: scikit-learn's 8x8 digits
    from `pool`, scaled up 3x, padded, shifted by up to 2 pixels, with a little noise."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images, targets = bunch.images[pool], bunch.target[pool]
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % 10
    out = np.zeros((count, 28, 28))
    for i, label in enumerate(labels):
        big = np.kron(images[rng.choice(np.flatnonzero(targets == label))], np.ones((3, 3)))
        dy, dx = rng.integers(0, 5, size=2)
        out[i, dy : dy + 24, dx : dx + 24] = big * 255 / 16
    out += rng.normal(0, 8, out.shape)
    return np.clip(out, 0, 255).round().astype(np.uint8), labels.astype(np.uint8)


def mnist_files(train: int = TRAIN, test: int = TEST, seed: int = 0) -> dict[str, bytes]:
    """The four files by name, training images from one half of scikit-learn's digits
    and test images from the other."""
    parts = {"TRAIN": digit_like(train, seed, slice(0, 900)),
             "TEST": digit_like(test, seed + 1, slice(900, None))}
    return {getattr(mnist, f"{part}_{kind}").file_name: idx_gz(arrays[i])
            for part, arrays in parts.items() for i, kind in enumerate(("IMAGES", "LABELS"))}


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    """Built once: the session's shared run cache keeps what the first test downloads."""
    return mnist_files()


@pytest.fixture
def served(mirror, monkeypatch, files):
    """The four files on the mirror, with their checksums pinned in place of the real
    files' (these are built here, in the real format)."""
    for name in REMOTES:
        remote = getattr(mnist, name)
        checksum = mirror.serve(remote.file_name, files[remote.file_name])
        monkeypatch.setattr(mnist, name, replace(remote, checksum=checksum))
    return mirror


@pytest.fixture
def raw(served, tmp_path):
    return fetch("mnist", tmp_path / "raw" / "mnist", tmp_path / "downloads")


def test_the_four_files_download_once_into_images_npz(served, raw, tmp_path):
    names = {getattr(mnist, name).file_name for name in REMOTES}
    assert sorted(served.requests) == sorted(f"/{n}" for n in names)
    with np.load(raw / IMAGES_FILE) as arrays:
        assert arrays["images"].shape == (TRAIN + TEST, 28, 28)
        assert arrays["images"].dtype == np.uint8 and arrays["labels"].dtype == np.int64
        assert np.flatnonzero(arrays["test"]).tolist() == list(range(TRAIN, TRAIN + TEST))
        assert int(arrays["max_level"]) == 255
    again = fetch("mnist", tmp_path / "raw2" / "mnist", tmp_path / "downloads")
    assert len(served.requests) == 4  # the downloaded files were checked, not fetched again
    assert (again / IMAGES_FILE).read_bytes() == (raw / IMAGES_FILE).read_bytes()


@pytest.mark.parametrize(("corrupt", "message"), [
    (lambda data: data[:-100], "promises 40 x 28 x 28 = 31360 bytes, the file holds 31260: "
                               "it is truncated or corrupt"),
    (lambda data: b"\0\0\x08\x01" + data[4:], "expected the magic number 2051, found 2049"),
    (lambda data: b"", "expected the magic number 2051, found none"),
])
def test_a_corrupt_idx_file_is_one_line_naming_it(tmp_path, files, corrupt, message):
    path = tmp_path / mnist.TEST_IMAGES.file_name
    path.write_bytes(gzip.compress(corrupt(gzip.decompress(files[path.name]))))
    with pytest.raises(DataError, match=f"{path}: .*{message}") as caught:
        mnist.read_idx(path, mnist.IMAGE_MAGIC)
    assert "\n" not in str(caught.value)
    path.write_bytes(files[path.name][:-20])  # a cut-off download: the gzip stream ends early
    with pytest.raises(DataError, match=f"{path}: not a readable gzip file"):
        mnist.read_idx(path, mnist.IMAGE_MAGIC)


def test_a_corrupt_download_stops_the_fetch_naming_the_file(served, monkeypatch, tmp_path):
    """Served with its own checksum, a labels file whose count disagrees gets through the
    download and is caught by the parser."""
    labels = idx_gz(np.zeros(TEST - 1, dtype=np.uint8))
    remote = mnist.TEST_LABELS
    monkeypatch.setattr(mnist, "TEST_LABELS", replace(
        remote, checksum=served.serve(remote.file_name, labels)))
    with pytest.raises(DataError, match=f"holds {TEST} images but .*{remote.file_name} "
                       f"{TEST - 1} labels"):
        fetch("mnist", tmp_path / "raw" / "mnist", tmp_path / "downloads")
    assert not (tmp_path / "raw" / "mnist").exists()  # nothing half-written


@pytest.mark.parametrize(("read", "shape"), [("rows", (28, 28)), ("pixels", (784, 1)),
                                             ("image", (1, 784))])
def test_reads_keep_the_official_test_split(raw, read, shape):
    data = DigitSequences("m", source="mnist", read=read).preprocess(raw)
    assert data.inputs.shape == (TRAIN + TEST, *shape) and data.inputs.dtype == np.float32
    assert 0.9 < data.inputs.max() <= 1.0  # scaled by 255, not by scikit-learn's 16
    assert data.meta.steps == shape[0] and data.meta.input_size == shape[1]
    assert data.splits["test"].tolist() == list(range(TRAIN, TRAIN + TEST))
    assert len(data.splits["val"]) == 12 and len(data.splits["train"]) == 108
    assert np.bincount(data.targets[data.splits["val"]], minlength=10).min() == 1  # stratified


def test_limits_take_stratified_seeded_subsets(raw):
    spec = DigitSequences("m", source="mnist", read="rows", train_limit=100, test_limit=20)
    data = spec.preprocess(raw)
    assert len(data.inputs) == 120 and data.meta.output_size == 10
    assert len(data.splits["train"]) == 90 and len(data.splits["val"]) == 10
    assert np.bincount(data.targets[data.splits["test"]]).tolist() == [2] * 10
    again = spec.preprocess(raw)
    np.testing.assert_array_equal(again.inputs, data.inputs)  # seeded
    with pytest.raises(ConfigError, match="cannot split 160 images as asked .*number of "
                       "classes = 10.*; raise train_limit"):  # a val split of 5 images
        DigitSequences("m", source="mnist", train_limit=50).preprocess(raw)


def test_caption_strips_of_mnist_digits(raw):
    spec = DigitCaptions("c", source="mnist", train_strips=20, val_strips=4, test_strips=8)
    data = spec.preprocess(raw)
    assert data.inputs.shape == (32, 28, 84) and 0.9 < data.inputs.max() <= 1.0
    with np.load(raw / IMAGES_FILE) as arrays:
        test_images = {(image / 255.0).astype(np.float32).tobytes()
                       for image in arrays["images"][arrays["test"]]}
    for row in data.splits["test"]:
        blocks = [b for b in np.split(data.inputs[row], 3, axis=1) if b.any()]
        assert blocks and all(b.tobytes() in test_images for b in blocks)


@pytest.mark.parametrize(("preset", "metric"), [
    ("mnist_rows", "test/acc"),
    ("mnist_captions", "test/exact"),
])
def test_mnist_presets_run_end_to_end(served, run, tmp_path, preset, metric):
    small = {"mnist_rows": ["dataset.train_limit=100", "dataset.test_limit=40"],
             "mnist_captions": ["dataset.train_strips=64", "dataset.val_strips=16",
                                "dataset.test_strips=16"]}[preset]
    result = run(tiny(f"experiment={preset}", "optim.max_epochs=1", *small), tmp_path / "run")
    assert result["dataset"] == preset and result["headline"]["metric"] == metric
    assert 0 <= result["headline"]["value"] <= 1
