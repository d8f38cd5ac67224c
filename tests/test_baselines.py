"""The baselines a run is judged against learn from the training split alone, and each
does what its name says: synthetic data where the right answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from seqlab.data.meta import Meta
from seqlab.data.processed import ProcessedData
from seqlab.evaluation import baselines
from seqlab.evaluation.metrics import headline


def data(inputs, targets, lengths, train, test, task, extras=None, **meta) -> ProcessedData:
    steps = inputs.shape[1]
    size = meta.pop("input_size", int(inputs.max()) + 1 if inputs.ndim == 2 else
                    inputs.shape[2])
    return ProcessedData(
        inputs=inputs, targets=targets, lengths=np.asarray(lengths, dtype=np.int64),
        splits={"train": np.asarray(train), "val": np.zeros(0, dtype=np.int64),
                "test": np.asarray(test)},
        meta=Meta(name="synthetic", task=task, archetype="synchronous", input_size=size,
                  output_size=meta.pop("output_size", 3), steps=steps, **meta),
        extras=extras or {})


def test_per_word_tags_are_each_words_most_frequent_training_tag():
    # Word w is tagged w % 3, except one training slip; word 9 never occurs in training.
    words = np.array([[1, 2, 3, 4], [4, 5, 1, 0], [1, 2, 9, 5]], dtype=np.int64)
    tags = words % 3
    tags[1, 2] = 2  # a slip: word 1 is tagged 1 twice, 2 once
    tags[1, 3] = -100  # padding
    found = baselines.tags(data(words, tags, [4, 3, 4], [0, 1], [2], "tagging"))
    assert found["per_word"].tolist() == [1, 2, 1, 2]  # word 9: training's most frequent tag
    assert found["majority"].tolist() == [1, 1, 1, 1]


def test_values_get_no_per_word_baseline():
    frames = np.zeros((2, 3, 4), dtype=np.float32)
    found = baselines.tags(data(frames, np.zeros((2, 3), dtype=np.int64), [3, 3], [0], [1],
                                "tagging"))
    assert set(found) == {"majority"}


def test_nearest_neighbour_answers_the_class_of_the_closest_training_sequence():
    rng = np.random.default_rng(0)
    train = rng.normal(size=(30, 5, 2)).astype(np.float32)
    test = train[[4, 17, 29]] + 0.01  # near copies
    inputs = np.concatenate([train, test])
    targets = np.arange(33) % 3
    found = baselines.classes(data(inputs, targets, [5] * 33, range(30), [30, 31, 32],
                                   "classification"))
    assert found["nearest_neighbour"].tolist() == [4 % 3, 17 % 3, 29 % 3]


def test_bag_of_words_logistic_regression_learns_which_words_mark_a_class():
    rng = np.random.default_rng(0)
    rows, labels = [], []
    for i in range(200):
        label = i % 2
        text = rng.integers(3, 50, size=8)
        text[rng.integers(0, 8)] = 1 + label  # word 1 in class 0, word 2 in class 1
        rows.append(text)
        labels.append(label)
    found = baselines.classes(data(np.array(rows), np.array(labels), [8] * 200, range(150),
                                   range(150, 200), "classification", output_size=2))
    assert np.mean(found["bow_logistic"] == np.array(labels[150:])) >= 0.95


def series_data(values: np.ndarray, first_test: int, period: int) -> ProcessedData:
    positions = np.arange(period, len(values))
    inputs = np.zeros((len(positions), 1, 1), dtype=np.float32)
    rows = np.arange(len(positions))
    return data(inputs, values[positions].reshape(-1, 1), [1] * len(rows),
                rows[positions < first_test], rows[positions >= first_test], "regression",
                seasonal_period=period, output_size=1,
                extras={"series": values.astype(np.float32), "target_pos": positions})


def test_holt_winters_forecasts_one_step_ahead_from_the_past_only():
    t = np.arange(120, dtype=np.float64)
    values = 0.01 * t + 0.5 * np.sin(2 * np.pi * t / 12) + 1.0  # trend and season
    found = baselines.naive_forecasts(series_data(values, 96, 12), per_step=False)
    truth = values[96:]
    mse = {name: float(np.mean((answers.ravel() - truth) ** 2)) for name, answers in
           found.items()}
    assert mse["holt_winters"] < mse["seasonal_naive"] / 10 and mse["holt_winters"] < 1e-3
    # No look-ahead: a shock in the last 12 points changes no forecast before it.
    shocked = values.copy()
    shocked[108:] += 5.0
    again = baselines.naive_forecasts(series_data(shocked, 96, 12), per_step=False)
    np.testing.assert_allclose(again["holt_winters"][:13], found["holt_winters"][:13],
                               rtol=1e-5)
    assert not np.allclose(again["holt_winters"][13:], found["holt_winters"][13:])


def test_lookup_answers_a_seen_input_with_its_training_target():
    sources = np.array([[1, 2, 0], [3, 4, 5], [1, 2, 0], [6, 7, 0]], dtype=np.int64)
    targets = np.array([[8, 9], [9, 9], [8, 9], [7, 7]], dtype=np.int64)
    found = baselines.most_frequent_sequence(data(sources, targets, [2, 3, 2, 2], [0, 1],
                                                  [2, 3], "generation"))
    assert [t.tolist() for t in found["lookup"]] == [[8, 9], [8, 9]]  # unseen: most frequent
    assert [t.tolist() for t in found["most_frequent"]] == [[8, 9], [8, 9]]


@pytest.mark.parametrize(("higher", "name"), [(True, "per_word"), (False, "majority")])
def test_the_headline_is_against_the_strongest_baseline_and_names_it(higher, name):
    found = headline({"acc": 0.9}, {"majority": {"acc": 0.2}, "per_word": {"acc": 0.85}},
                     ("acc",), higher)
    assert found["baseline_name"] == name


def test_a_dataset_s_baselines_are_fitted_once_and_read_back_by_later_runs(tmp_path):
    """The second run on the same data reads the first's answers (and their seconds);
    changed data is fitted afresh; a folder that cannot be written still answers."""
    from seqlab.evaluation.stored_baselines import answered

    fits = []

    def counted(found, per_step):  # the classifiers' baselines, counting each fit
        fits.append(found)
        return baselines.classes(found, per_step)

    rows = np.array([[0, 0, 0], [5, 5, 5], [0, 1, 0], [5, 4, 5]], dtype=np.float32)[..., None]
    first = data(rows, np.array([0, 1, 0, 1]), [3] * 4, [0, 1], [2, 3], "classification")
    answers = answered(counted, first, False, tmp_path)
    again = answered(counted, first, False, tmp_path)
    assert len(fits) == 1
    assert {k: v.tolist() for k, v in again.items()} == {k: v.tolist()
                                                         for k, v in answers.items()}
    assert again.info == answers.info and "nearest_neighbour" in again.info
    changed = data(rows + 1, np.array([0, 1, 0, 1]), [3] * 4, [0, 1], [2, 3],
                   "classification")
    answered(counted, changed, False, tmp_path)
    assert len(fits) == 2
    (tmp_path / "file").write_text("")
    answered(counted, first, False, tmp_path / "file" / "below")  # not a folder
    assert len(fits) == 3
    for stored in tmp_path.glob("*.pkl"):  # a damaged file is fitted again and replaced
        stored.write_bytes(b"not a pickle")
    answered(counted, first, False, tmp_path)
    answered(counted, first, False, tmp_path)
    assert len(fits) == 4
