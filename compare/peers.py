"""The peers of `make compare`: statsforecast's models on the folds seqlab backtests, and
aeon's classifiers on the UEA/UCR problems' official splits.

Run in the peers' own environment (.venv-compare), apart from seqlab's:
    python compare/peers.py series.csv --horizon 12 --folds 3 --season 12
reads a `date,value` CSV (the series as seqlab read it), forecasts `horizon` values from
each of `folds` origins a horizon apart at the end of the series, each model fitted on
the values before its origin, and prints JSON: per model, each fold's MASE (scaled by the
in-sample seasonal naive error of the values before the origin, as seqlab scales its
own) and the seconds it took to fit and forecast every fold.
    python compare/peers.py classify PROBLEM_TRAIN.ts PROBLEM_TEST.ts
fits ROCKET and 1-NN DTW on the training file and prints JSON: per classifier, its test
accuracy and the seconds it took to fit and answer (accuracy null where it cannot run:
aeon's ROCKET takes series of one length only).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np


def origins(length: int, horizon: int, folds: int) -> list[int]:
    """Where each fold's forecast starts: `folds` origins a horizon apart, the last one
    `horizon` values before the end (seqlab's backtest_stride default)."""
    return [length - horizon * (folds - k) for k in range(folds)]


def naive_mae(values: np.ndarray, season: int) -> float:
    """The in-sample seasonal naive forecast's mean absolute error: MASE's scale."""
    lag = season if len(values) > season else 1
    return float(np.mean(np.abs(values[lag:] - values[:-lag])))


def mase(truth: np.ndarray, forecast: np.ndarray, history: np.ndarray, season: int) -> float:
    return float(np.mean(np.abs(truth - forecast)) / naive_mae(history, season))


def models(season: int) -> dict[str, object]:
    from statsforecast.models import AutoARIMA, AutoETS, Naive, SeasonalNaive

    return {"statsforecast AutoETS": AutoETS(season_length=season),
            "statsforecast AutoARIMA": AutoARIMA(season_length=season),
            "statsforecast SeasonalNaive": SeasonalNaive(season_length=season),
            "statsforecast Naive": Naive()}


def classifiers() -> dict[str, object]:
    from aeon.classification.convolution_based import RocketClassifier
    from aeon.classification.distance_based import KNeighborsTimeSeriesClassifier

    return {"aeon ROCKET": RocketClassifier(n_kernels=10_000, random_state=0),
            "aeon 1-NN DTW": KNeighborsTimeSeriesClassifier(n_neighbors=1, distance="dtw")}


def classify(argv: list[str]) -> None:
    from aeon.datasets import load_from_ts_file

    parser = argparse.ArgumentParser(description="aeon's classifiers on one problem")
    parser.add_argument("train", help="the problem's official TRAIN .ts file")
    parser.add_argument("test", help="its TEST .ts file")
    args = parser.parse_args(argv)
    (x_train, y_train), (x_test, y_test) = (load_from_ts_file(p) for p in (args.train, args.test))
    results = {}
    for name, model in classifiers().items():
        began = time.perf_counter()
        try:
            model.fit(x_train, y_train)
            accuracy = float(np.mean(model.predict(x_test) == y_test))
        except ValueError:  # a capability it lacks (series of several lengths)
            accuracy = None
        results[name] = {"accuracy": accuracy, "seconds": time.perf_counter() - began}
    json.dump(results, sys.stdout)


def main(argv: list[str]) -> None:
    import pandas as pd

    if argv[:1] == ["classify"]:
        classify(argv[1:])
        return

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("series", help="a date,value CSV")
    parser.add_argument("--horizon", type=int, default=12)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--season", type=int, default=12)
    args = parser.parse_args(argv)
    values = pd.read_csv(args.series)["value"].to_numpy(dtype=float)
    results = {}
    for name, model in models(args.season).items():
        began, scores = time.perf_counter(), []
        for start in origins(len(values), args.horizon, args.folds):
            history, truth = values[:start], values[start:start + args.horizon]
            forecast = model.forecast(y=history, h=args.horizon)["mean"]
            scores.append(mase(truth, np.asarray(forecast), history, args.season))
        results[name] = {"folds": scores, "seconds": time.perf_counter() - began}
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
