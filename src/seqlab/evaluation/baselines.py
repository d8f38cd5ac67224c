"""Baselines every model is reported beside: their answers on the test split.

Each task has its trivial ones (the majority class, the naive forecast) and, where the
data allow, one classical reference that learns from the training split alone: the
per-word most frequent tag, bag-of-words logistic regression on token ids, 1-nearest-
neighbour (Euclidean and DTW) on numeric sequences, Holt-Winters exponential smoothing, a
lookup of the training targets; and the references a user would try first
(seqlab.evaluation.references: ridge on the window and automatic ETS for a forecast, ridge
for a number per sequence).
A run's headline verdict is against the strongest of them
(seqlab.evaluation.metrics.headline), named in the metrics file beside what each is and
the seconds each that learns took (`baseline_info`).
"""

from __future__ import annotations

import time
import warnings
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from seqlab.data.processed import ProcessedData
from seqlab.evaluation import dtw, references, rocket
from seqlab.evaluation.predict import scored

NN_TRAIN_ROWS = 20_000  # 1-NN compares with at most this many training rows (seeded pick)

# What each baseline is, as the metrics file and the report say it; a reference that
# chooses a model says which (references.Fitted.description).
DESCRIPTIONS = {
    "majority": "the training split's most frequent class",
    "nearest_neighbour": "1-nearest-neighbour (Euclidean) among the training sequences",
    "bow_logistic": "logistic regression on bag-of-words counts (scikit-learn)",
    "per_word": "each word's most frequent training tag",
    "mean": "the training targets' mean",
    "ridge": "ridge regression on the flattened sequence",
    "nearest_neighbour_dtw": dtw.DESCRIPTION,
    "minirocket_ridge": "MiniRocket features (sktime, 10,000 kernels) and ridge, alpha by CV",
    "naive": "the last value before the forecast origin",
    "seasonal_naive": "the same season's last value before the forecast origin",
    "holt_winters": "additive Holt-Winters (statsmodels), fitted before the test period",
    "ridge_window": "ridge regression on the window, alpha by time-ordered CV on training",
    "auto_ets": "ETS chosen by AIC (statsmodels), fitted before the test period",
    "most_frequent": "the training split's most frequent target sequence",
    "lookup": "the training target of the same input, else the most frequent",
}


class Answers(dict):
    """Baseline name -> its answers on the test split; `info`: for each one that learns,
    the seconds it took to fit and answer and, for a reference, the model it chose."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.info: dict[str, dict[str, Any]] = {}

    def add(self, name: str, run: Callable[[], Any]) -> None:
        """Run one baseline and keep its answers and cost; None (it does not apply here)
        or answers not all finite (its fit failed) leave it out of the verdict."""
        start = time.perf_counter()
        found = run()
        if found is None:
            return
        info: dict[str, Any] = {"seconds": round(time.perf_counter() - start, 3)}
        if isinstance(found, references.Fitted):
            found, info["description"] = found.answers, found.description
        if np.issubdtype(np.asarray(found).dtype, np.number) and not np.all(np.isfinite(found)):
            return
        self[name], self.info[name] = found, info


def about(found: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """What each baseline in `found` is and, where measured, the seconds it took."""
    info = getattr(found, "info", {})
    return {name: {"description": DESCRIPTIONS.get(name, name), **info.get(name, {})}
            for name in found}


def token_inputs(data: ProcessedData) -> bool:
    """Whether the inputs are token ids (text), not values."""
    return np.issubdtype(data.inputs.dtype, np.integer) and (
        data.inputs.ndim == 2 or bool(data.meta.model_args.get("token_inputs")))


def word_ids(data: ProcessedData) -> np.ndarray:
    """N x T token ids: words given with their characters (N x T x (1 + C)) lead with them."""
    return data.inputs[..., 0] if data.inputs.ndim == 3 else data.inputs


def majority(data: ProcessedData, per_step: bool) -> dict[str, np.ndarray]:
    """The training split's most frequent class, everywhere (per row or per real step)."""
    train = scored(data.targets, data, "train", per_step)
    test = scored(data.targets, data, "test", per_step)
    return {"majority": np.full(len(test), np.bincount(train).argmax())}


