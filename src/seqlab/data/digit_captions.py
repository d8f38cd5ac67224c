"""Strips of 1-3 handwritten digits side by side, captioned with the number in words.

Digit images (scikit-learn's 8x8 or MNIST's 28x28) are split into train/val/test first
(MNIST's official test images are the test pool) and each strip is composed from its
own split's images only, so every test image is unseen in training. The number is the
digits read left to right (a strip of two or more never starts with 0); num2words spells
it in `lang`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqlab.checks import require_choice, require_int, require_number
from seqlab.data.digit_sequences import read_images, stratified_splits
from seqlab.data.package_sources import installed_version
from seqlab.data.processed import SPLITS, ProcessedData
from seqlab.data.raw_inputs import image_rows, scaled
from seqlab.data.text_pairs import generation_meta, target_arrays
from seqlab.data.vocab import LEVELS


@dataclass
class DigitCaptions:
    """A generated captioning set: N x H x (W * max_digits) images and caption tokens."""

    name: str
    source: str = "digits"
    max_digits: int = 3
    lang: str = "en"
    level: str = "word"  # word pieces | char
    train_strips: int = 6000
    val_strips: int = 500
    test_strips: int = 1000
    test_fraction: float = 0.2  # of the digit images (unused with an official test split)
    val_fraction: float = 0.1  # of the remaining digit images
    seed: int = 0

    def __post_init__(self) -> None:
        from num2words import CONVERTER_CLASSES

        require_int("max_digits", self.max_digits, minimum=1)
        require_choice("lang", self.lang, sorted(CONVERTER_CLASSES))
        require_choice("level", self.level, LEVELS)
        require_int("train_strips", self.train_strips, minimum=1)
        require_int("val_strips", self.val_strips, minimum=0)
        require_int("test_strips", self.test_strips, minimum=1)
        require_number("test_fraction", self.test_fraction, 0, 1, low_open=True, high_open=True)
        require_number("val_fraction", self.val_fraction, 0, 1, high_open=True)
        require_int("seed", self.seed, minimum=0)

    task = "generation"
    archetype = "one_to_many"

    def preprocess(self, raw_dir: Path) -> ProcessedData:
        from num2words import num2words

        data = read_images(raw_dir)
        images, labels = data.images, data.labels
        pools = stratified_splits(labels, self.test_fraction, self.val_fraction, self.seed,
                                  data.test)
        counts = {"train": self.train_strips, "val": self.val_strips, "test": self.test_strips}
        strips, numbers, splits, start = [], [], {}, 0
        for i, split in enumerate(SPLITS):
            rng = np.random.default_rng([self.seed, i])
            for _ in range(counts[split]):
                strip, number = self._strip(rng, images, labels, pools[split])
                strips.append(strip)
                numbers.append(number)
            splits[split] = np.arange(start, start + counts[split], dtype=np.int64)
            start += counts[split]
        captions = [num2words(n, lang=self.lang) for n in numbers]
        targets, target_lengths, vocab = target_arrays(captions, splits["train"], self.level)
        inputs = scaled(np.stack(strips), 0.0, data.max_level)
        return ProcessedData(
            inputs=inputs, targets=targets,
            lengths=np.full(len(inputs), inputs.shape[1], dtype=np.int64),
            splits=splits, extras={"numbers": np.array(numbers, dtype=np.int64)},
            meta=generation_meta(self.name, self.archetype, vocab, target_lengths,
                                 input_size=inputs.shape[2], steps=inputs.shape[1],
                                 provenance={"num2words": installed_version("num2words")},
                                 raw=image_rows(np.stack(strips)[splits["test"][:2]],
                                                inputs.shape[1:], data.max_level)),
        )

    def _strip(self, rng: np.random.Generator, images: np.ndarray, labels: np.ndarray,
               pool: np.ndarray) -> tuple[np.ndarray, int]:
        """One strip from `pool`'s images, left-aligned on a blank canvas, and its number."""
        k = int(rng.integers(1, self.max_digits + 1))
        first_pool = pool[labels[pool] != 0] if k > 1 else pool
        chosen = [rng.choice(first_pool), *rng.choice(pool, size=k - 1)]
        height, width = images.shape[1:]
        canvas = np.zeros((height, width * self.max_digits), dtype=np.float32)
        for j, row in enumerate(chosen):
            canvas[:, j * width : (j + 1) * width] = images[row]
        return canvas, int("".join(str(labels[row]) for row in chosen))
