"""The phase of the heartbeat at every step of a real ECG (synchronous many-to-many).

The signal is 7,500 steps (20.8 s at 360 Hz) of an MIT-BIH Arrhythmia Database
recording that sktime ships. sktime's per-step annotation marks one abnormal beat near
the end: a single event cannot be both trained on and tested on in a chronological
split. So the labels come from the signal itself, by a fixed rule: the R peaks (the tall
spike of each beat) are found with scipy's peak finder, and each step is labelled with
the time elapsed since the last R peak, in bins (0-100 ms, 100-200 ms, ..., the last bin
open-ended). One value alone rarely tells the bin (the flat stretches between waves look
alike); a net that remembers when it last saw a peak can. The recording is cut to begin
at its first R peak, so that every step has a label.

The split is chronological: a training, a validation and a test period, and no window
straddles two. Training windows overlap (one every `stride` steps); validation and test
windows tile their period (the last one shorter: lengths vary, padding is masked).
Values are standardised with the mean and spread of the training period only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqlab.checks import require_int, require_number
from seqlab.data.meta import Meta
from seqlab.data.processed import ProcessedData
from seqlab.data.raw_inputs import scaled as scale
from seqlab.data.raw_inputs import step_rows
from seqlab.data.sktime_data import ECG_FILE
from seqlab.errors import DataError

IGNORE = -100  # the target of a padded step (torch's cross-entropy ignore_index)
SAMPLING_HZ = 360  # MIT-BIH's sampling rate
# R peaks in this recording rise 1.25-1.8 mV above their surroundings, the other waves
# at most 0.35 mV; two beats are never closer than 0.2 s (the heart's refractory period).
R_PROMINENCE_MV = 0.8
REFRACTORY_STEPS = SAMPLING_HZ // 5


def load_ecg(raw_dir: Path) -> np.ndarray:
    path = Path(raw_dir) / ECG_FILE
    if not path.is_file():
        raise DataError(f"{path} is missing; run the fetch stage (dvc repro) first")
    with np.load(path, allow_pickle=False) as arrays:
        return arrays["signal"]


def r_peaks(signal: np.ndarray) -> np.ndarray:
    """The steps of the R peaks, in order."""
    from scipy.signal import find_peaks

    peaks, _ = find_peaks(signal, prominence=R_PROMINENCE_MV, distance=REFRACTORY_STEPS)
    return peaks


@dataclass
class EcgPhase:
    """Windows of an ECG: N x T x 1 values, the elapsed-time bin of every step, padded."""

    name: str
    source: str = "mitdb_ecg"
    window: int = 360  # steps per window: one second
    stride: int = 60  # between the starts of training windows
    bin_ms: int = 100  # width of a label's bin of time since the last R peak
    bins: int = 8  # classes; the last holds every step at least (bins - 1) * bin_ms after
    test_fraction: float = 0.2  # the last part of the recording
    val_fraction: float = 0.1  # the last part of the rest

    def __post_init__(self) -> None:
        require_int("window", self.window, minimum=2)
        require_int("stride", self.stride, minimum=1)
        require_int("bin_ms", self.bin_ms, minimum=1000 // SAMPLING_HZ + 1)
        require_int("bins", self.bins, minimum=2)
        require_number("test_fraction", self.test_fraction, 0, 1, low_open=True, high_open=True)
        require_number("val_fraction", self.val_fraction, 0, 1, high_open=True)

    task = "tagging"
    archetype = "synchronous"

    def preprocess(self, raw_dir: Path) -> ProcessedData:
        signal = load_ecg(raw_dir)
        peaks = r_peaks(signal)
        if len(peaks) < 2:
            raise DataError(f"{self.name}: found {len(peaks)} R peaks in the ECG; the raw "
                            "file is not the MIT-BIH excerpt: fetch it again")
        signal, peaks = signal[peaks[0]:], peaks - peaks[0]
        labels = self._labels(peaks, len(signal))
        # Periods: [0, val_begin) train, [val_begin, test_begin) val, the rest test.
        test_begin = len(signal) - int(round(len(signal) * self.test_fraction))
        val_begin = test_begin - int(round(test_begin * self.val_fraction))
        if val_begin < self.window:
            raise DataError(f"{self.name}: the training period ({val_begin} steps) is "
                            f"shorter than one window; use a smaller dataset.window")
        mean, std = float(signal[:val_begin].mean()), float(signal[:val_begin].std())
        scaled = scale(signal, mean, std)  # as predict scales raw inputs

        periods = {
            "train": range(0, val_begin - self.window + 1, self.stride),
            "val": range(val_begin, test_begin, self.window),
            "test": range(test_begin, len(signal), self.window),
        }
        period_end = {"train": val_begin, "val": test_begin, "test": len(signal)}
        starts, ends, splits = [], [], {}
        for split, firsts in periods.items():
            splits[split] = np.arange(len(starts), len(starts) + len(firsts), dtype=np.int64)
            starts += firsts
            ends += [min(first + self.window, period_end[split]) for first in firsts]
        lengths = np.array(ends, dtype=np.int64) - np.array(starts, dtype=np.int64)
        offsets = np.arange(self.window)
        # Each step's place in the recording; -1 on padding.
        position = np.where(offsets < lengths[:, None],
                            np.array(starts, dtype=np.int64)[:, None] + offsets, -1)
        padded = position < 0
        return ProcessedData(
            inputs=np.where(padded, 0.0, scaled[position])[:, :, None].astype(np.float32),
            targets=np.where(padded, IGNORE, labels[position]).astype(np.int64),
            lengths=lengths,
            splits=splits,
            extras={"position": position, "r_peaks": peaks},
            meta=Meta(
                name=self.name, task=self.task, archetype=self.archetype, input_size=1,
                output_size=self.bins, steps=self.window, variable_length=True,
                classes=self._class_names(),
                raw=step_rows(["value"], mean, std, signal[None, test_begin:, None],
                              np.array([min(self.window, len(signal) - test_begin)])),
            ),
        )

    @property
    def bin_steps(self) -> int:
        return round(self.bin_ms * SAMPLING_HZ / 1000)

    def _labels(self, peaks: np.ndarray, steps: int) -> np.ndarray:
        """Each step's bin of the time since the last R peak at or before it."""
        last = peaks[np.searchsorted(peaks, np.arange(steps), side="right") - 1]
        return np.minimum((np.arange(steps) - last) // self.bin_steps, self.bins - 1)

    def _class_names(self) -> list[str]:
        edges = [i * self.bin_ms for i in range(self.bins)]
        return [f"{low}-{high} ms" for low, high in zip(edges, edges[1:], strict=False)
                ] + [f">= {edges[-1]} ms"]