def classes(data: ProcessedData, per_step: bool = False) -> dict[str, np.ndarray]:
    """Majority, and classical classifiers of whole sequences: bag-of-words logistic
    regression for token inputs; 1-nearest-neighbour (Euclidean and DTW) and MiniRocket +
    ridge for numeric ones."""
    found = Answers(majority(data, per_step))
    if token_inputs(data):
        found.add("bow_logistic", lambda: bag_of_words_logistic(data))
    else:
        found.add("nearest_neighbour", lambda: nearest_neighbour(data))
        found.add("nearest_neighbour_dtw", lambda: dtw.classes(data))
        found.add("minirocket_ridge", lambda: rocket.classes(data))
    return found


def tags(data: ProcessedData, per_step: bool = True) -> dict[str, np.ndarray]:
    """Majority, and for token inputs each word's most frequent training tag (a word the
    training split never had: the most frequent tag)."""
    found = majority(data, per_step)
    if token_inputs(data):
        ids = word_ids(data)
        words = scored(ids, data, "train", per_step)
        train_tags = scored(data.targets, data, "train", per_step)
        counts = np.zeros((max(data.meta.input_size, int(ids.max()) + 1),
                           int(data.targets.max()) + 1), dtype=np.int64)
        np.add.at(counts, (words, train_tags), 1)
        best = counts.argmax(axis=1)  # the first of equals, as bincount's argmax
        best[counts.sum(axis=1) == 0] = found["majority"][0] if len(found["majority"]) else 0
        found["per_word"] = best[scored(ids, data, "test", per_step)]
    return found


