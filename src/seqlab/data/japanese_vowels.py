"""JapaneseVowels (UEA archive): which of 9 speakers said a vowel (many-to-one).

Each utterance is 7-29 steps of 12 LPC cepstrum coefficients. Utterances are padded
with zeros to the longest and carry their lengths: the encoder packs by length, so the
padding never reaches a result. The official test split stays the test split; the
validation split is carved from the official training split (stratified by speaker).
Every channel is standardised with the mean and spread of the training rows' real steps
only, so nothing about validation or test utterances leaks into the inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqlab.checks import require_int, require_number
from seqlab.data.meta import Meta
from seqlab.data.processed import ProcessedData
from seqlab.data.raw_inputs import scaled, step_rows
from seqlab.data.sktime_data import VOWELS_FILE
from seqlab.errors import DataError


def load_vowels(raw_dir: Path) -> dict[str, np.ndarray]:
    path = Path(raw_dir) / VOWELS_FILE
    if not path.is_file():
        raise DataError(f"{path} is missing; run the fetch stage (dvc repro) first")
    with np.load(path, allow_pickle=False) as arrays:
        return {name: arrays[name] for name in arrays.files}


def real_steps(lengths: np.ndarray, steps: int) -> np.ndarray:
    """N x T: True on each row's real steps, False on its padding."""
    return np.arange(steps)[None, :] < lengths[:, None]


@dataclass
class JapaneseVowels:
    """Utterances as N x T x 12 standardised values, padded; a speaker (0-8) per row."""

    name: str
    source: str = "japanese_vowels"
    val_fraction: float = 0.2  # of the official training split, stratified by speaker
    seed: int = 0  # of the validation split

    def __post_init__(self) -> None:
        require_number("val_fraction", self.val_fraction, 0, 1, high_open=True)
        require_int("seed", self.seed, minimum=0)

    task = "classification"
    archetype = "many_to_one"

    def preprocess(self, raw_dir: Path) -> ProcessedData:
        raw = load_vowels(raw_dir)
        values, lengths = raw["values"], raw["lengths"]
        speakers = raw["speakers"]
        classes = np.unique(speakers)
        targets = np.searchsorted(classes, speakers).astype(np.int64)
        splits = self._splits(targets, raw["official_test"])
        real = real_steps(lengths, values.shape[1])
        fitted = values[splits["train"]][real[splits["train"]]]  # real training steps x 12
        mean, std = fitted.mean(axis=0), fitted.std(axis=0)
        if not (std > 0).all():
            raise DataError(f"{self.name}: a channel is constant over the training rows")
        inputs = np.where(real[:, :, None], scaled(values, mean, std), 0.0).astype(np.float32)
        return ProcessedData(
            inputs=inputs,
            targets=targets,
            lengths=lengths.astype(np.int64),
            splits=splits,
            extras={"channel_mean": mean, "channel_std": std},
            meta=Meta(
                name=self.name, task=self.task, archetype=self.archetype,
                input_size=int(values.shape[2]), output_size=len(classes),
                steps=int(values.shape[1]), variable_length=True,
                classes=[f"speaker {c}" for c in classes],
                raw=step_rows([f"dim_{i}" for i in range(values.shape[2])], mean, std,
                              values[splits["test"][:2]], lengths[splits["test"][:2]]),
            ),
        )

    def _splits(self, targets: np.ndarray, official_test: np.ndarray) -> dict[str, np.ndarray]:
        """The official test rows; validation rows carved from the official training rows."""
        from sklearn.model_selection import train_test_split

        train = np.flatnonzero(~official_test)
        val = np.array([], dtype=np.int64)
        if self.val_fraction > 0:
            train, val = train_test_split(train, test_size=self.val_fraction,
                                          stratify=targets[train], random_state=self.seed)
        return {"train": np.sort(train).astype(np.int64), "val": np.sort(val).astype(np.int64),
                "test": np.flatnonzero(official_test).astype(np.int64)}
