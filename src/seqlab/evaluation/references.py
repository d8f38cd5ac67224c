"""The references a user would try first, fitted on the training part alone.

The forecasting and time-series literature's lesson is that a net must beat simple fitted
models before its gains mean anything: a linear model on the window (DLinear, Zeng et al.
2023, "Are Transformers Effective for Time Series Forecasting?", where one linear layer on
the window beats most deep forecasters) and automatically chosen exponential smoothing (the
M4 competition's benchmarks; AutoETS in R's forecast package and in statsforecast). For a
number per sequence, ridge regression on the raw values is the linear reference.

Each function answers the test split in the units the task is scored in (scaled), with a
line saying what was fitted, or None where it does not apply. Their libraries (scikit-learn,
statsmodels) are imported inside them: the evaluate stage starts without them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from itertools import product

import numpy as np

from seqlab.data.processed import ProcessedData

ALPHAS = np.logspace(-4, 4, 9)  # the ridge penalties cross-validation chooses from
MIN_TRAIN_ROWS = 10  # fewer training rows: too few to cross-validate a penalty
MAX_TRAIN_ROWS = 20_000  # ridge fits at most this many training rows (evenly spaced)
# ETS: R's ets and statsforecast's AutoETS ignore seasons longer than 24 steps, as they
# estimate every initial seasonal state. Started from heuristic states, the fit estimates
# the smoothing parameters alone, so a day of half-hourly (48) or quarter-hourly (96)
# values and a week of hourly ones (168) stay affordable (seconds on 2,000 values). The
# fit reads at most the last ETS_FIT_POINTS values before the test period.
MAX_ETS_PERIOD = 168
ETS_FIT_POINTS = 2_000


@dataclass(frozen=True)
class Fitted:
    """A reference's answers on the test split, and what it is (the model chosen)."""

    answers: np.ndarray
    description: str


def _train_rows(data: ProcessedData) -> np.ndarray:
    """The training rows a ridge fits, in order: evenly spaced if there are too many."""
    rows = data.splits["train"]
    if len(rows) > MAX_TRAIN_ROWS:
        rows = rows[np.linspace(0, len(rows) - 1, MAX_TRAIN_ROWS).round().astype(int)]
    return rows


def _ridge(data: ProcessedData, cv: object) -> tuple[np.ndarray, float] | None:
    """RidgeCV on the flattened inputs predicting every target of a row at once, the
    penalty chosen by `cv` on the training rows: the test answers and that penalty."""
    from sklearn.linear_model import RidgeCV

    rows, test = _train_rows(data), data.splits["test"]
    if len(rows) < MIN_TRAIN_ROWS or not len(test):
        return None
    x = data.inputs[rows].reshape(len(rows), -1).astype(np.float64)
    y = data.targets[rows].reshape(len(rows), -1).astype(np.float64)
    model = RidgeCV(alphas=ALPHAS, cv=cv, scoring="neg_mean_squared_error").fit(x, y)
    answers = model.predict(data.inputs[test].reshape(len(test), -1).astype(np.float64))
    return answers.reshape(data.targets[test].shape).astype(np.float32), float(model.alpha_)


def ridge_window(data: ProcessedData) -> Fitted | None:
    """DLinear's lesson (Zeng et al. 2023): ridge regression on the window the net sees
    (its inputs flattened: lags, further inputs, calendar) to every step of the horizon at
    once, the penalty chosen by time-ordered cross-validation (each fold validated on
    windows after those it was fitted on) over the training split alone."""
    from sklearn.model_selection import TimeSeriesSplit

    folds = max(2, min(5, len(data.splits["train"]) - 1))
    fitted = _ridge(data, TimeSeriesSplit(n_splits=folds))
    if fitted is None:
        return None
    answers, alpha = fitted
    inputs = int(np.prod(data.inputs.shape[1:]))  # lags and further inputs, however framed
    return Fitted(answers, f"ridge regression on the window ({inputs} inputs; alpha "
                           f"{alpha:g} by time-ordered {folds}-fold CV on training)")


def ridge_sequence(data: ProcessedData) -> Fitted | None:
    """Ridge regression on each sequence's raw values flattened (padding is zeros), the
    penalty chosen by 5-fold cross-validation on the training split: the linear
    reference a number per sequence is judged against (as PLS or ridge on spectra)."""
    from sklearn.model_selection import KFold

    fitted = _ridge(data, KFold(n_splits=5, shuffle=True, random_state=0))
    if fitted is None:
        return None
    answers, alpha = fitted
    return Fitted(answers, f"ridge regression on the flattened sequence (alpha {alpha:g} "
                           "by 5-fold CV on training)")


