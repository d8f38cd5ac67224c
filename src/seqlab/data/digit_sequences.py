"""scikit-learn digits as inputs: 64 pixel steps, 8 row steps (Exercise 2) or one image."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqlab.config import require_choice, require_int, require_number
from seqlab.data.meta import Meta
from seqlab.data.processed import ProcessedData
from seqlab.errors import DataError
from seqlab.layout import IMAGES_FILE

READS = ("pixels", "rows", "image")  # image: one step of 64 values (one-to-one)
GREY_LEVELS = 16.0


def load_images(raw_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    path = Path(raw_dir) / IMAGES_FILE
    if not path.is_file():
        raise DataError(f"{path} is missing; run the fetch stage (dvc repro) first")
    with np.load(path, allow_pickle=False) as arrays:
        return arrays["images"], arrays["labels"]


def stratified_splits(
    labels: np.ndarray, test_fraction: float, val_fraction: float, seed: int
) -> dict[str, np.ndarray]:
    """Train/val/test row indices, each split holding every class in proportion."""
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(labels))
    train, test = train_test_split(
        rows, test_size=test_fraction, stratify=labels, random_state=seed
    )
    val = np.array([], dtype=np.int64)
    if val_fraction > 0:
        train, val = train_test_split(
            train, test_size=val_fraction, stratify=labels[train], random_state=seed
        )
    return {name: np.sort(idx).astype(np.int64) for name, idx in
            (("train", train), ("val", val), ("test", test))}


@dataclass
class DigitSequences:
    """Each 8x8 digit as 64 steps of one pixel, 8 steps of one row, or one 64-value step."""

    name: str
    source: str = "digits"
    read: str = "pixels"
    test_fraction: float = 0.2
    val_fraction: float = 0.1  # of the training part
    seed: int = 0  # of the stratified split

    def __post_init__(self) -> None:
        require_choice("read", self.read, READS)
        require_number("test_fraction", self.test_fraction, 0, 1, low_open=True, high_open=True)
        require_number("val_fraction", self.val_fraction, 0, 1, high_open=True)
        require_int("seed", self.seed, minimum=0)

    task = "classification"

    @property
    def archetype(self) -> str:
        return "one_to_one" if self.read == "image" else "many_to_one"

    def preprocess(self, raw_dir: Path) -> ProcessedData:
        images, labels = load_images(raw_dir)
        pixels = images.astype(np.float32) / GREY_LEVELS
        n = len(pixels)
        shape = {"pixels": (n, 64, 1), "rows": (n, 8, 8), "image": (n, 1, 64)}[self.read]
        inputs = pixels.reshape(shape)
        classes = sorted(int(c) for c in np.unique(labels))
        splits = stratified_splits(labels, self.test_fraction, self.val_fraction, self.seed)
        return ProcessedData(
            inputs=np.ascontiguousarray(inputs),
            targets=labels.astype(np.int64),
            lengths=np.full(n, inputs.shape[1], dtype=np.int64),
            splits=splits,
            meta=Meta(
                name=self.name, task=self.task, archetype=self.archetype,
                input_size=int(inputs.shape[2]), output_size=len(classes),
                steps=int(inputs.shape[1]), classes=[str(c) for c in classes],
            ),
        )
