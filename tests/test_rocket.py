"""MiniRocket + ridge, the reference for numeric sequences, on data whose answer is known:
patterns at a random phase (where 1-NN over aligned steps guesses) and a number the
pattern carries."""

from __future__ import annotations

import numpy as np

from seqlab.data.meta import Meta
from seqlab.data.processed import ProcessedData
from seqlab.evaluation import rocket
from seqlab.evaluation.baselines import nearest_neighbour

ROWS, STEPS = 240, 60


def waves(targets: np.ndarray, kind: str, seed: int = 0) -> ProcessedData:
    """Sequences of 2 channels at a random phase: class 0 a sine, class 1 a square wave
    (kind=classes); or a sine whose frequency is the target (kind=values)."""
    rng = np.random.default_rng(seed)
    t = np.arange(STEPS)[None, :]
    phase = rng.uniform(0, 2 * np.pi, (ROWS, 1))
    frequency = targets[:, None] if kind == "values" else 0.3
    sine = np.sin(frequency * t + phase)
    first = np.where(targets[:, None] == 1, np.sign(sine), sine) if kind == "classes" else sine
    inputs = np.stack([first, rng.normal(0, 0.1, (ROWS, STEPS))], axis=2).astype(np.float32)
    order = np.arange(ROWS)
    return ProcessedData(
        inputs=inputs, targets=targets, lengths=np.full(ROWS, STEPS),
        splits={"train": order[:160], "val": order[:0], "test": order[160:]},
        meta=Meta(name="waves", task="classification" if kind == "classes" else "regression",
                  archetype="many_to_one", input_size=2, output_size=2, steps=STEPS))


def test_minirocket_tells_patterns_apart_at_any_phase():
    labels = np.arange(ROWS) % 2
    data = waves(labels, "classes")
    data.splits["train"] = data.splits["train"][:16]  # few phases seen: 1-NN's weak spot
    test = labels[data.splits["test"]]
    found = rocket.classes(data)
    assert found.dtype == labels.dtype and found.shape == test.shape
    assert (found == test).mean() >= 0.95
    assert (nearest_neighbour(data) == test).mean() < (found == test).mean()


def test_minirocket_ridge_reads_a_number_the_pattern_carries():
    frequency = np.random.default_rng(1).uniform(0.1, 0.6, ROWS).astype(np.float32)
    data = waves(frequency, "values")
    test = frequency[data.splits["test"]]
    found = rocket.values(data)
    assert found.shape == test.shape
    mean_error = np.mean((test - frequency[data.splits["train"]].mean()) ** 2)
    assert np.mean((found - test) ** 2) < 0.05 * mean_error


def test_token_ids_and_problems_too_big_are_skipped(monkeypatch):
    labels = np.arange(ROWS) % 2
    data = waves(labels, "classes")
    tokens = ProcessedData(inputs=np.ones((ROWS, STEPS), dtype=np.int64), targets=labels,
                           lengths=data.lengths, splits=data.splits, meta=data.meta)
    assert rocket.classes(tokens) is None
    monkeypatch.setattr(rocket, "MAX_CELLS", 1000)
    assert rocket.classes(data) is None