def _ets_models(positive: bool, seasonal: bool) -> list[dict[str, object]]:
    """The ETS models AutoETS chooses from: additive or multiplicative error; no trend,
    additive or damped additive (no multiplicative trend, as R's ets by default); no,
    additive or multiplicative season; multiplicative parts only for positive values,
    and no additive error with a multiplicative season (unstable, left out by R's ets)."""
    found = []
    for error, (trend, damped), season in product(
            ("add", "mul"), ((None, False), ("add", False), ("add", True)),
            ("add", "mul", None) if seasonal else (None,)):
        if not positive and "mul" in (error, season):
            continue
        if error == "add" and season == "mul":
            continue
        found.append({"error": error, "trend": trend, "damped_trend": damped,
                      "seasonal": season})
    return found


def _ets_name(model: dict[str, object]) -> str:
    """ETS(M,Ad,A) and the like: error, trend, season."""
    letter = {"add": "A", "mul": "M", None: "N"}
    trend = letter[model["trend"]] + ("d" if model["damped_trend"] else "")
    return f"ETS({letter[model['error']]},{trend},{letter[model['seasonal']]})"


def auto_ets(data: ProcessedData, period: int) -> Fitted | None:
    """Automatic exponential smoothing (the M4 benchmark; R's ets and statsforecast's
    AutoETS): every ETS model that fits the series (see _ets_models) is fitted by
    statsmodels on the values before the first test target (smoothing parameters by
    maximum likelihood, initial states by Hyndman et al.'s heuristic: ten times faster
    than estimating them, and as good a start) and the lowest AIC is kept;
    then, with its parameters fixed, it filters the series on to the end, so the forecast
    from each test origin uses only the values before it. Fitted in the series' original
    units (multiplicative models need positive values), answered in scaled ones. None
    for several series laid end to end, and for a series too short to fit."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    series = data.extras["series"]
    scaled = np.asarray(series, dtype=np.float64).ravel()
    if len(scaled) != len(series) or data.meta.series:  # not one series
        return None
    values = data.meta.unscale(scaled) if data.meta.scaler else scaled
    positions = data.extras["target_pos"][data.splits["test"]]
    if not positions.size:
        return None
    first_test = int(positions.min())  # any horizon
    start = max(0, first_test - ETS_FIT_POINTS)
    train = values[start:first_test]
    if len(train) < 10:
        return None
    seasonal = 1 < period <= MAX_ETS_PERIOD and len(train) >= 2 * period + 2
    best, best_aic = None, np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' convergence notes: AIC decides
        for model in _ets_models(bool(np.all(train > 0)), seasonal):
            spec = {**model, "seasonal_periods": period if model["seasonal"] else None}
            try:
                fit = ETSModel(train, initialization_method="heuristic", **spec).fit(
                    disp=False)
            except (ValueError, np.linalg.LinAlgError):
                continue
            if np.isfinite(fit.aic) and fit.aic < best_aic:
                phi = float(fit.damping_trend) if model["damped_trend"] else 1.0
                best, best_aic = (model, spec, fit.params, phi), fit.aic
        if best is None:
            return None
        model, spec, params, phi = best
        try:
            run = ETSModel(values[start:], initialization_method="heuristic",
                           **spec).smooth(params)
        except (ValueError, np.linalg.LinAlgError):
            return None
    # The state after each value (index t - start): the forecast of p from origin o is
    # (level + damped trend sum) combined with the season's last value before o.
    origins = positions[:, :1] if positions.ndim == 2 else positions
    steps = positions - origins + 1  # h: 1 for each row's first target
    ahead = np.array([np.sum(phi ** np.arange(1, h + 1)) for h in range(int(steps.max()) + 1)])
    before = origins - 1 - start
    level = np.asarray(run.level)[before]
    forecast = level + ahead[steps] * np.asarray(run.slope)[before] if model["trend"] \
        else level + 0 * steps
    if model["seasonal"]:
        season = np.asarray(run.season)[positions - period * ((steps - 1) // period + 1)
                                         - start]
        forecast = forecast * season if model["seasonal"] == "mul" else forecast + season
    if data.meta.scaler:
        low, high = data.meta.scaler["min"], data.meta.scaler["max"]
        forecast = (forecast - low) / (high - low)
    return Fitted(forecast.reshape(positions.shape).astype(np.float32),
                  f"{_ets_name(model)} (statsmodels), chosen by AIC on the values before "
                  "the test period")