def bag_of_words_logistic(data: ProcessedData) -> np.ndarray:
    """scikit-learn's logistic regression on each text's word counts (padding left out)."""
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    def counts(split: str) -> csr_matrix:
        rows = data.splits[split]
        lengths = data.lengths[rows]
        ids = data.inputs[rows]
        mask = np.arange(ids.shape[1])[None, :] < lengths[:, None]
        row_of = np.repeat(np.arange(len(rows)), lengths)
        return csr_matrix((np.ones(mask.sum()), (row_of, ids[mask])),
                          shape=(len(rows), max(data.meta.input_size, int(ids.max()) + 1)))

    train, test = counts("train"), counts("test")
    width = max(train.shape[1], test.shape[1])
    train.resize(train.shape[0], width)
    test.resize(test.shape[0], width)
    model = LogisticRegression(max_iter=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter: the answers are what count
        model.fit(train, data.targets[data.splits["train"]])
    return model.predict(test)


def nearest_neighbour(data: ProcessedData) -> np.ndarray:
    """The class of the nearest training sequence (Euclidean, over every step of the
    scaled values; padding is zeros), as the time-series literature's 1-NN baseline."""
    rng = np.random.default_rng(0)
    train_rows = data.splits["train"]
    if len(train_rows) > NN_TRAIN_ROWS:
        train_rows = np.sort(rng.choice(train_rows, NN_TRAIN_ROWS, replace=False))
    train = data.inputs[train_rows].reshape(len(train_rows), -1).astype(np.float64)
    test = data.inputs[data.splits["test"]].reshape(len(data.splits["test"]), -1)
    train_sq = (train**2).sum(axis=1)
    answers = []
    for start in range(0, len(test), 1024):  # a block of distances at a time
        block = test[start : start + 1024].astype(np.float64)
        distances = train_sq[None, :] - 2 * block @ train.T
        answers.append(data.targets[train_rows][distances.argmin(axis=1)])
    return np.concatenate(answers) if answers else np.zeros(0, dtype=np.int64)


def sequence_values(data: ProcessedData, per_step: bool = False) -> dict[str, np.ndarray]:
    """One value per sequence: the training mean, the value of the nearest training
    sequence (1-NN), ridge regression on the flattened sequence, and MiniRocket + ridge."""
    train = data.targets[data.splits["train"]]
    test_rows = len(data.splits["test"])
    found = Answers(mean=np.repeat(train.mean(axis=0, keepdims=True), test_rows, axis=0))
    found.add("nearest_neighbour", lambda: nearest_neighbour(data))
    found.add("ridge", lambda: references.ridge_sequence(data))
    found.add("minirocket_ridge", lambda: rocket.values(data))
    return found


def naive_forecasts(data: ProcessedData, per_step: bool) -> dict[str, np.ndarray]:
    """Each target predicted from the values before its window's first target: the last
    of them (naive), the same season's last (seasonal naive), and for a one-value series
    Holt-Winters exponential smoothing fitted on the training part; in scaled units.
    With a horizon (targets N x H), the h-th target is h + 1 steps ahead of them all.
    A forecast of whole rows (not per step) is also answered by the references: ridge on
    the window and automatic ETS (seqlab.evaluation.references)."""
    positions = scored(data.extras["target_pos"], data, "test", per_step)
    series = data.extras["series"]
    origins = positions[:, :1] if positions.ndim == 2 else positions  # first targets
    ahead = positions - origins  # 0 for the first target of each row
    answers = Answers(naive=series[origins - 1 + 0 * ahead])
    period = data.meta.seasonal_period or 1
    if period > 1:  # the last value of the same season before the origin
        answers["seasonal_naive"] = series[positions - period * (ahead // period + 1)]
    if not per_step:
        def holt_winters_answers() -> np.ndarray | None:
            fitted = holt_winters(series, data, period)
            if fitted is None:
                return None
            level, trend, season = fitted
            return (level[origins - 1] + (ahead + 1) * trend[origins - 1]
                    + season[positions - period * (ahead // period + 1)])

        answers.add("holt_winters", holt_winters_answers)
        answers.add("ridge_window", lambda: references.ridge_window(data))
        answers.add("auto_ets", lambda: references.auto_ets(data, period))
    return answers


def holt_winters(series: np.ndarray, data: ProcessedData, period: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Additive Holt-Winters (statsmodels) run over `series` with its parameters fitted on
    the series up to the first test target only: its level, trend and season after every
    point, so a forecast from any origin uses only the values before it (the forecast of
    t + h from t is level[t] + (h + 1) trend[t] + the season's last value). None for a
    series too short to fit, and for several series laid end to end."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    values = np.asarray(series, dtype=np.float64).ravel()
    if len(values) != len(series) or data.meta.series:  # not one series
        return None
    first_test = int(np.min(data.extras["target_pos"][data.splits["test"]]))  # any horizon
    train = values[:first_test]
    seasonal = "add" if period > 1 and len(train) >= 2 * period + 2 else None
    if len(train) < 10:
        return None
    options = {"trend": "add", "seasonal": seasonal,
               "seasonal_periods": period if seasonal else None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' convergence and frequency notes
        fitted = ExponentialSmoothing(train, initialization_method="estimated",
                                      **options).fit()
        params = fitted.params
        known = {"initial_level": params["initial_level"],
                 "initial_trend": params["initial_trend"]}
        if seasonal:
            known["initial_seasonal"] = params["initial_seasons"]
        whole = ExponentialSmoothing(values, initialization_method="known", **known,
                                     **options).fit(
            smoothing_level=params["smoothing_level"], smoothing_trend=params["smoothing_trend"],
            smoothing_seasonal=params["smoothing_seasonal"] if seasonal else None,
            optimized=False)
    season = whole.season if seasonal else np.zeros(len(values))
    return tuple(np.asarray(part, dtype=np.float32) for part in (whole.level, whole.trend,
                                                                  season))


def most_frequent_sequence(data: ProcessedData, per_step: bool = False
                           ) -> dict[str, list[np.ndarray]]:
    """The training split's most frequent target sequence (first in row order among ties)
    and, for token inputs, a lookup: the training target of the same input where the
    training split had it (its most frequent), else the most frequent sequence."""
    train_rows = data.splits["train"]
    counts = Counter(tuple(row) for row in data.targets[train_rows])
    best = np.array(max(counts, key=lambda row: counts[row]), dtype=np.int64)
    found = {"most_frequent": [best] * len(data.splits["test"])}
    if token_inputs(data):
        seen: dict[tuple, Counter] = {}
        for row in train_rows:
            key = tuple(data.inputs[row, : data.lengths[row]])
            seen.setdefault(key, Counter())[tuple(data.targets[row])] += 1
        found["lookup"] = [
            np.array(seen[key].most_common(1)[0][0], dtype=np.int64) if key in seen else best
            for key in (tuple(data.inputs[row, : data.lengths[row]])
                        for row in data.splits["test"])]
    return found
