"""Digit "videos" for frame labelling (synchronous many-to-many).

Each video holds a digit for a random number of frames, then another digit, and so on;
every frame is a different handwritten sample of the digit, with noise and an occluding
block strong enough that one frame alone is often ambiguous. The label of every frame is
the digit shown. Images are split first (stratified), then each split's videos are
composed from that split's images only, so no test image is ever seen in training.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqlab.checks import require_int, require_number
from seqlab.data.digit_sequences import GREY_LEVELS, load_images, stratified_splits
from seqlab.data.meta import Meta
from seqlab.data.processed import SPLITS, ProcessedData
from seqlab.data.raw_inputs import scaled, step_rows
from seqlab.errors import ConfigError, DataError

IGNORE = -100  # the target of a padded frame (torch's cross-entropy ignore_index)


@dataclass
class DigitVideos:
    """Videos of held digits: N x T x 64 noisy frames, a label per frame, padded to T."""

    name: str
    source: str = "digits"
    train_videos: int = 600
    val_videos: int = 100
    test_videos: int = 200
    min_frames: int = 20  # a video's length is drawn uniformly in [min_frames, max_frames]
    max_frames: int = 40
    min_run: int = 5  # how long one digit is held, drawn uniformly in [min_run, max_run]
    max_run: int = 12
    noise_std: float = 0.5  # Gaussian noise on grey levels scaled to [0, 1]
    occlusion_prob: float = 0.5  # chance that a frame has an occluding block
    occlusion_size: int = 4  # side of the square block, in pixels of the 8 x 8 image
    test_fraction: float = 0.2  # of the images
    val_fraction: float = 0.1  # of the training images
    seed: int = 0

    def __post_init__(self) -> None:
        for key in ("train_videos", "test_videos", "min_frames", "min_run"):
            require_int(key, getattr(self, key), minimum=1)
        require_int("val_videos", self.val_videos, minimum=0)
        require_int("max_frames", self.max_frames, minimum=self.min_frames)
        require_int("max_run", self.max_run, minimum=self.min_run)
        require_number("noise_std", self.noise_std, 0)
        require_number("occlusion_prob", self.occlusion_prob, 0, 1)
        require_int("occlusion_size", self.occlusion_size, minimum=1)
        if self.occlusion_size > 8:
            raise ConfigError(f"occlusion_size: must be at most 8, got {self.occlusion_size}")
        require_number("test_fraction", self.test_fraction, 0, 1, low_open=True, high_open=True)
        require_number("val_fraction", self.val_fraction, 0, 1, high_open=True)
        require_int("seed", self.seed, minimum=0)
        if self.val_videos and not self.val_fraction:
            raise ConfigError("val_videos: needs val_fraction > 0 (images to compose them from)")

    task = "tagging"
    archetype = "synchronous"

    def preprocess(self, raw_dir: Path) -> ProcessedData:
        images, labels = load_images(raw_dir)
        pixels = scaled(images.reshape(len(images), 64), 0.0, GREY_LEVELS)
        image_splits = stratified_splits(labels, self.test_fraction, self.val_fraction, self.seed)
        counts = [self.train_videos, self.val_videos, self.test_videos]
        # Each split draws from its own random stream: changing one split's count
        # leaves the other splits' videos as they were.
        parts = [self._videos(pixels, labels, image_splits[split], count,
                              np.random.default_rng([self.seed, index]))
                 for index, (split, count) in enumerate(zip(SPLITS, counts, strict=True))]
        inputs, targets, run_position, lengths = map(np.concatenate, zip(*parts, strict=True))
        bounds = np.cumsum([0, *counts])
        return ProcessedData(
            inputs=inputs,
            targets=targets,
            lengths=lengths,
            splits={split: np.arange(bounds[i], bounds[i + 1], dtype=np.int64)
                    for i, split in enumerate(SPLITS)},
            extras={"run_position": run_position},
            meta=Meta(
                name=self.name, task=self.task, archetype=self.archetype, input_size=64,
                output_size=10, steps=self.max_frames, variable_length=True,
                classes=[str(c) for c in range(10)],
                # Frames in grey levels (0-16, before noise), as the source's images hold them.
                raw=step_rows([f"pixel{i}" for i in range(64)], 0.0, GREY_LEVELS,
                              inputs[bounds[2]:][:1] * GREY_LEVELS, lengths[bounds[2]:][:1]),
            ),
        )

    def _videos(self, pixels: np.ndarray, labels: np.ndarray, pool: np.ndarray, count: int,
                rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        """`count` videos from the images in `pool`: frames, labels, run positions, lengths."""
        by_digit = [pool[labels[pool] == d] for d in range(10)]
        fewest = min(len(rows) for rows in by_digit)
        if count and fewest < self.max_run:
            raise DataError(
                f"{self.name}: a split has only {fewest} images of some digit, fewer than "
                f"max_run={self.max_run} distinct frames; lower dataset.max_run"
            )
        inputs = np.zeros((count, self.max_frames, 64), dtype=np.float32)
        targets = np.full((count, self.max_frames), IGNORE, dtype=np.int64)
        run_position = np.full((count, self.max_frames), -1, dtype=np.int64)
        lengths = rng.integers(self.min_frames, self.max_frames + 1, size=count).astype(np.int64)
        for video, length in enumerate(lengths):
            start, digit = 0, int(rng.integers(10))
            while start < length:
                run = min(int(rng.integers(self.min_run, self.max_run + 1)), length - start)
                frames = rng.choice(by_digit[digit], size=run, replace=False)
                inputs[video, start : start + run] = self._corrupt(pixels[frames], rng)
                targets[video, start : start + run] = digit
                run_position[video, start : start + run] = np.arange(run)
                start += run
                digit = (digit + int(rng.integers(1, 10))) % 10  # always a different digit
        return inputs, targets, run_position, lengths

    def _corrupt(self, frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Add Gaussian noise and, with occlusion_prob, blank a square block of each frame."""
        frames = frames + rng.normal(0.0, self.noise_std, frames.shape).astype(np.float32)
        squares = frames.reshape(-1, 8, 8)
        side = self.occlusion_size
        for index in np.flatnonzero(rng.random(len(squares)) < self.occlusion_prob):
            row, col = rng.integers(0, 8 - side + 1, size=2)
            squares[index, row : row + side, col : col + side] = 0.0
        return squares.reshape(-1, 64)
