"""Test metrics from answers and truth, and the headline a run is judged by."""

from __future__ import annotations

import numpy as np

from seqlab.data.meta import Meta


def classification(truth: np.ndarray, answers: np.ndarray, meta: Meta) -> dict[str, float]:
    """Accuracy and macro F1."""
    from sklearn import metrics as skm

    return {
        "acc": float(skm.accuracy_score(truth, answers)),
        "f1_macro": float(skm.f1_score(truth, answers, average="macro", zero_division=0)),
    }


def regression(truth: np.ndarray, answers: np.ndarray, meta: Meta) -> dict[str, float]:
    """MSE, MAE and R² in scaled units; MSE, RMSE and MAE in the series' original units."""
    from sklearn import metrics as skm

    truth, answers = np.ravel(truth), np.ravel(answers)
    result = {
        "mse": float(skm.mean_squared_error(truth, answers)),
        "mae": float(skm.mean_absolute_error(truth, answers)),
        "r2": float(skm.r2_score(truth, answers)),
    }
    if meta.scaler is not None:
        original_truth, original_answers = meta.unscale(truth), meta.unscale(answers)
        mse = float(skm.mean_squared_error(original_truth, original_answers))
        result |= {
            "mse_original": mse,
            "rmse_original": float(np.sqrt(mse)),
            "mae_original": float(skm.mean_absolute_error(original_truth, original_answers)),
        }
    return result


def headline(test: dict[str, float], baselines: dict[str, dict[str, float]], metric: str,
             higher_is_better: bool) -> dict[str, object]:
    """One test metric beside the strongest trivial baseline on that metric.

    "Beats the baseline" then means it beats every trivial baseline reported.
    """
    pick = max if higher_is_better else min
    strongest = pick(baselines, key=lambda name: baselines[name][metric])
    return {"metric": f"test/{metric}", "value": test[metric],
            "higher_is_better": higher_is_better,
            "baseline": baselines[strongest][metric], "baseline_name": strongest}
