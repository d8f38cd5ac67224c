"""Test metrics for classification and regression, from predictions."""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm


def classification_metrics(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    return {
        "acc": float(skm.accuracy_score(truth, predicted)),
        "f1_macro": float(skm.f1_score(truth, predicted, average="macro", zero_division=0)),
    }


def regression_metrics(
    truth: np.ndarray, predicted: np.ndarray, scale: tuple[float, float] | None = None
) -> dict[str, float]:
    """MSE, MAE and R² in scaled units, and MSE, RMSE and MAE in original units.

    `scale` is (min, max) of the MinMax scaler fitted on the training period.
    """
    truth, predicted = np.ravel(truth), np.ravel(predicted)
    result = {
        "mse": float(skm.mean_squared_error(truth, predicted)),
        "mae": float(skm.mean_absolute_error(truth, predicted)),
        "r2": float(skm.r2_score(truth, predicted)),
    }
    if scale is not None:
        low, high = scale
        original_truth = truth * (high - low) + low
        original_predicted = predicted * (high - low) + low
        mse = float(skm.mean_squared_error(original_truth, original_predicted))
        result |= {
            "mse_original": mse,
            "rmse_original": float(np.sqrt(mse)),
            "mae_original": float(skm.mean_absolute_error(original_truth, original_predicted)),
        }
    return result


def headline(test: dict[str, float], baselines: dict[str, dict[str, float]], metric: str,
             baseline_name: str, higher_is_better: bool) -> dict[str, object]:
    """The metrics file's summary: one test metric beside the same metric of a baseline."""
    return {"metric": f"test/{metric}", "value": test[metric],
            "higher_is_better": higher_is_better,
            "baseline": baselines[baseline_name][metric], "baseline_name": baseline_name}
