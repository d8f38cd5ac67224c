"""Digit images as inputs: pixel steps, row steps (Exercise 2) or one image.

Any N x H x W grey images: scikit-learn's 8x8 digits (levels 0-16: 64 pixel steps, 8 row
steps, one 64-value image) or MNIST's 28x28 (levels 0-255: 784 pixel steps, 28 row steps,
one 784-value image). A source with an official test split (MNIST) keeps it; one
without (scikit-learn's) is split here, stratified. Limits cut either part to a
CPU-sized, still stratified subset.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqlab.checks import require_choice, require_int, require_number
from seqlab.data.meta import Meta
from seqlab.data.processed import ProcessedData
from seqlab.data.raw_inputs import image_rows, scaled
from seqlab.errors import ConfigError, DataError
from seqlab.layout import IMAGES_FILE

READS = ("pixels", "rows", "image")  # image: one step of H * W values (one-to-one)
GREY_LEVELS = 16.0  # scikit-learn's digits: full ink; a source may store its own max_level


@dataclass(frozen=True)
class DigitImages:
    """A raw images.npz: grey images, their labels and, when the source has one, its
    official test split."""

    images: np.ndarray  # N x H x W grey levels
    labels: np.ndarray  # N class ids
    max_level: float  # the grey level of full ink
    test: np.ndarray | None  # bool N: the official test images

    def scaled(self, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """float32 values in [0, 1] of these rows' images (all of them by default)."""
        return scaled(self.images[rows], 0.0, self.max_level)  # as predict scales them


def read_images(raw_dir: Path) -> DigitImages:
    path = Path(raw_dir) / IMAGES_FILE
    if not path.is_file():
        raise DataError(f"{path} is missing; run the fetch stage (dvc repro) first")
    with np.load(path, allow_pickle=False) as arrays:
        # A Python float: a numpy float64 would promote the float32 pixels to float64.
        max_level = float(arrays["max_level"]) if "max_level" in arrays else GREY_LEVELS
        test = arrays["test"].astype(bool) if "test" in arrays else None
        return DigitImages(arrays["images"], arrays["labels"], max_level, test)


def load_images(raw_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    images = read_images(raw_dir)
    return images.images, images.labels


def stratified_subset(rows: np.ndarray, labels: np.ndarray, size: int | None, seed: int
                      ) -> np.ndarray:
    """`size` of `rows` (all when None or more than there are), each class in proportion.

    Rows are shuffled (seeded); the k-th row of a class with n rows ranks at (k + 0.5) / n,
    and the lowest ranks are kept: every class gets its share, to within one row.
    """
    if size is None or size >= len(rows):
        return rows
    shuffled = np.random.default_rng(seed).permutation(rows)
    _, klass, counts = np.unique(labels[shuffled], return_inverse=True, return_counts=True)
    by_class = np.argsort(klass, kind="stable")
    rank = np.empty(len(shuffled))
    rank[by_class] = np.arange(len(shuffled)) - (np.cumsum(counts) - counts)[klass[by_class]]
    keep = np.argsort((rank + 0.5) / counts[klass], kind="stable")[:size]
    return shuffled[keep]


def stratified_splits(
    labels: np.ndarray, test_fraction: float, val_fraction: float, seed: int,
    official_test: np.ndarray | None = None, train_limit: int | None = None,
    test_limit: int | None = None,
) -> dict[str, np.ndarray]:
    """Train/val/test row indices, each split holding every class in proportion.

    With `official_test` (a bool mask), those rows are the test part and `test_fraction`
    is unused. The limits cut the training part (before val is carved from it) and the
    test part to subsets.
    """
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(labels))
    try:
        if official_test is None:
            train, test = train_test_split(
                rows, test_size=test_fraction, stratify=labels, random_state=seed
            )
        else:
            train, test = rows[~official_test], rows[official_test]
        train = stratified_subset(train, labels, train_limit, seed)
        test = stratified_subset(test, labels, test_limit, seed)
        val = np.array([], dtype=np.int64)
        if val_fraction > 0:
            train, val = train_test_split(
                train, test_size=val_fraction, stratify=labels[train], random_state=seed
            )
    except ValueError as error:  # scikit-learn's: too few rows of a class to stratify
        reason = " ".join(str(error).split())
        raise ConfigError(f"dataset: cannot split {len(labels)} images as asked ({reason}); "
                          "raise train_limit, test_limit or val_fraction") from None
    return {name: np.sort(idx).astype(np.int64) for name, idx in
            (("train", train), ("val", val), ("test", test))}


@dataclass
class DigitSequences:
    """Each H x W digit as H * W steps of one pixel, H steps of one row, or one step."""

    name: str
    source: str = "digits"
    read: str = "pixels"
    test_fraction: float = 0.2  # unused when the source has an official test split
    val_fraction: float = 0.1  # of the training part
    seed: int = 0  # of the stratified split and subsets
    train_limit: int | None = None  # the training part (val included) cut to this many
    test_limit: int | None = None  # the test part cut to this many

    def __post_init__(self) -> None:
        require_choice("read", self.read, READS)
        require_number("test_fraction", self.test_fraction, 0, 1, low_open=True, high_open=True)
        require_number("val_fraction", self.val_fraction, 0, 1, high_open=True)
        require_int("seed", self.seed, minimum=0)
        for key in ("train_limit", "test_limit"):
            if getattr(self, key) is not None:
                require_int(key, getattr(self, key), minimum=1)

    task = "classification"

    @property
    def archetype(self) -> str:
        return "one_to_one" if self.read == "image" else "many_to_one"

    def preprocess(self, raw_dir: Path) -> ProcessedData:
        data = read_images(raw_dir)
        splits = stratified_splits(data.labels, self.test_fraction, self.val_fraction,
                                   self.seed, data.test, self.train_limit, self.test_limit)
        # Only the rows a split uses are kept, renumbered: a subset stays small on disk.
        used = np.sort(np.concatenate(list(splits.values())))
        splits = {name: np.searchsorted(used, idx).astype(np.int64)
                  for name, idx in splits.items()}
        pixels, labels = data.scaled(used), data.labels[used]
        n, height, width = pixels.shape
        shape = {"pixels": (n, height * width, 1), "rows": (n, height, width),
                 "image": (n, 1, height * width)}[self.read]
        inputs = pixels.reshape(shape)
        classes = sorted(int(c) for c in np.unique(data.labels))  # a subset's too
        return ProcessedData(
            inputs=np.ascontiguousarray(inputs),
            targets=labels.astype(np.int64),
            lengths=np.full(n, inputs.shape[1], dtype=np.int64),
            splits=splits,
            meta=Meta(
                name=self.name, task=self.task, archetype=self.archetype,
                input_size=int(inputs.shape[2]), output_size=len(classes),
                steps=int(inputs.shape[1]), classes=[str(c) for c in classes],
                raw=image_rows(data.images[used][splits["test"][:2]],
                               inputs.shape[1:], data.max_level),
            ),
        )
