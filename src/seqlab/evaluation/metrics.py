"""Test metrics from answers and truth, and the headline a run is judged by.

Plain numpy, with scikit-learn's definitions: scikit-learn would cost the evaluate stage
a second of imports (scipy.stats) for a few sums.
"""

from __future__ import annotations

import numpy as np

from seqlab.data.meta import Meta


def f1_macro(truth: np.ndarray, answers: np.ndarray) -> float:
    """The mean F1 over the classes found in either array; a class never right nor
    predicted scores 0 (sklearn's f1_score, average="macro", zero_division=0)."""
    scores = []
    for label in np.union1d(truth, answers):
        hit = np.sum((truth == label) & (answers == label))
        wrong = np.sum((truth == label) != (answers == label))  # false positives and negatives
        scores.append(2 * hit / (2 * hit + wrong) if hit else 0.0)
    return float(np.mean(scores)) if scores else 0.0


def classification(truth: np.ndarray, answers: np.ndarray, meta: Meta) -> dict[str, float]:
    """Accuracy and macro F1."""
    truth, answers = np.ravel(truth), np.ravel(answers)
    return {"acc": float(np.mean(truth == answers)), "f1_macro": f1_macro(truth, answers)}


def r2(truth: np.ndarray, answers: np.ndarray) -> float:
    """The coefficient of determination; for a constant truth 1 if matched exactly, else 0
    (sklearn's r2_score)."""
    residual = np.sum((truth - answers) ** 2, dtype=np.float64)
    total = np.sum((truth - np.mean(truth)) ** 2, dtype=np.float64)
    if total == 0:
        return 1.0 if residual == 0 else 0.0
    return float(1 - residual / total)


def regression(truth: np.ndarray, answers: np.ndarray, meta: Meta) -> dict[str, float]:
    """MSE, MAE and R² in scaled units; MSE, RMSE, MAE and sMAPE (%) in the series'
    original units, and MASE (MAE over the training period's seasonal naive MAE) for a
    series. Forecasts of several steps ahead (N x H) are scored overall and at each step
    ahead (`mse_h1`, `mase_h1`, ...)."""
    truth, answers = np.asarray(truth), np.asarray(answers)
    ahead = {}
    if truth.ndim == 2 and truth.shape[1] > 1:
        answers = answers.reshape(truth.shape)
        for k in range(truth.shape[1]):
            step = regression(truth[:, k], answers[:, k], meta)
            ahead |= {f"{name}_h{k + 1}": step[name] for name in ("mse", "mase") if name in step}
    truth, answers = np.ravel(truth), np.ravel(answers)
    result = {
        "mse": float(np.mean((truth - answers) ** 2)),
        "mae": float(np.mean(np.abs(truth - answers))),
        "r2": r2(truth, answers),
    }
    if meta.scaler is not None:
        original_truth, original_answers = meta.unscale(truth), meta.unscale(answers)
        mse = float(np.mean((original_truth - original_answers) ** 2))
        errors = np.abs(original_truth - original_answers)
        sizes = np.abs(original_truth) + np.abs(original_answers)
        result |= {
            "mse_original": mse,
            "rmse_original": float(np.sqrt(mse)),
            "mae_original": float(np.mean(errors)),
            # 0/0 (both zero) counts as no error, as in the M4 competition's definition.
            "smape": float(100 * np.mean(np.divide(2 * errors, sizes, out=np.zeros_like(errors),
                                                   where=sizes > 0))),
        }
        if meta.naive_mae is not None:
            result["mase"] = float(np.mean(errors) / meta.naive_mae)
    return result | ahead


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
