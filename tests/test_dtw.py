"""1-NN DTW, the classic reference for classifying numeric sequences, on data whose answer
is known: one narrow peak or two, somewhere within a few steps of the middle. Euclidean
1-NN sees peaks a step apart as strangers (and one peak as nearer than two elsewhere);
DTW lines them up."""

from __future__ import annotations

import numpy as np

from seqlab.data.meta import Meta
from seqlab.data.processed import ProcessedData
from seqlab.evaluation import baselines, dtw

ROWS, STEPS = 120, 60


def bumps(lengths: np.ndarray | None = None, channels: int = 1) -> ProcessedData:
    """Class 0 one peak, class 1 two peaks 8 steps apart, centred 30 +- 3 steps (off the
    step grid)."""
    rng = np.random.default_rng(0)
    labels = np.arange(ROWS) % 2
    centre = 30 + rng.uniform(-3, 3, (ROWS, 1))

    def peak(at: np.ndarray) -> np.ndarray:
        return np.exp(-0.5 * ((np.arange(STEPS)[None, :] - at) / 0.5) ** 2)

    values = np.where(labels[:, None] == 1, peak(centre - 4) + peak(centre + 4), peak(centre))
    inputs = np.repeat(values[..., None], channels, axis=2).astype(np.float32)
    lengths = np.full(ROWS, STEPS) if lengths is None else lengths
    inputs[np.arange(STEPS)[None, :] >= lengths[:, None]] = 0  # padding, as preprocessing pads
    order = np.arange(ROWS)
    return ProcessedData(
        inputs=inputs, targets=labels, lengths=lengths,
        splits={"train": order[:10], "val": order[:0], "test": order[10:]},
        meta=Meta(name="bumps", task="classification", archetype="many_to_one",
                  input_size=channels, output_size=2, steps=STEPS))


def accuracy(data: ProcessedData, answers: np.ndarray) -> float:
    return float((answers == data.targets[data.splits["test"]]).mean())


def test_dtw_lines_up_what_euclidean_1nn_cannot():
    data = bumps()
    found = baselines.classes(data)
    assert accuracy(data, found["nearest_neighbour_dtw"]) == 1.0
    assert accuracy(data, found["nearest_neighbour"]) < 0.85
    info = baselines.about(found)["nearest_neighbour_dtw"]
    assert info["description"] == dtw.DESCRIPTION and info["seconds"] >= 0


def test_several_channels_and_lengths_each_read_as_they_are():
    lengths = np.random.default_rng(1).integers(45, STEPS + 1, ROWS)
    data = bumps(lengths, channels=3)
    assert accuracy(data, dtw.classes(data)) == 1.0


def test_too_costly_or_token_inputs_are_skipped_and_said(monkeypatch, capsys):
    data = bumps()
    monkeypatch.setattr(dtw, "MAX_CELLS", 1e5)
    assert dtw.classes(data) is None
    assert "nearest_neighbour_dtw" not in baselines.classes(data)
    said = capsys.readouterr().err.splitlines()
    assert said[0] == ("seqlab: the 1-NN DTW reference is skipped: 110 x 10 sequences of up "
                       "to 60 steps would cost 8.6e+05 cells, past its 1e+05")
    tokens = ProcessedData(inputs=np.ones((ROWS, STEPS), dtype=np.int64), targets=data.targets,
                           lengths=data.lengths, splits=data.splits, meta=data.meta)
    assert dtw.classes(tokens) is None
